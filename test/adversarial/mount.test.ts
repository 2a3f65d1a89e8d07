// Attack: `mount` and `umount` from inside the job. Mount propagation is private, so a mount made
// inside should never reach the host — but the job must not mount at all: unmounting the sandbox's
// /proc, /sys or /tmp would uncover the host's (every host process; the cgroup hierarchies; the
// host's /tmp), and `--make-rshared /` would reconnect the job's mounts to the host's. Checked as
// host root (the default) and as root of a user namespace (--userns).
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL } from './helpers.js';

const ATTEMPTS = [
  'mount-tmpfs',
  'bind-root',
  'mount-proc',
  'remount-root-ro',
  'remount-proc-sys-rw',
  'make-root-shared',
  'umount-proc',
  'umount-lazy-proc',
  'umount-sys',
  'umount-tmp',
];

describeSandbox('adversarial: mount and umount inside the job', () => {
  for (const userns of [false, true]) {
    it(`every mount and umount is refused${userns ? ' (--userns)' : ''}; the host's mount table is unchanged`, async () => {
      const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      const result = await runJob({
        command: ['sh', path.join(ADVERSARIAL, 'mount.sh')],
        userns,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      for (const label of ATTEMPTS) {
        // mount(8) words EPERM as "permission denied"; util-linux's umount as "must be superuser"
        expect(result.stdout, label).toMatch(
          new RegExp(`^${label} failed: .*(permission denied|must be superuser|not permitted)`, 'im'),
        );
      }
      expect(result.stdout).toContain('visible: /proc/1 /proc/2\n'); // still its own /proc
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
      attack(`mount/umount${userns ? ' (--userns)' : ''}`, 'contained');
      await expectNoLeftovers();
    });
  }
});
