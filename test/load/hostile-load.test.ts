// Load: 200 hostile jobs of mixed kinds — memory hogs over their cap, fork bombs against a pids cap,
// CPU spinners with a short CPU-time limit, daemonizers with a short timeout, output floods, trivial
// jobs — at concurrency 2 through the Harness. Meanwhile a trivial job is submitted every second
// through the second path (runJob in this thread, beside the pool) and must complete within 2 s of
// submission: the harness stays responsive under hostile load. Every job must end the way its kind
// demands, and afterwards nothing is left (strict: instance parents included).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { Harness } from '../../harness/parallel/harness.js';
import type { JobResult } from '../../harness/job/result.js';
import { runJob } from '../../harness/run-job.js';
import { Sandbox } from '../../harness/launch/spares.js';
import type { JobSpecInput } from '../../harness/job/spec.js';
import { ROOT, describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers } from '../support/tally.js';

const JOBS = 200;
const PROBE_DEADLINE_MS = 2000;

interface Kind {
  spec: JobSpecInput;
  /** What the job must end as. */
  check: (r: JobResult) => void;
}

const KINDS: Record<string, Kind> = {
  'memory-hog': {
    spec: { command: ['node', 'fixtures/memory-hog.js', '128'], memory: '40m', timeout: '15s' },
    check: (r) => {
      expect(r.status, r.reason).toBe('oom');
      expect(r.memory.oomKills).toBeGreaterThan(0);
    },
  },
  'fork-bomb': {
    spec: { command: ['sh', 'fixtures/fork-bomb.sh'], pidsLimit: 24, timeout: '250ms' },
    check: (r) => {
      expect(r.status, r.reason).toBe('timeout');
      expect(r.pids.peak ?? 0).toBeLessThanOrEqual(24);
    },
  },
  'cpu-spin': {
    spec: { command: ['node', 'fixtures/cpu-spin.js', '10'], cpuTime: '100ms', timeout: '15s' },
    check: (r) => {
      expect(r.status, r.reason).toBe('timeout');
      expect(r.termination).toBe('cpu-timeout');
    },
  },
  daemonize: {
    spec: { command: ['sh', 'fixtures/daemonize.sh'], timeout: '200ms' },
    check: (r) => {
      expect(r.status, r.reason).toBe('timeout');
      expect(r.termination).toBe('wall-timeout');
    },
  },
  'output-flood': {
    spec: { command: ['node', 'fixtures/output-flood.js', '4'], outputLimit: '64k', timeout: '15s' },
    check: (r) => {
      expect(r.status, r.reason).toBe('passed');
      expect(r.stdoutTruncated).toBe(true);
      // the first 64 KiB kept, the rest counted on a marker line
      const marker = /\n\[ringfence: output truncated: (\d+) more bytes not kept\]\n$/.exec(r.stdout);
      expect(Number(marker?.[1])).toBe(4 * 1024 * 1024 - 64 * 1024);
      expect(Buffer.byteLength(r.stdout.slice(0, marker?.index))).toBe(64 * 1024);
    },
  },
  trivial: {
    spec: { command: ['/bin/true'] },
    check: (r) => expect(r.status, r.reason).toBe('passed'),
  },
};

describeSandbox('load: 200 hostile jobs at concurrency 2', () => {
  it('every job ends as its kind demands, a probe job meanwhile completes within 2 s, nothing left', async () => {
    const names = Object.keys(KINDS);
    const specs = Array.from({ length: JOBS }, (_, i) => {
      const kind = names[i % names.length]!;
      return { ...KINDS[kind]!.spec, name: `${kind}-${i}` };
    });
    const harness = new Harness({ concurrency: 2, defaults: { workdir: ROOT, memory: '128m' } });
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const probes: { latencyMs: number; status: string }[] = [];
    let ended = 0;
    let loadDone = false;
    const started = performance.now();
    try {
      const load = harness
        .runAll(specs, { onProgress: (e) => void (e.type === 'end' && ended++) })
        .finally(() => (loadDone = true));
      // the second path: runJob in this thread, while the pool's two workers are busy
      const prober = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        while (!loadDone) {
          const t0 = performance.now();
          const r = await runJob({ name: 'probe', command: ['/bin/true'], workdir: ROOT });
          probes.push({ latencyMs: performance.now() - t0, status: r.status });
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      })();
      const [results] = await Promise.all([load, prober]);
      const seconds = (performance.now() - started) / 1000;
      lag.disable();

      expect(results).toHaveLength(JOBS);
      expect(ended).toBe(JOBS);
      const byKind = new Map<string, string[]>();
      results.forEach((r, i) => {
        const kind = names[i % names.length]!;
        expect(r.name).toBe(`${kind}-${i}`);
        KINDS[kind]!.check(r);
        byKind.set(kind, [...(byKind.get(kind) ?? []), r.status]);
      });
      const latencies = probes.map((p) => p.latencyMs);
      console.log(
        `load: ${JOBS} hostile jobs (${names.map((k) => `${byKind.get(k)?.length ?? 0} ${k}`).join(', ')}) ` +
          `at concurrency 2 in ${seconds.toFixed(1)} s; ${probes.length} probe jobs, latency max ` +
          `${Math.max(...latencies).toFixed(0)} ms, median ${latencies.sort((a, b) => a - b)[Math.floor(latencies.length / 2)]?.toFixed(0)} ms; ` +
          `event-loop delay max ${(lag.max / 1e6).toFixed(0)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms`,
      );
      // the load ran long enough for the probes to mean something, and every probe was quick
      expect(probes.length).toBeGreaterThanOrEqual(3);
      for (const probe of probes) {
        expect(probe.status).toBe('passed');
        expect(probe.latencyMs).toBeLessThan(PROBE_DEADLINE_MS);
      }
    } finally {
      lag.disable();
      await harness.close();
    }
    Sandbox.disposeAll();
    await expectNoLeftovers({ strict: true });
  }, 120_000);
});
