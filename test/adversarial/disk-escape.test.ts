// Attack: leaving more on storage than --disk allows, or more files than --files, by ways round a
// plain write — hard links, a sparse file, fallocate, writes through /proc/self/fd, a FIFO — and a
// writable volume, which is the host's own directory and outside the cap by design (docs/limits.md).
// The cap is the job's own loop-mounted ext4: nothing it held may stay on the host's disk, and no
// loop device may stay attached once the job is gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, fixtureVolumes, outcomes, removeDir, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const CAP = 32 * MiB;
const FILES = 200;

function hostTmpFree(): number {
  const stat = fs.statfsSync(os.tmpdir());
  return stat.bavail * stat.bsize;
}

/** Loop devices whose backing file is one of this process's scratch images. */
function ownLoops(): string[] {
  const mine = `ringfence-${process.pid}-`;
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/block').filter((n) => n.startsWith('loop'));
  } catch {
    return [];
  }
  return names.filter((n) => {
    try {
      return fs.readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').includes(mine);
    } catch {
      return false; // not attached
    }
  });
}

describeSandbox('adversarial: escaping the disk cap', () => {
  it('hard links, sparse files, fallocate, /proc/self/fd and FIFOs stay within --disk and --files', async () => {
    const vol = tempDir('disk-vol');
    try {
      const freeBefore = hostTmpFree();
      const result = await runJob({
        command: ['sh', path.join(ADVERSARIAL, 'disk-escape.sh')],
        disk: '32m',
        files: FILES,
        memory: '256m',
        workdir: '/',
        volumes: [...fixtureVolumes(), `${vol}:/tmp/vol`],
        timeout: '60s',
      });
      const o = outcomes(result.stdout);
      // hard links: no data of their own, and none out of the capped filesystem
      expect(Number(o.links)).toBe(50);
      expect(o['link-out']).toBe('refused');
      // a 4 GiB sparse file is allowed; filling it in stops at the cap
      expect(Number(o['sparse-size'])).toBe(4 * 1024 * MiB);
      expect(Number(o['sparse-filled'])).toBeGreaterThan(CAP / 2);
      expect(Number(o['sparse-filled'])).toBeLessThanOrEqual(CAP);
      // fallocate past the cap: refused; what ext4 had allocated stays within the cap
      expect(o.fallocate).toBe('refused');
      expect(Number(o['fallocate-left'])).toBeLessThanOrEqual(CAP);
      // /proc/self/fd of a file in /tmp is that file: capped
      expect(Number(o.procfd)).toBeLessThanOrEqual(CAP);
      expect(o['stderr-fd']).toBe('0');
      // stderr through /proc/<pid>/fd/2: the harness kept its 1 MiB output limit of the 96 MiB
      expect(result.stderrTruncated).toBe(true);
      expect(result.stderr.length).toBeLessThan(2 * MiB);
      // a FIFO keeps no data; FIFOs are files, and the file cap stops them
      expect(Number(o['fifo-kept'])).toBe(0);
      expect(Number(o.fifos)).toBeGreaterThan(FILES / 2);
      expect(Number(o.fifos)).toBeLessThanOrEqual(FILES + 16);
      // the volume is the host's directory: outside the cap, as docs/limits.md says
      expect(Number(o.volume)).toBe(48 * MiB);
      expect(fs.statSync(path.join(vol, 'big')).size).toBe(48 * MiB);
      expect(result.disk?.limitBytes).toBe(CAP);
      expect(result.disk?.limitFiles).toBe(FILES);
      expect(result.disk?.bytes).toBeLessThanOrEqual(CAP);
      fs.rmSync(path.join(vol, 'big'));
      await expectNoLeftovers();
      // the job's filesystem is gone with its scratch: no loop device holds its image, and none of
      // the ~300 MiB the job wrote through /tmp stayed on the host's disk (others write there too)
      expect(ownLoops()).toEqual([]);
      expect(freeBefore - hostTmpFree()).toBeLessThan(16 * MiB);
      attack('disk cap: hard links, sparse file, fallocate, /proc/self/fd, FIFO', 'contained');
    } finally {
      removeDir(vol);
    }
  });
});
