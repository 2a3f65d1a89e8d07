// Attack: a setuid-root binary, run by a job that was started as an unprivileged user — the oldest
// way back to root. The launcher sets no_new_privs before the job's exec, so the kernel ignores the
// setuid bit. The binary sits where the bit does count (the host filesystem, bound in without
// nosuid): run as the same uid outside the sandbox it does get euid 0, which the test checks too.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, removeDir, tempDir } from './helpers.js';

const NOBODY = 65534;

describeSandbox('adversarial: a setuid-root binary', () => {
  let dir = '';
  let binary = '';
  beforeAll(() => {
    dir = tempDir('setuid');
    binary = compile(dir, 'euid');
    fs.chownSync(binary, 0, 0);
    fs.chmodSync(binary, 0o4755);
  });
  afterAll(() => removeDir(dir));

  it('does not raise the euid of a job run as 65534 (no_new_privs holds)', async () => {
    // outside the sandbox, as the same user, the setuid bit works: the attack is real here
    const outside = spawnSync(binary, [], { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
    expect(outside.stdout).toBe(`uid ${NOBODY} euid 0\n`);

    const result = await runJob({
      command: [
        'sh',
        '-c',
        `${binary}; grep NoNewPrivs /proc/self/status; grep " ${dir} " /proc/self/mountinfo`,
      ],
      workdir: dir,
      user: String(NOBODY),
      timeout: '10s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const [ids, noNewPrivs, mount] = result.stdout.trim().split('\n');
    expect(ids).toBe(`uid ${NOBODY} euid ${NOBODY}`);
    expect(noNewPrivs).toMatch(/^NoNewPrivs:\s+1$/);
    // it is no_new_privs that stopped it, not a nosuid mount
    expect(mount).toBeDefined();
    expect(mount).not.toMatch(/nosuid/);
    // and the binary on the host is as it was
    expect(fs.statSync(binary).mode & 0o7777).toBe(0o4755);
    attack('setuid-root binary', 'contained');
    await expectNoLeftovers();
  });
});
