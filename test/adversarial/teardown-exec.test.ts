// Attack: a job replaces a host program the harness runs after it — here rm(1), which the teardown of
// a scratch dir nested past PATH_MAX used to fall back to — so that the harness, as root, runs the
// job's code on the host. The harness runs in a mount namespace of its own in which the host's rm is
// a bind of a copy (the real /usr/bin/rm is never touched); the job, in the mode where the host's
// filesystem is writable, writes its script over that rm and leaves a tree too deep for fs.rm. The
// teardown must remove the tree with ringfence's own code: the script never runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { CLI, ROOT, describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, fixtureVolumes, removeDir, tempDir } from './helpers.js';

function onPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = path.join(dir, name);
    if (dir && fs.existsSync(file)) return fs.realpathSync(file);
  }
  throw new Error(`${name} is not on PATH`);
}

describeSandbox('adversarial: a host program replaced for the teardown', () => {
  it('rm(1) overwritten by the job is never run: the deep scratch tree goes with our own code', async () => {
    const dir = tempDir('rm');
    try {
      const rm = onPath('rm');
      const copy = path.join(dir, 'rm');
      fs.copyFileSync(rm, copy);
      fs.chmodSync(copy, 0o755);
      const marker = path.join(dir, 'pwned');
      const script = `#!/bin/sh\necho "ran as $(id -u)" > ${marker}\n`;
      const job = `printf '${script.replace(/\n/g, '\\n')}' > ${rm} && node ${path.join(ADVERSARIAL, 'deep-tree.js')} 2200`;
      const volumes = fixtureVolumes().flatMap((v) => ['--volume', v]);
      // the harness in a private mount namespace where `rm` is the copy: what the job writes there is
      // what a harness falling back to rm(1) would execute
      const out = spawnSync(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount --bind "$1" "$2" && shift 2 && exec "$@"`,
          'harness-in-its-own-mount-namespace',
          copy,
          rm,
          process.execPath,
          CLI,
          'run',
          // the mode where the host's filesystem is writable (an overlay would discard the write)
          '--fs',
          'host',
          '--workdir',
          '/',
          '--timeout',
          '30s',
          ...volumes,
          '--',
          'sh',
          '-c',
          job,
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      );
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/depth 2200 path-length \d+/);
      expect(fs.readFileSync(copy, 'utf8')).toBe(script); // the job did replace "rm"
      expect(fs.existsSync(marker)).toBe(false); // … and the harness never ran it
      await expectNoLeftovers(); // the scratch tree is gone all the same
      attack('replace rm(1) before a deep-scratch teardown', 'contained');
    } finally {
      removeDir(dir);
    }
  });
});
