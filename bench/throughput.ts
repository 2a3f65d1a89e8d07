// Jobs per second at a fixed concurrency: ringfence's Harness (piscina pool, every job in its own
// sandbox and cgroup) beside bare child_process.spawn and bwrap with the same namespaces, the same
// number at once, in one run. Prints jobs/s and ratios.
//   npm run bench:throughput -- [--jobs 300] [--concurrency 2] [--chunk 30] [--warm 3000] [--rounds 5]
//     [--cli-runs 9] [--rss] [--trace]
// --chunk: the first --jobs of each contender are run in turns of this many (measureInTurns).
// --warm, --rounds: the Harness against bwrap again once its code is warm (--rounds 0: not at all).
// A `runJob` row runs the same job on this thread one at a time, beside them in the same turns.
// Every row also says what a job cost in CPU (bench/cpu.ts): this process (the Harness's threads),
// the processes it reaped (launchers and jobs; bwrap), the kernel's threads and the machine, and what
// 1.3× bwrap's rate would leave a job: where the harness is CPU-bound (a 2-core machine), the rate
// can be no better than that split allows.
// --trace: the Harness's jobs again, traced (Harness.run's `trace`), at the same concurrency: where a
// job's time goes on its lane — the calling thread, the worker, the launcher — as a table of medians.
// Then `ringfence ci` of a one-job manifest against `ringfence run` of that job, as whole commands.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  LAUNCHER_PHASES,
  bwrapArgv,
  median,
  meanAt,
  medianAt,
  phaseOrder,
  spawnAndWait,
  which,
  type Trace,
} from './support.js';
import { cpuPerJob, cpuTimes, meanCpu, ownTotal, type CpuTimes } from './cpu.js';
import { Harness } from '../harness/parallel/harness.js';
import { runJob } from '../harness/run-job.js';
import { Sandbox } from '../harness/launch/spares.js';
import { packageRoot } from '../native/paths.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('--jobs', 300);
const CONCURRENCY = arg('--concurrency', 2);

/** A contender's run: jobs per second, and the CPU each job cost (cpuPerJob). */
interface Run {
  perSecond: number;
  cpu: CpuTimes;
}

/** Runs `count` tasks, `concurrency` at a time. */
async function measure(count: number, concurrency: number, task: () => Promise<void>): Promise<Run> {
  let next = 0;
  const before = cpuTimes();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await task();
    }),
  );
  const perSecond = count / ((performance.now() - started) / 1000);
  return { perSecond, cpu: cpuPerJob(before, cpuTimes(), count) };
}

/**
 * The first `count` jobs of each contender, in chunks of `chunk` taken in turns (the order rotating
 * every round): a noisy moment of a shared machine hits every contender alike, and the Harness's
 * first jobs, its cold ones, are still its first. A contender's rate is its jobs over its chunks' time.
 */
async function measureInTurns(
  count: number,
  concurrency: number,
  contenders: readonly (readonly [string, () => Promise<void>, number?])[],
  chunk: number,
): Promise<Map<string, Run>> {
  const spent = new Map(contenders.map(([name]) => [name, { ms: 0, cpu: [] as CpuTimes[] }]));
  for (let done = 0, round = 0; done < count; done += chunk, round++) {
    const jobs = Math.min(chunk, count - done);
    for (let i = 0; i < contenders.length; i++) {
      const [name, task, own] = contenders[(i + round) % contenders.length]!;
      const run = await measure(jobs, own ?? concurrency, task);
      const mine = spent.get(name)!;
      mine.ms += (jobs / run.perSecond) * 1000;
      mine.cpu.push(run.cpu);
    }
  }
  return new Map(
    [...spent].map(([name, { ms, cpu }]) => [name, { perSecond: count / (ms / 1000), cpu: meanCpu(cpu) }]),
  );
}

const bwrap = which('bwrap');
if (!bwrap) console.log('bwrap not found (apt-get install bubblewrap): its row is left out');
const harness = new Harness({ concurrency: CONCURRENCY });
await harness.run({ command: ['/bin/true'] }); // start the workers outside the timing
const CHUNK = arg('--chunk', 30);
const runs = await measureInTurns(
  JOBS,
  CONCURRENCY,
  [
    ['bare spawn', () => spawnAndWait(['/bin/true'])],
    ...(bwrap ? ([['bwrap', () => spawnAndWait(bwrapArgv(bwrap, ['/bin/true']))]] as const) : []),
    [
      'ringfence Harness',
      async () => {
        const result = await harness.run({ command: ['/bin/true'], memory: '256m', pidsLimit: 64 });
        if (result.status !== 'passed') throw new Error(result.reason);
      },
    ],
    // runJob on this thread, one job at a time: what a job costs without the pool's threads
    [
      'runJob, 1 at a time',
      async () => {
        const result = await runJob(
          { command: ['/bin/true'], memory: '256m', pidsLimit: 64 },
          { warn: false },
        );
        if (result.status !== 'passed') throw new Error(result.reason);
      },
      1,
    ],
  ],
  CHUNK,
);
// runJob's spare launcher and the removals it left to this thread
await Sandbox.settle();
Sandbox.disposeAll();
// The same again once the Harness's code is warm: V8 keeps optimizing it for some thousands of jobs
// (737 functions compiled in the first 2000 here, 78 between 6000 and 10 000), which the first
// JOBS pay and bwrap's row does not. Rounds of bwrap and the Harness alternated (the order
// rotating), the ratio per round, its median printed: the machine's noise shows in both alike.
const WARM_JOBS = arg('--warm', 3000);
const ROUNDS = arg('--rounds', 5);
const harnessJob = async (): Promise<void> => {
  const result = await harness.run({ command: ['/bin/true'], memory: '256m', pidsLimit: 64 });
  if (result.status !== 'passed') throw new Error(result.reason);
};
const steady: { harness: Run[]; bwrap: Run[] } = { harness: [], bwrap: [] };
if (bwrap && ROUNDS > 0) {
  const argv = bwrapArgv(bwrap, ['/bin/true']);
  await measure(WARM_JOBS, CONCURRENCY, harnessJob);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? (['bwrap', 'harness'] as const) : (['harness', 'bwrap'] as const);
    for (const who of order) {
      const task = who === 'bwrap' ? () => spawnAndWait(argv) : harnessJob;
      steady[who].push(await measure(JOBS, CONCURRENCY, task));
    }
  }
}
// --rss: the same Harness on for 30 000 jobs, its RSS (main thread and workers: one process) after
// 10 000, 20 000 and 30 000 — flat after warm-up, or something is kept per job
if (process.argv.includes('--rss')) {
  const marks: string[] = [];
  let done = 0;
  await measure(30_000, CONCURRENCY, async () => {
    const result = await harness.run({ command: ['/bin/true'], memory: '256m', pidsLimit: 64 });
    if (result.status !== 'passed') throw new Error(result.reason);
    if (++done % 10_000 === 0) marks.push(`${done}: ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MB`);
  });
  console.log(`harness RSS after ${marks.join(', ')}`);
}
let traces: Trace[] = [];
if (process.argv.includes('--trace')) {
  await measure(JOBS, CONCURRENCY, async () => {
    const result = await harness.run(
      { command: ['/bin/true'], memory: '256m', pidsLimit: 64 },
      { trace: true },
    );
    if (result.status !== 'passed') throw new Error(result.reason);
    if (result.trace) traces.push(result.trace);
  });
  traces = traces.slice(Math.floor(traces.length / 10)); // the first tenth warms up
}
await harness.close();

const ours = runs.get('ringfence Harness')!.perSecond;
console.log(
  `\nthe first ${JOBS} trivial jobs (/bin/true) of each, ${CONCURRENCY} at a time, in turns of ${CHUNK}:\n`,
);
console.log(`${'contender'.padEnd(20)} ${'jobs/s'.padStart(8)} ${'ringfence ÷ it'.padStart(15)}`);
for (const [name, { perSecond }] of runs)
  console.log(
    `${name.padEnd(20)} ${perSecond.toFixed(1).padStart(8)} ${(ours / perSecond).toFixed(2).padStart(14)}×`,
  );
console.log('(runJob runs 1 at a time: its ratio is the Harness at 2 against one lane)');

/** The rounds of one contender as one run: the median rate, the CPU of all its jobs together. */
function pooled(rounds: readonly Run[]): Run {
  return {
    perSecond: median(rounds.map((run) => run.perSecond)),
    cpu: meanCpu(rounds.map((run) => run.cpu)),
  };
}

const cpuRows = new Map(runs);
if (steady.harness.length > 0) {
  const ratios = steady.harness.map((h, i) => h.perSecond / steady.bwrap[i]!.perSecond);
  console.log(
    `\nwarm (after ${WARM_JOBS} jobs), ${ROUNDS} rounds of ${JOBS} jobs each, alternated: the Harness ${pooled(steady.harness).perSecond.toFixed(1)} jobs/s, bwrap ${pooled(steady.bwrap).perSecond.toFixed(1)} — ringfence ÷ bwrap ${median(ratios).toFixed(2)}× (median of the rounds' ratios: ${ratios.map((r) => r.toFixed(2)).join(', ')}; target ≥ 1.3×)`,
  );
  cpuRows.set('bwrap, warm rounds', pooled(steady.bwrap));
  cpuRows.set('Harness, warm rounds', pooled(steady.harness));
}

// What each job cost the machine: a rate is bounded by the cores' time a job takes (busy) and by the
// waits no core fills (idle). The target's budget follows from bwrap's rate: at 1.3× it, the cores
// have cores × 1000 / (1.3 × rate) ms a job, and a Harness job's kernel time alone (system) can
// already take most of it.
const cores = os.cpus().length;
console.log(
  `\nCPU per job, ms. The bench's own, which other load does not touch: "node" is this process (the Harness's worker threads included), "children" what it started and reaped (launcher, init and job; bwrap and its own), each user+system, "own" their sum. Everyone's, on a shared machine: "kthreads" the kernel's threads (kworkers: a netns's cleanup, a cgroup's release), "machine" the ${cores} cores' busy time (/proc/stat), idle beside it:\n`,
);
console.log(
  `${'contender'.padEnd(22)} ${'node usr'.padStart(8)} ${'node sys'.padStart(8)} ${'chld usr'.padStart(8)} ${'chld sys'.padStart(8)} ${'own'.padStart(6)} ${'kthreads'.padStart(8)} ${'machine'.padStart(7)} ${'idle'.padStart(6)}`,
);
for (const [name, { cpu }] of cpuRows) {
  const cells = [
    [cpu.selfUser, 8],
    [cpu.selfSystem, 8],
    [cpu.childUser, 8],
    [cpu.childSystem, 8],
    [ownTotal(cpu), 6],
    [cpu.kthreads, 8],
    [cpu.user + cpu.system, 7],
    [cpu.idle, 6],
  ] as const;
  console.log(`${name.padEnd(22)} ${cells.map(([v, w]) => v.toFixed(2).padStart(w)).join(' ')}`);
}
const bwrapRun = cpuRows.get('bwrap, warm rounds') ?? cpuRows.get('bwrap');
const harnessRun = cpuRows.get('Harness, warm rounds') ?? cpuRows.get('ringfence Harness')!;
if (bwrapRun) {
  const budget = (cores * 1000) / (1.3 * bwrapRun.perSecond);
  const { cpu } = harnessRun;
  console.log(
    `\nat 1.3× bwrap's ${bwrapRun.perSecond.toFixed(1)} jobs/s a job may take ${budget.toFixed(2)} ms of the cores, idle included; the Harness's took ${(cpu.user + cpu.system + cpu.idle).toFixed(2)} — its system time alone ${cpu.system.toFixed(2)} (bwrap's ${bwrapRun.cpu.system.toFixed(2)}); its own processes ${ownTotal(cpu).toFixed(2)} (bwrap's with the Node that spawns it ${ownTotal(bwrapRun.cpu).toFixed(2)})`,
  );
}

if (traces.length > 0) {
  // who does each step: the calling thread (run() to piscina and back), the worker (runJob), the launcher
  const LANE_PHASES = new Set(['dispatched', 'returned']);
  console.log(
    `\nphases of a Harness job on its lane, ${traces.length} traced jobs ${CONCURRENCY} at a time, ms since Harness.run was called (medians; means beside them: a mean step well above the median's is a tail):\n`,
  );
  console.log(
    `${'phase'.padEnd(20)} ${'at'.padStart(7)} ${'step'.padStart(7)} ${'mean at'.padStart(8)} ${'step'.padStart(7)}  done by`,
  );
  let previous = 0;
  let previousMean = 0;
  for (const phase of phaseOrder(traces)) {
    const at = medianAt(traces, phase) ?? 0;
    const mean = meanAt(traces, phase) ?? 0;
    const who = LANE_PHASES.has(phase)
      ? 'calling thread'
      : LAUNCHER_PHASES.has(phase)
        ? 'launcher'
        : 'worker';
    const cells = [at, at - previous, mean, mean - previousMean].map((v, i) =>
      v.toFixed(3).padStart(i === 2 ? 8 : 7),
    );
    console.log(`${phase.padEnd(20)} ${cells.join(' ')}  ${who}`);
    previous = at;
    previousMean = mean;
  }
}

// `ringfence ci` of a one-job manifest beside `ringfence run` of the same job, each a whole command
// as a user types it (the built CLI through node), interleaved; target ci ≤ 1.5× run.
const CLI_RUNS = arg('--cli-runs', 9);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-cli-'));
try {
  const manifest = path.join(dir, 'one.yml');
  fs.writeFileSync(
    manifest,
    'name: one\njobs:\n  - name: trivial\n    command: [/bin/true]\n    memory: 256m\n',
  );
  const cli = path.join(packageRoot(), 'dist', 'harness', 'cli', 'main.js');
  const commands = {
    'ringfence run': [cli, 'run', '--quiet', '--memory', '256m', '--', '/bin/true'],
    'ringfence ci': [cli, 'ci', manifest],
  };
  const times: Record<string, number[]> = { 'ringfence run': [], 'ringfence ci': [] };
  for (let round = 0; round < CLI_RUNS + 1; round++) {
    for (const [name, argv] of round % 2 ? Object.entries(commands).reverse() : Object.entries(commands)) {
      const start = performance.now();
      const out = spawnSync(process.execPath, argv, { cwd: dir, stdio: 'ignore' });
      if (out.status !== 0) throw new Error(`${name} exited ${out.status}`);
      if (round > 0) times[name]!.push(performance.now() - start); // round 0 warms the page cache
    }
  }
  const run = median(times['ringfence run']!);
  const ci = median(times['ringfence ci']!);
  console.log(
    `\nwhole commands, median of ${CLI_RUNS}: ringfence run ${run.toFixed(0)} ms, ringfence ci (one-job manifest) ${ci.toFixed(0)} ms — ci ÷ run ${(ci / run).toFixed(2)}× (target ≤ 1.5×)`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
