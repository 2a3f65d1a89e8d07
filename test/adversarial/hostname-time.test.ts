// Attack: changing the host's hostname or clock. The job has its own UTS namespace, so even a
// hostname it could set would be its own; but it must not set one at all (CAP_SYS_ADMIN), and the
// clock is not namespaced: clock_settime would move the host's time for everyone (CAP_SYS_TIME,
// dropped; /proc/sys is read-only and /dev holds no rtc). Checked as host root and with --userns.
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL } from './helpers.js';

describeSandbox('adversarial: changing hostname or time', () => {
  for (const userns of [false, true]) {
    it(`hostname and clock stay as they are, inside and on the host${userns ? ' (--userns)' : ''}`, async () => {
      const hostname = os.hostname();
      const wall0 = Date.now();
      const mono0 = performance.now();
      const result = await runJob({
        command: ['sh', path.join(ADVERSARIAL, 'hostname-time.sh')],
        userns,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(result.stdout).toMatch(/^sethostname failed: .*(not permitted|must be root)/im);
      expect(result.stdout).toMatch(/^proc-hostname failed: .*Read-only file system/m);
      expect(result.stdout).toMatch(/^set-date failed: .*not permitted/m);
      expect(result.stdout).toMatch(/^rtc-device failed: .*No such file/m);
      expect(result.stdout).toContain('hostname: ringfence\n');
      expect(os.hostname()).toBe(hostname);
      // the host clock moved with the monotonic clock (a set to 2001 would be off by decades)
      const drift = Date.now() - wall0 - (performance.now() - mono0);
      expect(Math.abs(drift)).toBeLessThan(1000);
      expect(new Date().getFullYear()).toBeGreaterThan(2001);
      attack(`hostname and clock${userns ? ' (--userns)' : ''}`, 'contained');
      await expectNoLeftovers();
    });
  }
});
