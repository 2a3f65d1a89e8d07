// Attack: ptrace — attach to a process and own it (registers, memory, syscalls). Aimed at a host
// process (a sleeper this test starts, and the harness itself), at ringfence's init, which runs with
// every capability the job was denied, and through the ptrace-guarded side doors process_vm_readv
// and /proc/PID/mem. Host processes are not in the job's PID namespace (ESRCH); init is guarded
// because its capabilities are not a subset of the job's (EPERM). Tracing its own child still works
// (strace in a test job), which the fixture checks first.
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, hostSleeper, outcomes, removeDir, tempDir } from './helpers.js';

function tracerOf(pid: number): string | undefined {
  return /^TracerPid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
}

describeSandbox('adversarial: ptrace of a host process', () => {
  let dir = '';
  const sleeper = hostSleeper();
  beforeAll(() => {
    dir = tempDir('ptrace');
    compile(dir, 'ptrace');
  });
  afterAll(() => {
    sleeper.stop();
    removeDir(dir);
  });

  it('host processes are out of reach, init is guarded, only its own child can be traced', async () => {
    const targets = [sleeper.pid, process.pid, 1];
    const result = await runJob({
      command: ['./ptrace', ...targets.map(String)],
      workdir: dir,
      timeout: '10s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const seen = outcomes(result.stdout);
    expect(seen['own-child']).toBe('ok');
    for (const pid of [sleeper.pid, process.pid]) {
      // a host pid means nothing in the job's PID namespace (or names one of the job's own, which
      // is no host process either: then the attach works on the job's own child, not the host's)
      for (const how of ['attach', 'seize', 'vm-read'])
        expect(seen[`${how}-${pid}`], `${how} ${pid}`).toBe('ESRCH');
      expect(seen[`mem-write-${pid}`]).toBe('ENOENT');
    }
    for (const how of ['attach', 'seize', 'vm-read']) expect(seen[`${how}-1`], `${how} init`).toBe('EPERM');
    expect(['EACCES', 'EPERM']).toContain(seen['mem-write-1']);
    // the host sleeper lives on, untraced, and so does the harness
    expect(sleeper.alive()).toBe(true);
    expect(tracerOf(sleeper.pid)).toBe('0');
    expect(tracerOf(process.pid)).toBe('0');
    attack('ptrace of host process and init', 'contained');
    await expectNoLeftovers();
  });
});
