// Attack: filling /tmp — and the other writable tmpfs mounts a sandbox has, /dev and /dev/shm. A
// tmpfs lives in memory, so an unbounded one is a way around the memory cap and, if its pages
// outlived the job, a leak on the host. /tmp is capped by --tmp-size, /dev by its fixed 1 MiB, and
// /dev/shm (no size of its own) by the job's memory cap, since tmpfs pages are charged to the cgroup
// that writes them. All three go with the job's mount namespace: the host's shared memory must be
// back where it was, and the host disk under its /tmp untouched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, fixtureVolumes, outcomes } from './helpers.js';

const MiB = 1024 * 1024;

/** Shmem in /proc/meminfo: every tmpfs page on the host, in bytes. */
function hostShmem(): number {
  return Number(/^Shmem:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
}

function hostTmpFree(): number {
  const stat = fs.statfsSync(os.tmpdir());
  return stat.bavail * stat.bsize;
}

describeSandbox('adversarial: filling /tmp', () => {
  it('/tmp stops at --tmp-size, /dev at 1 MiB, /dev/shm at the memory cap; nothing stays behind', async () => {
    const shmemBefore = hostShmem();
    const freeBefore = hostTmpFree();
    const result = await runJob({
      command: ['sh', path.join(ADVERSARIAL, 'fill-tmp.sh')],
      tmpSize: '4m',
      memory: '64m',
      workdir: '/',
      volumes: fixtureVolumes(),
      timeout: '20s',
    });
    const filled = outcomes(result.stdout);
    expect(Number(filled.tmp)).toBe(4 * MiB);
    expect(Number(filled.dev)).toBeLessThanOrEqual(1 * MiB);
    // dd was OOM-killed part way: the shm pages counted against the job's 64 MiB
    expect(Number(filled.shm)).toBeLessThan(64 * MiB);
    expect(result.memory.oomKills).toBeGreaterThanOrEqual(1);
    expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * MiB);
    // the job's tmpfs pages went with its mount namespace (other processes move Shmem a little)
    expect(hostShmem() - shmemBefore).toBeLessThan(16 * MiB);
    // and none of the 270 MiB it wrote went to the disk under the host's /tmp
    expect(freeBefore - hostTmpFree()).toBeLessThan(32 * MiB);
    attack('fill /tmp, /dev, /dev/shm', 'contained');
    await expectNoLeftovers();
  });
});
