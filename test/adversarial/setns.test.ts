// Attack: setns() into the host's namespaces. The PID namespace hides every host process, so
// /proc/PID/ns of one is out of reach; the test goes further and hands the job open fds on the
// harness's own namespaces (keepFds: a leaked handle, the worst case), which it tries to join along
// with the namespaces of its own init. Joining needs CAP_SYS_ADMIN, which the job does not have.
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, outcomes, removeDir, tempDir } from './helpers.js';

const KINDS = ['mnt', 'net', 'uts', 'ipc', 'pid', 'cgroup', 'user'];
/** The launcher gives keep-fds to the job in order, after its gate (3) and status (4) fds. */
const FIRST_KEPT_FD = 5;

describeSandbox('adversarial: setns into the host namespaces', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('setns');
    compile(dir, 'setns');
  });
  afterAll(() => removeDir(dir));

  it('joining a host namespace through a leaked fd, or init’s through /proc/1/ns, is refused', async () => {
    const hostFds = KINDS.map((kind) => fs.openSync(`/proc/self/ns/${kind}`, 'r'));
    const hostNet = fs.statSync('/proc/self/ns/net').ino;
    try {
      const args = [
        ...KINDS.map((kind, i) => `host-${kind}=${FIRST_KEPT_FD + i}`),
        ...KINDS.map((kind) => `init-${kind}=/proc/1/ns/${kind}`),
      ];
      const result = await runJob({
        command: ['./setns', ...args],
        workdir: dir,
        keepFds: hostFds,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      const seen = outcomes(result.stdout);
      for (const kind of KINDS.filter((k) => k !== 'user')) {
        expect(seen[`host-${kind}`], `host ${kind}`).toBe('EPERM');
        // init keeps capabilities the job lacks: its /proc/1/ns files are ptrace-guarded (EACCES at
        // open), and joining would need CAP_SYS_ADMIN anyway (EPERM)
        expect(['EACCES', 'EPERM'], `init ${kind}`).toContain(seen[`init-${kind}`]);
      }
      // the job shares the host's user namespace: "joining" it again is EINVAL, no privilege gained
      expect(['EPERM', 'EINVAL']).toContain(seen['host-user']);
      expect(['EACCES', 'EPERM', 'EINVAL']).toContain(seen['init-user']);
      // afterwards the job is still in its own network namespace, not the host's
      const netNs = /^net-ns (\d+)$/m.exec(result.stdout)?.[1];
      expect(netNs).toBeDefined();
      expect(Number(netNs)).not.toBe(hostNet);
      attack('setns into host namespaces', 'contained');
    } finally {
      for (const fd of hostFds) fs.closeSync(fd);
    }
    await expectNoLeftovers();
  });
});
