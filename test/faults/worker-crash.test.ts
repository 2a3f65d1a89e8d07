// Fault: a piscina worker thread dies while it runs a job. The thread is ended from outside
// (Worker.terminate(), as a fatal error or an OOM of the thread would end it) rather than through a
// hook in the worker, so production code carries nothing test-only. The job must become an `error`
// result, the other jobs run on (piscina starts a new thread), the dead thread's job processes die
// with it (the launcher's PR_SET_PDEATHSIG follows the thread that spawned it), and what the thread
// left — its instance cgroups, the job's cgroup, scratch dirs — is removed while the harness lives.
import { expect, it } from 'vitest';
import type { Piscina } from 'piscina';
import { Harness } from '../../harness/parallel/harness.js';
import { Sandbox } from '../../harness/launch/spares.js';
import { describeSandbox, pidAlive } from '../support/sandbox.js';
import { expectNoLeftovers, fault } from '../support/tally.js';
import {
  instanceDirsOf,
  instanceOfPid,
  pidsByCmdline,
  pidsUnder,
  scratchDirsOf,
  waitFor,
} from './helpers.js';

describeSandbox('fault: a piscina worker thread dies mid-job', () => {
  it('the job becomes an error result, the rest run on, and the dead thread leaves nothing', async () => {
    const harness = new Harness({ concurrency: 2, inline: 0 }); // both lanes on worker threads
    try {
      // the pool is private on purpose; the test reaches in only to end one of its threads
      const pool: Piscina = harness['pool']!;
      const victim = harness.run({ name: 'victim', command: ['sleep', '29.25'] });
      const others = harness.runAll(
        [1, 2, 3, 4].map((i) => ({ name: `other-${i}`, command: ['sh', '-c', `sleep 0.2; echo ${i}`] })),
      );

      const [sleepPid] = await waitFor('the victim to run', 10_000, () => {
        const found = pidsByCmdline(['sleep', '29.25']);
        return found.length > 0 ? found : undefined;
      });
      const owner = instanceOfPid(sleepPid!);
      expect(owner?.pid).toBe(process.pid);
      const thread = pool.threads.find((t) => t.threadId === owner?.threadId);
      expect(thread, `no pool thread ${owner?.threadId}`).toBeDefined();
      const deadThread = owner!.threadId;
      const jobPids = pidsUnder(instanceDirsOf(process.pid, deadThread));
      expect(jobPids).toContain(sleepPid);

      await thread!.terminate();

      const result = await victim;
      expect(result.status).toBe('error');
      expect(result.error?.step).toBe('worker');
      expect(result.reason).toMatch(/worker exited/);

      // the jobs queued behind it and beside it all ran, on the surviving and the new thread
      const rest = await harness.runAll([{ name: 'after', command: ['echo', 'after'] }]);
      expect((await others).map((r) => `${r.status}:${r.stdout.trim()}`)).toEqual([
        'passed:1',
        'passed:2',
        'passed:3',
        'passed:4',
      ]);
      expect(rest[0]?.status).toBe('passed');
      expect(pool.threads.length).toBe(2);

      // the victim's processes (launcher, init, sleep) died with the thread
      await waitFor('the victim to die', 5000, () => jobPids.every((pid) => !pidAlive(pid)));
      // and the harness removed what the thread left, without waiting for close() or a restart
      await waitFor('the dead thread to be reaped', 5000, () => {
        return instanceDirsOf(process.pid, deadThread).length === 0 &&
          scratchDirsOf(process.pid, deadThread).length === 0
          ? true
          : undefined;
      });
      expect(instanceDirsOf(process.pid, deadThread)).toEqual([]);
      expect(scratchDirsOf(process.pid, deadThread)).toEqual([]);
    } finally {
      await harness.close();
    }
    fault('piscina worker thread dies mid-job', 'survived');
    Sandbox.disposeAll();
    await expectNoLeftovers({ strict: true });
  }, 40_000);
});
