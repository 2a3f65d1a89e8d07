// The Harness: concurrency from the CPUs this process may use, ordered results, progress events,
// abort through the freezer path — on the calling thread's lanes (the default at concurrency 2) and
// on piscina's worker threads alike — how the two kinds share jobs, and the load test (1000 trivial
// jobs).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, expect, it } from 'vitest';
import { usableCpus } from '../harness/parallel/cpus.js';
import { Harness, type ProgressEvent } from '../harness/parallel/harness.js';
import { runJob } from '../harness/run-job.js';
import { Sandbox } from '../harness/launch/spares.js';
import { NO_LEFTOVERS, ROOT, describeSandbox, leftovers } from './support/sandbox.js';

/** The thread that made a job's cgroup, from its name job-<threadId>-<n>-<random>, as the job sees it. */
const jobThread = (cgroupFile: string): number => Number(/\/job-(\d+)-\d+-/.exec(cgroupFile)?.[1] ?? NaN);

it('concurrency defaults to the CPUs this process may use', () => {
  expect(usableCpus()).toBeGreaterThanOrEqual(1);
  expect(usableCpus()).toBeLessThanOrEqual(os.availableParallelism());
});

for (const [lanes, inline] of [
  ['the calling thread', undefined],
  ['worker threads', 0],
] as const)
  describeSandbox(`Harness, its lanes on ${lanes}`, () => {
    const harness = new Harness({
      concurrency: 2,
      defaults: { memory: '128m' },
      ...(inline === undefined ? {} : { inline }),
    });
    afterAll(() => harness.close());

    it('the lanes are where they were asked for', async () => {
      expect(harness['pool'] === null).toBe(inline === undefined);
      const result = await harness.run({ command: ['cat', '/proc/self/cgroup'] });
      expect(jobThread(result.stdout) === threadId).toBe(inline === undefined);
    });

    it('runs jobs in parallel, results in input order, with progress events', async () => {
      const events: ProgressEvent['type'][] = [];
      const started = performance.now();
      // how many ran at once, from the progress events: two at a time, never more (a slow, loaded
      // machine stretches the wall time, not this)
      let running = 0;
      let most = 0;
      const results = await harness.runAll(
        [1, 2, 3, 4].map((i) => ({ command: ['sh', '-c', `sleep 0.5; echo ${i}`] })),
        {
          onProgress: (event) => {
            events.push(event.type);
            if (event.type === 'start') most = Math.max(most, ++running);
            if (event.type === 'end') running--;
          },
        },
      );
      expect(results.map((r) => r.stdout.trim())).toEqual(['1', '2', '3', '4']);
      expect(results.every((r) => r.memory.limitBytes === 128 * 1024 * 1024)).toBe(true);
      expect(most).toBe(2);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThan(1000); // two at a time: at least two rounds of 0.5 s
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
      expect(() =>
        harness.resolve({ command: ['true'], volumes: [`${path.join(ROOT, 'dist')}:/d`] }),
      ).toThrow(/volume: .*which the harness runs from/);
    });

    it("trace: the lane from run() on — dispatched, the job's and launcher's phases, returned — in order", async () => {
      const before = performance.now();
      const result = await harness.run({ command: ['sh', '-c', 'echo traced'] }, { trace: true });
      const wall = performance.now() - before;
      expect(result.stdout).toBe('traced\n');
      const phases = (result.trace ?? []).map((t) => t.phase);
      // the calling thread's steps around the job's (start … filesystem) and the launcher's
      expect(phases[0]).toBe('dispatched');
      expect(phases.at(-1)).toBe('returned');
      for (const phase of ['start', 'release', 'gate', 'exec', 'job-exit', 'exited', 'stats'])
        expect(phases).toContain(phase);
      // one clock for both threads and the launcher: every time is after the one before, and within run()
      const times = (result.trace ?? []).map((t) => t.ms);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times[0]).toBeGreaterThanOrEqual(0);
      expect(times.at(-1)).toBeLessThanOrEqual(wall);
      expect(phases.indexOf('dispatched')).toBeLessThan(phases.indexOf('start'));
      // untraced, nothing of it
      expect((await harness.run({ command: ['true'] })).trace).toBeUndefined();
    });

    it('an abort ends a running job through the freezer path', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 500);
      const result = await harness.run({ command: ['sleep', '30'] }, { signal: controller.signal });
      expect(result.status).toBe('aborted');
      expect(result.diagnostics.processTree?.map((p) => p.cmdline)).toContain('sleep 30');
    });
  });

describeSandbox('Harness with the calling thread as a lane (inline)', () => {
  it('concurrency 1: no worker thread at all; every job runs on this thread, one at a time, in order', async () => {
    const harness = new Harness({ concurrency: 1, inline: true });
    try {
      expect(harness['pool']).toBeNull();
      const started = performance.now();
      const results = await harness.runAll(
        [1, 2, 3].map((i) => ({ command: ['sh', '-c', `sleep 0.2; echo ${i}; cat /proc/self/cgroup`] })),
      );
      expect(results.map((r) => r.stdout.split('\n')[0])).toEqual(['1', '2', '3']);
      expect(performance.now() - started).toBeGreaterThan(600); // one at a time
      for (const result of results) expect(jobThread(result.stdout)).toBe(threadId);
    } finally {
      await harness.close();
    }
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('concurrency 2: this thread and one worker share the jobs; an abort on this thread goes through the freezer', async () => {
    const harness = new Harness({ concurrency: 2, inline: true });
    try {
      const results = await harness.runAll(
        [1, 2].map((i) => ({ command: ['sh', '-c', `sleep 0.3; echo ${i}; cat /proc/self/cgroup`] })),
      );
      expect(results.map((r) => r.stdout.split('\n')[0])).toEqual(['1', '2']);
      const threads = results.map((r) => jobThread(r.stdout));
      expect(threads).toContain(threadId);
      expect(new Set(threads).size).toBe(2); // the other ran on the worker
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const aborted = await harness.run({ command: ['sleep', '30'] }, { signal: controller.signal });
      expect(aborted.status).toBe('aborted');
      expect(aborted.diagnostics.processTree?.map((p) => p.cmdline)).toContain('sleep 30');
    } finally {
      await harness.close();
    }
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('a lane that frees takes the next job, whichever thread it is on; never more than concurrency at once', async () => {
    // one lane here, one on a worker, six jobs handed over at once: the jobs wait for a lane, not in
    // piscina's queue behind the worker while this thread's lane stands idle
    const harness = new Harness({ concurrency: 2, inline: 1 });
    let running = 0;
    let most = 0;
    try {
      const results = await harness.runAll(
        [1, 2, 3, 4, 5, 6].map((i) => ({
          command: ['sh', '-c', `sleep 0.3; echo ${i}; cat /proc/self/cgroup`],
        })),
        {
          onProgress: (event) => {
            if (event.type === 'start') most = Math.max(most, ++running);
            if (event.type === 'end') running--;
          },
        },
      );
      expect(results.map((r) => r.stdout.split('\n')[0])).toEqual(['1', '2', '3', '4', '5', '6']);
      const here = results.filter((r) => jobThread(r.stdout) === threadId).length;
      // this thread's lane ran its first job and was handed more while the worker's ran job 2 and on
      expect(here).toBeGreaterThanOrEqual(2);
      expect(here).toBeLessThan(6);
      expect(most).toBe(2);
    } finally {
      await harness.close();
    }
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('a job aborted while it waits for a lane leaves the queue at once and never starts', async () => {
    const harness = new Harness({ concurrency: 1 });
    const marker = path.join(os.tmpdir(), `rf-lane-abort-${process.pid}`);
    fs.rmSync(marker, { force: true });
    try {
      let firstDone = false;
      const first = harness.run({ command: ['sleep', '1'] }).finally(() => (firstDone = true));
      const controller = new AbortController();
      const waiting = harness.run({ command: ['touch', marker] }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 100); // queued behind the first by then, or about to be
      const aborted = await waiting;
      // its answer came while the only lane was still busy, not when it freed
      expect(firstDone).toBe(false);
      expect(aborted.status).toBe('aborted');
      expect((await first).status).toBe('passed');
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      await harness.close();
      fs.rmSync(marker, { force: true });
    }
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  for (const inline of [undefined, 0] as const)
    it(`close() waits for the jobs given before it, running or waiting, and refuses later ones (${inline === 0 ? 'workers' : 'this thread'})`, async () => {
      const harness = new Harness({ concurrency: 1, ...(inline === undefined ? {} : { inline }) });
      const settled: string[] = [];
      const runs = [1, 2, 3].map((i) =>
        harness.run({ command: ['sh', '-c', `sleep 0.2; echo ${i}`] }).then((r) => {
          settled.push(`${r.status}:${r.stdout.trim()}`);
          return r;
        }),
      );
      await harness.close();
      // all three had ended, one after another on the one lane, before close() returned
      expect(settled).toEqual(['passed:1', 'passed:2', 'passed:3']);
      await Promise.all(runs);
      const late = await harness.run({ command: ['true'] });
      expect(late.status).toBe('error');
      expect(late.reason).toMatch(/the Harness is closed/);
      Sandbox.disposeAll();
      expect(await leftovers()).toEqual(NO_LEFTOVERS);
    });

  it('an inline count that is no number takes the default', async () => {
    const harness = new Harness({ concurrency: 2, inline: Number.NaN });
    try {
      expect(harness['pool']).toBeNull();
      expect((await harness.run({ command: ['true'] })).status).toBe('passed');
    } finally {
      await harness.close();
    }
  });
});

describeSandbox('the instance parent, shared by the threads of a process', () => {
  it('removed by the last thread to dispose while another thread still has a driver: made again for its next job', async () => {
    const where = (cgroupFile: string): string => {
      const line = cgroupFile.split('\n').find((l) => /:(memory|):\//.test(l) && l.includes('/job-'));
      const rel = line?.split(':').slice(2).join(':') ?? '';
      const memory = fs.existsSync('/sys/fs/cgroup/memory') ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
      return path.dirname(path.join(memory, rel));
    };
    const first = await runJob({ command: ['cat', '/proc/self/cgroup'] }, { prepareNext: false });
    expect(first.status, first.reason).toBe('passed');
    const parent = where(first.stdout);
    await Sandbox.settle(); // this thread holds nothing in the parent now: it is empty
    const harness = new Harness({ concurrency: 1, inline: 0 });
    expect((await harness.run({ command: ['true'] })).status).toBe('passed');
    await harness.close(); // its worker is the last one out: the parent goes
    expect(fs.existsSync(parent)).toBe(false);
    const again = await runJob({ command: ['cat', '/proc/self/cgroup'] }, { prepareNext: false });
    expect(again.status, again.reason).toBe('passed');
    expect(where(again.stdout)).toBe(parent);
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
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
