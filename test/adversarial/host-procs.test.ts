// Attack: reading the host's processes and their secrets — a host process's environment (where CI
// keeps its tokens), the harness's own, and /proc/1/root, /proc/1/cwd, /proc/1/environ, which in a
// careless sandbox lead to the host init's view. Here pid 1 is ringfence's init, which runs with
// capabilities the job lacks, so its /proc entries are ptrace-guarded; host pids do not exist in
// the job's PID namespace. The test plants a secret in the harness's environment and in a host
// process's, starts the job with a clean environment, and searches everything the job could read.
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox, pidAlive } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL } from './helpers.js';

describeSandbox('adversarial: reading host processes, environment and /proc/1/root', () => {
  const secret = `rf-secret-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const holder = spawn('sleep', ['60'], { stdio: 'ignore', env: { ...process.env, RF_ADV_SECRET: secret } });
  afterAll(() => {
    holder.kill('SIGKILL');
    delete process.env.RF_ADV_SECRET;
  });

  it("no host process, no host secret, no way through ringfence's init", async () => {
    const hostPid = holder.pid!;
    process.env.RF_ADV_SECRET = secret; // the harness holds it too
    const result = await runJob({
      command: ['sh', path.join(ADVERSARIAL, 'host-procs.sh'), String(hostPid), String(process.pid)],
      env: { PATH: process.env.PATH }, // the job is given no secret; it must not find one either
      timeout: '10s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toContain('visible: /proc/1 /proc/2\n');
    for (const pid of [hostPid, process.pid]) {
      expect(result.stdout).toMatch(new RegExp(`^environ-${pid} failed: .*No such file`, 'm'));
      expect(result.stdout).toMatch(new RegExp(`^status-${pid} failed: .*No such file`, 'm'));
    }
    for (const what of ['init-root', 'init-cwd', 'init-environ'])
      expect(result.stdout, what).toMatch(new RegExp(`^${what} failed: .*Permission denied`, 'm'));
    // the dump did run (the job's own command line is in it) and holds no secret
    expect(result.stdout).toContain('host-procs.sh');
    expect(result.stdout + result.stderr).not.toContain(secret);
    expect(pidAlive(hostPid)).toBe(true);
    attack('read host processes, environment, /proc/1/root', 'contained');
    await expectNoLeftovers();
  });
});
