// Attack: pivot_root, the call that swaps a mount namespace's root (runc's pivot_root(".", ".")
// idiom). The job shares the host's root filesystem by design, so swapping it would not free the
// job, but a job that can pivot_root (or mount a new root to pivot to) can also rearrange what the
// sandbox mounted over /proc, /sys and /tmp. It needs CAP_SYS_ADMIN: refused, and "/" stays what the
// sandbox made it — the host's "/" (--fs host), the job's overlay of it (--fs overlay).
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, outcomes, removeDir, tempDir } from './helpers.js';

describeSandbox('adversarial: pivot_root', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('pivot');
    compile(dir, 'pivot-root');
  });
  afterAll(() => removeDir(dir));

  for (const [userns, mode] of [
    [false, 'host'],
    [true, 'host'],
    [false, 'overlay'],
    [true, 'overlay'],
  ] as const) {
    it(`pivot_root and the bind mount it needs are refused${userns ? ' (--userns)' : ''} (--fs ${mode})`, async () => {
      const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      const result = await runJob({
        command: ['sh', '-c', 'stat -c "before %d:%i" / && exec ./pivot-root /tmp/newroot'],
        workdir: dir,
        userns,
        fs: mode,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      const seen = outcomes(result.stdout);
      expect(seen['pivot-root-dot']).toBe('EPERM');
      expect(seen['bind-new-root']).toBe('EPERM');
      // not a mount point (EINVAL) or not permitted (EPERM): either way it did not happen
      expect(['EPERM', 'EINVAL']).toContain(seen['pivot-root-dir']);
      // "/" inside is still what the sandbox made it (same device and inode as before the attack):
      // the host's "/" (--fs host), the job's own overlay of it (--fs overlay)
      const before = /^before (\d+:\d+)$/m.exec(result.stdout)?.[1];
      expect(result.stdout).toContain(`root ${before}\n`);
      if (mode === 'host') {
        const root = fs.statSync('/');
        expect(before).toBe(`${root.dev}:${root.ino}`);
      }
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
      attack(`pivot_root${userns ? ' (--userns)' : ''} (--fs ${mode})`, 'contained');
      await expectNoLeftovers();
    });
  }
});
