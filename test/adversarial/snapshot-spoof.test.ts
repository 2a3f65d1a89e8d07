// Attack: lying to the snapshot — after a timeout, what each process was is read from /proc and goes
// into the result (diagnostics.processTree), where a person or a tool trusts it. A process's comm is
// the job's to set (/proc/self/comm, prctl): a name holding a newline and a fake "PPid:" line must not
// become a field of /proc/PID/status as the harness parses it. The kernel escapes the newline and the
// tab; the parser finds each key only at the start of a real line.
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';

describeSandbox('adversarial: lying to the snapshot', () => {
  it('a job that renames itself to look like /proc fields does not change what the snapshot reports', async () => {
    const result = await runJob({
      command: [
        'sh',
        '-c',
        'printf "x\\nPPid:\\t999\\n" > /proc/self/comm; tr "\\n\\t" NT < /proc/$$/comm; sleep 30',
      ],
      timeout: '500ms',
    });
    expect(result.status).toBe('timeout');
    expect(result.stdout).toContain('xNPPid:T999'); // the rename took
    const tree = result.diagnostics.processTree ?? [];
    const init = tree.find((p) => p.nsPid === 1); // the launcher's init, the shell's parent
    const shell = tree.find((p) => p.cmdline.startsWith('sh -c'));
    const sleep = tree.find((p) => p.cmdline === 'sleep 30');
    expect(shell).toBeDefined();
    expect(shell?.ppid).toBe(init?.pid);
    expect(shell?.state).toMatch(/^[A-Z]$/);
    expect(sleep?.ppid).toBe(shell?.pid);
    expect(tree.map((p) => p.ppid)).not.toContain(999);
    attack('a comm posing as a /proc/PID/status field', 'contained');
    await expectNoLeftovers();
  });
});
