// Attack: the job leaves symlinks in its scratch dir (its /tmp), which the harness removes after it —
// as root, on the host, where a link to "/" is the host's root. A cleanup that followed one would
// delete the host's files: it must unlink the links and never descend through them. Also a hard link
// to a host file, a link loop, a root-only directory, and an attempt to make a file in the scratch
// dir immutable (chattr +i needs CAP_LINUX_IMMUTABLE, which the job lacks) so cleanup fails.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, fixtureVolumes, removeDir, tempDir } from './helpers.js';

describeSandbox('adversarial: links in the scratch dir', () => {
  let hostDir = '';
  beforeAll(() => {
    hostDir = tempDir('links');
    fs.writeFileSync(path.join(hostDir, 'keep.txt'), 'host data\n');
    fs.mkdirSync(path.join(hostDir, 'sub'));
    fs.writeFileSync(path.join(hostDir, 'sub', 'also.txt'), 'more host data\n');
  });
  afterAll(() => removeDir(hostDir));

  for (const user of [undefined, '65534']) {
    it(`the scratch dir goes, everything its links point to stays${user ? ` (--user ${user})` : ''}`, async () => {
      const rootEntries = fs.readdirSync('/').sort();
      const result = await runJob({
        command: ['sh', path.join(ADVERSARIAL, 'scratch-links.sh'), hostDir],
        workdir: hostDir, // bound in at its own path, so the job can reach the file it links to
        volumes: fixtureVolumes(),
        user,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      for (const made of ['link-root', 'link-host-dir', 'link-host-file', 'link-loop'])
        expect(result.stdout, made).toContain(`${made} ok`);
      expect(result.stdout).toMatch(/^immutable failed: .*(not permitted|Inappropriate ioctl)/m);
      if (!user) expect(result.stdout).toContain('locked-dir ok');
      // the scratch dir is gone (checked by expectNoLeftovers) and nothing behind a link went with it
      await expectNoLeftovers();
      expect(fs.readFileSync(path.join(hostDir, 'keep.txt'), 'utf8')).toBe('host data\n');
      expect(fs.readFileSync(path.join(hostDir, 'sub', 'also.txt'), 'utf8')).toBe('more host data\n');
      expect(fs.statSync(path.join(hostDir, 'keep.txt')).nlink).toBe(1); // a hard link, if made, is gone
      expect(fs.readdirSync('/').sort()).toEqual(rootEntries);
      expect(fs.existsSync('/etc/passwd')).toBe(true);
      attack(`links in the scratch dir${user ? ' (--user)' : ''}`, 'contained');
    });
  }
});
