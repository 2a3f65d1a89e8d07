// Attack: namespaces of the job's own making — unshare() of every type, clone(CLONE_NEWUSER),
// clone3(), and unshare() through the 32-bit syscall table (int 0x80), the classic way around a
// syscall filter that only knows the 64-bit numbers. A new user namespace gives its maker every
// capability in it, which as host root opens the cgroup-escape route (see cgroup-escape.test.ts):
// the launcher's seccomp filter refuses it (EPERM) and clone3, whose flags it cannot read (ENOSYS).
// The other types need CAP_SYS_ADMIN, which the job does not have (EPERM).
import fs from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import type { JobSpecInput } from '../../harness/job/spec.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, outcomes, removeDir, tempDir } from './helpers.js';

const NEEDS_SYS_ADMIN = ['mnt', 'net', 'uts', 'ipc', 'pid', 'cgroup', 'time'];

describeSandbox('adversarial: unshare, clone and clone3 into new namespaces', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('unshare');
    compile(dir, 'unshare');
  });
  afterAll(() => removeDir(dir));

  const variants: { name: string; spec: Partial<JobSpecInput> }[] = [
    { name: 'as host root', spec: {} },
    { name: 'as root of a user namespace (--userns)', spec: { userns: true } },
    { name: 'as uid 65534 (--user)', spec: { user: '65534' } },
  ];
  for (const { name, spec } of variants) {
    it(`every new namespace is refused ${name}; the host is unchanged`, async () => {
      const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      const hostname = os.hostname();
      const result = await runJob({ command: ['./unshare'], workdir: dir, timeout: '10s', ...spec });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      const seen = outcomes(result.stdout);
      expect(seen['unshare-user']).toBe('EPERM');
      expect(seen['clone-newuser']).toBe('EPERM');
      expect(seen.clone3).toBe('ENOSYS');
      for (const kind of NEEDS_SYS_ADMIN) expect(seen[`unshare-${kind}`], kind).toBe('EPERM');
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
      expect(os.hostname()).toBe(hostname);
      attack(`unshare/clone/clone3 ${name}`, 'contained');
      await expectNoLeftovers();
    });
  }

  it('unshare(CLONE_NEWUSER) through the 32-bit syscall table is refused too', async () => {
    const result = await runJob({ command: ['./unshare'], workdir: dir, timeout: '10s' });
    const outcome = outcomes(result.stdout)['unshare-user-i386'];
    if (process.arch !== 'x64') {
      // int 0x80 is x86's; an arm64 kernel's 32-bit table is not reachable from a 64-bit binary
      expect(outcome).toBe('not-x86-64');
      attack('unshare via the 32-bit syscall table', 'impossible', `no int 0x80 on ${process.arch}`);
    } else if (outcome?.startsWith('signal-')) {
      // a kernel without IA32 emulation (or booted with ia32_emulation=0) faults on int 0x80
      expect(outcome).toMatch(/^signal-(11|9)$/);
      attack('unshare via the 32-bit syscall table', 'impossible', 'this kernel has no IA32 emulation');
    } else {
      expect(outcome).toBe('EPERM');
      attack('unshare via the 32-bit syscall table', 'contained');
    }
    await expectNoLeftovers();
  });
});
