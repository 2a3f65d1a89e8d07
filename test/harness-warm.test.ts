// The Harness from its first job, its lanes on worker threads: each worker thread opens its Sandbox
// and starts its first spare launcher as it starts, once the main thread has placed the process, so
// that a worker's first job starts from a spare as the later ones do. And a Harness closed before any
// job leaves nothing. (Lanes on the calling thread start nothing ahead: the first job's runJob starts
// its launcher, as `ringfence run`'s does.)
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { Harness } from '../harness/parallel/harness.js';
import { isLauncherProcess } from '../harness/launch/binary.js';
import { describeSandbox } from './support/sandbox.js';
import { expectNoLeftovers } from './support/tally.js';
import { waitFor } from './faults/helpers.js';

/** Launcher processes whose parent is this process (a worker thread's spares are this process's children). */
function ownLaunchers(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && isLauncherProcess(pid);
      } catch {
        return false; // gone meanwhile
      }
    });
}

describeSandbox('the Harness from its first job', () => {
  it('each worker starts a spare before any job, and its first job takes it', async () => {
    const harness = new Harness({ concurrency: 2, inline: 0, defaults: { memory: '128m' } });
    try {
      // no job given yet: the two spares are the workers' own doing
      await waitFor('a spare launcher per worker', 20_000, () => ownLaunchers().length === 2);
      const results = await Promise.all(
        [1, 2].map((i) => harness.run({ command: ['sh', '-c', `echo ${i}`] }, { trace: true })),
      );
      expect(results.map((r) => r.stdout)).toEqual(['1\n', '2\n']);
      for (const result of results) {
        expect(result.memory.limitBytes).toBe(128 * 1024 * 1024);
        const phases = (result.trace ?? []).map((t) => t.phase);
        expect(phases).toContain('launcher (spare)');
        expect(phases).not.toContain('spawn');
      }
    } finally {
      await harness.close();
    }
    await expectNoLeftovers();
  });

  it('a Harness closed before its first job leaves no spare, cgroup or scratch behind', async () => {
    // at once, while the workers load and the process is being placed
    const early = new Harness({ concurrency: 2, inline: 0 });
    await early.close();
    await expectNoLeftovers();
    expect(ownLaunchers()).toEqual([]);
    // once the workers' spares wait at their gates
    const later = new Harness({ concurrency: 2, inline: 0 });
    await waitFor('a spare launcher per worker', 20_000, () => ownLaunchers().length === 2);
    await later.close();
    await expectNoLeftovers();
    expect(ownLaunchers()).toEqual([]);
  });
});
