// I/O accounting on the real kernel: what a job wrote and read, from the task I/O counters of its
// whole tree (init's /proc/self/io once it has reaped the job). On this v1 machine the blkio counters
// read 0 for the same writes (they count only throttled or BFQ-scheduled I/O), which is why the task
// counters are the figure. The files live under /var/tmp (a disk filesystem: O_DIRECT, and a sync
// that writes back), in a directory each test removes again.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox, leftovers, NO_LEFTOVERS } from '../support/sandbox.js';

const MiB = 1024 * 1024;

function within(actual: number, expected: number, fraction: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected * (1 - fraction));
  expect(actual).toBeLessThanOrEqual(expected * (1 + fraction));
}

describeSandbox('I/O accounting from the task counters', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync('/var/tmp/rf-io-');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('50 MiB written with O_DIRECT by a child of the shell: writeBytes within 1 %', async () => {
    const file = path.join(dir, 'direct');
    const result = await runJob({
      command: ['sh', '-c', `dd if=/dev/zero of=${file} bs=1M count=50 oflag=direct 2>/dev/null; rm ${file}`],
      workdir: dir,
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.io?.source).toBe('task');
    within(result.io?.writeBytes ?? 0, 50 * MiB, 0.01);
    expect(result.io?.wchar).toBeGreaterThanOrEqual(50 * MiB);
  });

  it('50 MiB written through the page cache, then sync: writeBytes within 1 %', async () => {
    const file = path.join(dir, 'buffered');
    const result = await runJob({
      command: ['sh', '-c', `dd if=/dev/zero of=${file} bs=1M count=50 2>/dev/null && sync && rm ${file}`],
      workdir: dir,
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    within(result.io?.writeBytes ?? 0, 50 * MiB, 0.01);
  });

  it('a 20 MiB file read with O_DIRECT: readBytes within 1 %, rchar counts it too', async () => {
    const file = path.join(dir, 'input');
    fs.writeFileSync(file, Buffer.alloc(20 * MiB, 7));
    const result = await runJob({
      command: ['dd', `if=${file}`, 'of=/dev/null', 'bs=1M', 'iflag=direct'],
      workdir: dir,
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    within(result.io?.readBytes ?? 0, 20 * MiB, 0.01);
    expect(result.io?.writeBytes).toBeLessThan(MiB);
    expect(result.io?.rchar).toBeGreaterThanOrEqual(20 * MiB);
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });
});
