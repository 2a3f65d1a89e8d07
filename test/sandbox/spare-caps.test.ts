// A spare made with the caps of the jobs before it (Sandbox.prepareSpare): a job alike takes it
// without a write, and still gets exactly its caps — the kernel's counters say so; a job with other
// caps, or none, never runs under the spare's.
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import type { JobResult } from '../../harness/job/result.js';
import { FIXTURES, NO_LEFTOVERS, describeSandbox, leftovers } from '../support/sandbox.js';

const MiB = 1024 * 1024;
const hog = (mib: number): string[] => ['node', path.join(FIXTURES, 'memory-hog.js'), String(mib)];
const tookSpare = (result: JobResult): boolean =>
  (result.trace ?? []).some((t) => t.phase === 'cgroup (spare)');

describeSandbox('a spare made with the last jobs’ caps', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('serves the next job alike with its caps in force, and no other job', async () => {
    const capped = { memory: '64m', pidsLimit: 32 } as const;
    // two alike: the spare left by the second is made with their caps
    for (let i = 0; i < 2; i++) {
      const warm = await runJob({ command: ['true'], ...capped }, { trace: true });
      expect(warm.status, warm.reason).toBe('passed');
    }
    // a third alike takes it: the caps hold (a hog past 64 MiB is OOM-killed), and are reported
    const alike = await runJob({ command: hog(200), ...capped }, { trace: true });
    expect(tookSpare(alike)).toBe(true);
    expect(alike.status).toBe('oom');
    expect(alike.memory.oomKills).toBeGreaterThanOrEqual(1);
    expect(alike.memory.limitBytes).toBe(64 * MiB);
    expect(alike.memory.peakBytes).toBeLessThanOrEqual(64 * MiB);
    expect(alike.pids.limit).toBe(32);

    // other caps: the capped spare is not used, and the job has its own cap, not the spare's
    const larger = await runJob({ command: hog(100), memory: '256m', pidsLimit: 32 }, { trace: true });
    expect(tookSpare(larger)).toBe(false);
    expect(larger.status, larger.reason).toBe('passed');
    expect(larger.memory.limitBytes).toBe(256 * MiB);
    expect(larger.memory.peakBytes! / MiB).toBeGreaterThanOrEqual(100);

    // after a change of caps the spare is blank: the next job takes it and gets its own caps written,
    // and a job with none gets none (no cap of an earlier job is left on its cgroup)
    const other = await runJob({ command: ['true'], memory: '32m' }, { trace: true });
    expect(tookSpare(other)).toBe(true);
    expect(other.memory.limitBytes).toBe(32 * MiB);
    expect(other.pids.limit).toBeNull();
    const none = await runJob({ command: hog(100) }, { trace: true });
    expect(none.status, none.reason).toBe('passed');
    expect(none.memory.limitBytes).toBeNull();
    expect(none.pids.limit).toBeNull();
  });
});
