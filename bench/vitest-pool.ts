// The ringfence Vitest pool beside Vitest's built-in forks pool, `isolate: true`, on two shapes of
// suite: the project's 50 small test files (bench/vitest-suite) and many tiny ones of a single test
// each (generated under bench/tmp/), each run a whole `vitest run` process timed from spawn to exit.
// Each shape runs at two worker counts: 2 (the configs' maxWorkers: on a 2-core host every core runs
// a worker) and Vitest's own default (`--maxWorkers` unset: the cores less one), where a core is
// left to Vitest's main process and, under ringfence, to the spare worker starting the next file.
// Runs alternate and the order rotates every round, so a noisy neighbour on the shared machine hits
// both alike. Every run must exit 0 with all files passed. Prints median, min and max of each and
// the ratio ringfence ÷ forks (target ≤ 0.95×). Needs root and the built dist.
// `--trace` adds each file's phases (bench/vitest-trace/, harness/vitest/pool-trace.ts), as medians.
// Every run also says what a file cost in CPU: Vitest's main process (bench/vitest-trace/main-cpu.ts)
// and the rest of the run's process tree (workers; sandboxes: launcher, init, worker) as far as each
// parent reaped its children (getrusage's RUSAGE_CHILDREN, one run at a time): a process still alive
// when Vitest exits, or killed then and not reaped, is not counted.
//   node --import tsx bench/vitest-pool.ts [--runs 5] [--warmup 1] [--shape project|tiny]
//     [--workers 2|default] [--trace]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { reapedChildrenCpu } from './cpu.js';
import { median } from './support.js';

const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = flag('--runs', 5);
const WARMUP = flag('--warmup', 1);
/** Vitest's default maxWorkers for `vitest run` (resolveMaxWorkers in its node API): the cores less one. */
const VITEST_DEFAULT_WORKERS = Math.max(os.availableParallelism() - 1, 1);
const ONLY_WORKERS = process.argv.includes('--workers')
  ? process.argv[process.argv.indexOf('--workers') + 1]
  : null;
/** Each a run setting: a count passed as --maxWorkers, or Vitest's default (null: the flag left out). */
type Workers = { label: string; count: number; flag: boolean };
const workerSettings: Workers[] = [
  { label: '2', count: 2, flag: true },
  { label: 'default', count: VITEST_DEFAULT_WORKERS, flag: false },
]
  // on a 3-core host Vitest's default is 2 itself
  .filter((w) => w.flag || w.count !== 2)
  .filter((w) => ONLY_WORKERS === null || w.label === ONLY_WORKERS);
if (workerSettings.length === 0) {
  console.error(
    `--workers ${ONLY_WORKERS}: want 2 or default (Vitest's default here: ${VITEST_DEFAULT_WORKERS}, run as 2)`,
  );
  process.exit(2);
}
const TARGET = 0.95;
const TRACE = process.argv.includes('--trace');
const ONLY = process.argv.includes('--shape') ? process.argv[process.argv.indexOf('--shape') + 1] : null;
const TINY_FILES = 150;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configs = path.join(repo, 'bench', 'vitest-suite');
const vitest = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs');

type Shape = { name: string; root: string; files: number };
const tinyRoot = path.join(repo, 'bench', 'tmp', 'vitest-tiny');
const shapes: Shape[] = [
  { name: 'project', root: configs, files: 50 },
  { name: 'tiny', root: tinyRoot, files: TINY_FILES },
].filter((shape) => ONLY === null || shape.name === ONLY);
if (shapes.length === 0) {
  console.error(`--shape ${ONLY}: want project or tiny`);
  process.exit(2);
}

/** The second shape: many files of one trivial test each, where a file's start is nearly all it costs. */
function writeTinySuite(): void {
  rmSync(tinyRoot, { recursive: true, force: true });
  mkdirSync(tinyRoot, { recursive: true });
  for (let i = 1; i <= TINY_FILES; i++) {
    const name = `tiny${String(i).padStart(3, '0')}`;
    writeFileSync(
      path.join(tinyRoot, `${name}.test.ts`),
      `import { expect, it } from 'vitest';\n\nit('${name}', () => {\n  expect(${i} + 1).toBe(${i + 1});\n});\n`,
    );
  }
}

if (!existsSync(path.join(repo, 'dist', 'harness', 'vitest', 'pool.js'))) {
  console.log('dist/harness/vitest/pool.js is missing: npm run build');
  execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
}

type Contender = { name: string; config: string };
const contenders: Contender[] = [
  { name: 'forks', config: path.join(configs, 'forks.config.ts') },
  { name: 'ringfence', config: path.join(configs, 'ringfence.config.ts') },
];

/** cpuMs: the whole run's CPU (user + system); mainCpuMs: Vitest's main process's share of it. */
type Sample = { wallMs: number; vitestMs: number | null; trace: string[]; cpuMs: number; mainCpuMs: number };

/** One whole `vitest run`: its wall time, and the Duration Vitest reports itself (no process start-up). */
function runVitest(contender: Contender, shape: Shape, workers: Workers): Promise<Sample> {
  const FILES = shape.files;
  const argv = [vitest, 'run', '--config', contender.config, '--root', shape.root];
  if (workers.flag) argv.push('--maxWorkers', String(workers.count));
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  env.RINGFENCE_BENCH_CPU = '1';
  if (TRACE) Object.assign(env, { RINGFENCE_BENCH_TRACE: '1', RINGFENCE_VITEST_TRACE: '1' });
  return new Promise((resolve, reject) => {
    const cpuBefore = reapedChildrenCpu();
    const start = performance.now();
    const child = spawn(process.execPath, argv, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - start;
      const cpuAfter = reapedChildrenCpu();
      const cpuMs = cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system;
      const files = /Test Files\s+(\d+) passed(?:\s+\((\d+)\))?/.exec(output);
      const passed = files ? Number(files[1]) : 0;
      const total = files?.[2] === undefined ? passed : Number(files[2]);
      if (code !== 0 || passed !== FILES || total !== FILES) {
        const tail = output.trimEnd().split('\n').slice(-30).join('\n');
        reject(
          new Error(
            `${contender.name}: exited ${code}, ${passed}/${total} files passed, want ${FILES}\n${tail}`,
          ),
        );
        return;
      }
      const duration = /Duration\s+([\d.]+)(ms|s)\b/.exec(output);
      const vitestMs = duration ? Number(duration[1]) * (duration[2] === 's' ? 1000 : 1) : null;
      const trace = output.split('\n').filter((line) => line.startsWith('RFTRACE '));
      // the last: a config evaluated twice prints twice, and the last is nearer the exit
      const main = [...stderr.matchAll(/^RFCPU ([\d.]+) ([\d.]+)$/gm)].at(-1);
      if (!main) {
        reject(new Error(`${contender.name}: Vitest's main process printed no RFCPU line`));
        return;
      }
      const mainCpuMs = Number(main[1]) + Number(main[2]);
      resolve({
        wallMs,
        vitestMs,
        trace: trace.map((line) => line.slice('RFTRACE '.length)),
        cpuMs,
        mainCpuMs,
      });
    });
  });
}

type Marks = Record<string, number>;

/** Each file's phases from one run's trace lines, in ms from when Vitest asked for its worker. */
function filePhases(lines: string[]): Marks[] {
  const byFile = new Map<string, Marks>();
  const of = (file: string): Marks => byFile.get(file) ?? byFile.set(file, {}).get(file)!;
  for (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.side === 'main') of(entry.file as string)[entry.kind as string] = entry.at as number;
    else if (entry.side === 'worker' && entry.file) Object.assign(of(entry.file as string), entry);
    else if (entry.side === 'pool')
      for (const file of entry.files as string[])
        for (const [key, value] of Object.entries(entry))
          if (typeof value === 'number') of(file)[`pool.${key}`] = value;
  }
  // from when Vitest asked the pool for the file's worker; forks spawns its Node process right then
  return [...byFile.values()]
    .filter((marks) => (marks['pool.start'] ?? marks.node) !== undefined)
    .map((marks) => {
      const origin = marks['pool.start'] ?? marks.node!;
      const rel: Marks = {};
      for (const [key, value] of Object.entries(marks))
        if (typeof value === 'number') rel[key] = value - origin;
      return rel;
    });
}

const PHASES: [string, string][] = [
  ['pool.start', 'the pool asked for a worker (ringfence)'],
  ['pool.released', 'its sandbox runs the worker (ringfence)'],
  ['node', "the worker's Node process started"],
  ['pool.started', 'the worker answered `start` (ringfence)'],
  ['ready', 'Vitest ready in the worker (setup file)'],
  ['firstTest', 'first test starts'],
  ['lastTest', 'last test ends'],
  ['end', "the file's end reported"],
  ['pool.stop', 'Vitest stops the worker (ringfence)'],
  ['pool.ended', 'its sandbox is gone (ringfence)'],
];

function printTrace(shape: Shape, traces: Map<string, Marks[]>): void {
  console.log(
    `\nper-file trace, ${shape.name} suite: median ms from Vitest asking for its worker (forks: its Node start), all runs\n`,
  );
  console.log(`${'phase'.padEnd(44)} ${contenders.map((c) => c.name.padStart(10)).join(' ')}`);
  for (const [key, label] of PHASES) {
    const cells = contenders.map(({ name }) => {
      const values = traces.get(name)!.flatMap((m) => (m[key] === undefined ? [] : [m[key]!]));
      return (values.length ? median(values).toFixed(1) : '-').padStart(10);
    });
    console.log(`${label.padEnd(44)} ${cells.join(' ')}`);
  }
  const ours = traces.get('ringfence')!;
  const spared = ours.filter((m) => m['pool.spare'] !== undefined).length;
  console.log(`files that took a spare worker (ringfence): ${spared} of ${ours.length}`);
  const teardown = ours.flatMap((m) =>
    m['pool.ended'] !== undefined && m['pool.stop'] !== undefined ? [m['pool.ended'] - m['pool.stop']] : [],
  );
  if (teardown.length)
    console.log(`teardown, stop → sandbox gone (ringfence): ${median(teardown).toFixed(1)} ms`);
}

/**
 * CPU a file, medians of the runs: where the cores are all busy a pool's wall time follows its CPU,
 * so this says which process the difference is in.
 */
function printCpu(shape: Shape, samples: Map<string, Sample[]>): void {
  const perFile = (name: string, of: (s: Sample) => number): number =>
    median(samples.get(name)!.map(of)) / shape.files;
  console.log(
    `\nCPU a file, ms (medians): Vitest's main process, the rest of the run's processes (workers; ringfence: sandboxes, launcher and init included), in all\n`,
  );
  console.log(`${'pool'.padEnd(10)} ${'main'.padStart(7)} ${'rest'.padStart(7)} ${'in all'.padStart(7)}`);
  for (const { name } of contenders) {
    const main = perFile(name, (s) => s.mainCpuMs);
    const rest = perFile(name, (s) => s.cpuMs - s.mainCpuMs);
    const all = perFile(name, (s) => s.cpuMs);
    console.log(
      `${name.padEnd(10)} ${main.toFixed(1).padStart(7)} ${rest.toFixed(1).padStart(7)} ${all.toFixed(1).padStart(7)}`,
    );
  }
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const workerText = (workers: Workers): string =>
  workers.flag ? `maxWorkers ${workers.count}` : `Vitest's default (${workers.count})`;

if (shapes.some((shape) => shape.name === 'tiny')) writeTinySuite();
try {
  for (const shape of shapes) for (const workers of workerSettings) await benchShape(shape, workers);
} finally {
  rmSync(tinyRoot, { recursive: true, force: true });
}

async function benchShape(shape: Shape, workers: Workers): Promise<void> {
  const FILES = shape.files;
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  const traces = new Map<string, Marks[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < WARMUP + RUNS; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const contender of order) {
      const sample = await runVitest(contender, shape, workers);
      const label = round < WARMUP ? 'warm-up' : `run ${round - WARMUP + 1}/${RUNS}`;
      console.log(
        `${shape.name.padEnd(8)} ${workerText(workers).padEnd(22)} ${label.padEnd(9)} ${contender.name.padEnd(10)} ` +
          `${(sample.wallMs / 1000).toFixed(2)} s`,
      );
      if (round >= WARMUP) {
        samples.get(contender.name)!.push(sample);
        traces.get(contender.name)!.push(...filePhases(sample.trace));
      }
    }
  }

  const walls = (name: string): number[] => samples.get(name)!.map((s) => s.wallMs);
  const baseline = median(walls('forks'));

  console.log(
    `\n${shape.name} suite: whole \`vitest run\` of ${FILES} files, isolate: true, ${workerText(workers)}, ` +
      `${RUNS} runs each (after ${WARMUP} warm-up), alternating:\n`,
  );
  console.log(
    `${'pool'.padEnd(10)} ${'median s'.padStart(9)} ${'min s'.padStart(7)} ${'max s'.padStart(7)} ` +
      `${'vitest Duration s'.padStart(18)} ${'÷ forks'.padStart(8)}`,
  );
  for (const { name } of contenders) {
    const values = walls(name);
    const reported = samples
      .get(name)!
      .map((s) => s.vitestMs)
      .filter((ms): ms is number => ms !== null);
    console.log(
      `${name.padEnd(10)} ${seconds(median(values)).padStart(9)} ${seconds(Math.min(...values)).padStart(7)} ` +
        `${seconds(Math.max(...values)).padStart(7)} ` +
        `${(reported.length ? seconds(median(reported)) : '?').padStart(18)} ` +
        `${(median(values) / baseline).toFixed(2).padStart(7)}×`,
    );
  }

  const ours = median(walls('ringfence'));
  const ratio = ours / baseline;
  // with N files in flight at once, each file's extra cost is the difference × N ÷ FILES
  const perFileMs = ((ours - baseline) * workers.count) / FILES;
  console.log(
    `\n${shape.name} suite, ${workerText(workers)}: ringfence ÷ forks: ${ratio.toFixed(2)}× ` +
      `(target ≤ ${TARGET.toFixed(2)}×: ${ratio <= TARGET ? 'met' : 'NOT met'})`,
  );
  console.log(`extra per test file: ${perFileMs.toFixed(0)} ms of worker time`);
  printCpu(shape, samples);
  if (TRACE) printTrace(shape, traces);
}
