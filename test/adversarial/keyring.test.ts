// Attack: the kernel keyrings. They are not namespaced, so a job running as host root (the default:
// no --user, no --userns) would add keys to the host root's user keyring — which outlives the job —
// and read the keys kept there. The launcher's seccomp filter refuses add_key, request_key and keyctl
// (as Docker's default profile does); the host's keyring must be unchanged afterwards.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, outcomes, removeDir, tempDir } from './helpers.js';

/** The host root's user keyring, as /proc/keys lists the keys this process can see. */
function hostKeys(): string {
  return spawnSync('cat', ['/proc/keys'], { encoding: 'utf8' }).stdout;
}

describeSandbox('adversarial: kernel keyrings', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('keyring');
    compile(dir, 'keyring');
  });
  afterAll(() => removeDir(dir));

  for (const user of [null, '65534'] as const) {
    it(`add_key, keyctl and request_key are refused (${user ? `--user ${user}` : 'host root'})`, async () => {
      const before = hostKeys();
      const result = await runJob({
        command: ['./keyring'],
        workdir: dir,
        timeout: '10s',
        ...(user ? { user } : {}),
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(outcomes(result.stdout)).toEqual({
        add_key: 'EPERM',
        'keyctl-read': 'EPERM',
        request_key: 'EPERM',
      });
      expect(hostKeys()).toBe(before);
      expect(hostKeys()).not.toContain('ringfence-adversarial');
      attack(`kernel keyrings (${user ? `--user ${user}` : 'host root'})`, 'contained');
      await expectNoLeftovers();
    });
  }
});
