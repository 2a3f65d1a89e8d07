// The Harness over piscina: concurrency from the CPUs this process may use, ordered results,
// progress events, abort through the freezer path, and the load test (1000 trivial jobs).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { usableCpus } from '../harness/cpus.js';
import { Harness, type ProgressEvent } from '../harness/pool.js';
import { runJob } from '../harness/sandbox.js';
import { NO_LEFTOVERS, ROOT, describeSandbox, leftovers } from './support/sandbox.js';

it('concurrency defaults to the CPUs this process may use', () => {
  expect(usableCpus()).toBeGreaterThanOrEqual(1);
  expect(usableCpus()).toBeLessThanOrEqual(os.availableParallelism());
});

describeSandbox('Harness', () => {
  const harness = new Harness({ concurrency: 2, defaults: { memory: '128m' } });
  afterAll(() => harness.close());

  it('runs jobs in parallel, results in input order, with progress events', async () => {
    const events: ProgressEvent['type'][] = [];
    const started = performance.now();
    const results = await harness.runAll(
      [1, 2, 3, 4].map((i) => ({ command: ['sh', '-c', `sleep 0.5; echo ${i}`] })),
      { onProgress: (event) => events.push(event.type) },
    );
    expect(results.map((r) => r.stdout.trim())).toEqual(['1', '2', '3', '4']);
    expect(results.every((r) => r.memory.limitBytes === 128 * 1024 * 1024)).toBe(true);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(1000); // two at a time: at least two rounds of 0.5 s
    expect(elapsed).toBeLessThan(2000); // but not four
    expect(events.filter((e) => e === 'start')).toHaveLength(4);
    expect(events.filter((e) => e === 'end')).toHaveLength(4);
  });

  it('a job that cannot start is an error result at once, through runJob and the Harness alike (nothing waits)', async () => {
    // the start failures a host can have: a refused cgroup parent, a volume refused as unsafe, a
    // program that is not there (the launcher reports the failed exec)
    const inputs = [
      { command: ['true'], cgroupParent: '/a/../b' },
      { command: ['no-such-program-ringfence'] },
    ];
    const started = performance.now();
    const viaHarness = await harness.runAll(inputs);
    const direct = await Promise.all(inputs.map((input) => runJob(input)));
    expect(performance.now() - started).toBeLessThan(10_000);
    for (const results of [viaHarness, direct]) {
      expect(results[0]?.status).toBe('error');
      expect(results[0]?.reason).toMatch(/could not start: --cgroup-parent "\/a\/\.\.\/b" contains "\.\."/);
      expect(results[1]?.status).toBe('error');
      expect(results[1]?.error?.code).toBe('ENOENT');
    }
    expect(() => harness.resolve({ command: ['true'], volumes: [`${path.join(ROOT, 'dist')}:/d`] })).toThrow(
      /volume: .*which the harness runs from/,
    );
  });

  it('an abort ends a running job through the freezer path', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const result = await harness.run({ command: ['sleep', '30'] }, { signal: controller.signal });
    expect(result.status).toBe('aborted');
    expect(result.diagnostics.processTree?.map((p) => p.cmdline)).toContain('sleep 30');
  });
});

describeSandbox('Harness under load', () => {
  it('load: 1000 trivial jobs at concurrency 2 — all correct, nothing left, harness RSS growth < 20 MB', async () => {
    // in a process of its own, so that the RSS measured is the harness's and not vitest's
    const out = spawnSync(
      process.execPath,
      ['--expose-gc', path.join(ROOT, 'test', 'support', 'load-child.mjs'), '1000', '2'],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(out.status, out.stderr).toBe(0);
    const load = JSON.parse(out.stdout) as {
      seconds: number;
      rssAt100: number;
      rssAtEnd: number;
      statuses: string[];
      inOrder: boolean;
    };
    const growthMb = (load.rssAtEnd - load.rssAt100) / 1e6;
    console.log(
      `load: 1000 jobs in ${load.seconds.toFixed(1)} s (${(1000 / load.seconds).toFixed(0)} jobs/s), RSS ` +
        `${(load.rssAt100 / 1e6).toFixed(1)} → ${(load.rssAtEnd / 1e6).toFixed(1)} MB (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB) from job 100 to job 1000`,
    );
    expect(load.statuses).toEqual(['passed']);
    expect(load.inOrder).toBe(true);
    expect(growthMb).toBeLessThan(20);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 120_000);
});
