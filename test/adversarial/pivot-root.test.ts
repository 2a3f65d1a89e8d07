// Attack: pivot_root, the call that swaps a mount namespace's root (runc's pivot_root(".", ".")
// idiom). The job shares the host's root filesystem by design, so swapping it would not free the
// job, but a job that can pivot_root (or mount a new root to pivot to) can also rearrange what the
// sandbox mounted over /proc, /sys and /tmp. It needs CAP_SYS_ADMIN: refused, and "/" stays the
// host's "/" inside and out.
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/sandbox.js';
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

  for (const userns of [false, true]) {
    it(`pivot_root and the bind mount it needs are refused${userns ? ' (--userns)' : ''}`, async () => {
      const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      const root = fs.statSync('/');
      const result = await runJob({
        command: ['./pivot-root', '/tmp/newroot'],
        workdir: dir,
        userns,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      const seen = outcomes(result.stdout);
      expect(seen['pivot-root-dot']).toBe('EPERM');
      expect(seen['bind-new-root']).toBe('EPERM');
      // not a mount point (EINVAL) or not permitted (EPERM): either way it did not happen
      expect(['EPERM', 'EINVAL']).toContain(seen['pivot-root-dir']);
      // "/" inside is still the host's root directory (same device and inode)
      expect(result.stdout).toContain(`root ${root.dev}:${root.ino}\n`);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
      attack(`pivot_root${userns ? ' (--userns)' : ''}`, 'contained');
      await expectNoLeftovers();
    });
  }
});
