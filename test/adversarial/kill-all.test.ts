// Attack: `kill -9 -1` inside the job — SIGKILL to every process the caller may signal. The job runs
// as root with CAP_KILL, so on the host this would end every process on the machine, the harness
// and the test runner included. The PID namespace must narrow "every process" to the job's own:
// its sibling dies, ringfence's init (pid 1) and everything outside the sandbox live on.
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, hostSleeper } from './helpers.js';

describeSandbox('adversarial: kill -9 -1 inside the job', () => {
  const sleeper = hostSleeper();
  afterAll(() => sleeper.stop());

  it('kills only processes in the sandbox; a host process and the harness survive', async () => {
    expect(sleeper.alive()).toBe(true);
    const result = await runJob({ command: ['sh', path.join(ADVERSARIAL, 'kill-all.sh')], timeout: '10s' });
    // the job went on after its kill -1 and ended by itself: init, which reports its end, survived
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toContain('kill -1: 0');
    expect(result.stdout).toContain('sibling: 137'); // the sandbox's own sleep was killed
    expect(result.stdout).toContain('visible: /proc/1 /proc/2\n'); // init and the shell: nothing else
    await new Promise((resolve) => setTimeout(resolve, 100)); // a SIGKILL needs no longer to land
    expect(sleeper.alive()).toBe(true);
    // the harness is alive and still runs jobs
    expect((await runJob({ command: ['true'] })).status).toBe('passed');
    attack('kill -9 -1', 'contained');
    await expectNoLeftovers();
  });
});
