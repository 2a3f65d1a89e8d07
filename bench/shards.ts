// Shards balanced by what each job cost last time, against the splits that ignore it. Two parts, each
// a generated workload with skewed durations (a seeded draw, the same every run), run once whole to
// make the history, then as 4 shards one after another, split both ways:
//   ci:     48 `sleep` jobs (0.05–1.5 s, two pairs joined by `needs`), `ringfence ci --shard i/4`
//           by count against `--shard i/4 --balance history.json`, each shard at --concurrency 2;
//   Vitest: 40 test files that wait 0.05–1.5 s, the ringfence pool, maxWorkers 2, Vitest's own
//           `--shard i/4` against the same with the ringfence sequencer reading the history.
// Then queue mode (--part queue): the ci part's 48 jobs on one Redis shared by 3 workers
// (--concurrency 1 each), one SIGKILLed mid-job; prints the makespan against the ideal — the work
// spread over 3 workers until the kill and 2 after it (target ≤ 1.15×) — and checks that every
// job ended once and passed.
// A shard's time is its results file's wallMs (the jobs' span: no process start). With --rounds N the
// two splits alternate N times and each shard's time is its median. Prints each shard's time and
// slowest ÷ fastest for each split (target ≤ 1.10 balanced); every shard must pass and the balanced
// shards must merge. Needs root and the built dist.
//   node --import tsx bench/shards.ts [--part ci|vitest|queue] [--rounds 1]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from '../reporters/types.js';
import { median } from './support.js';
import { startRedis } from '../test/support/redis.js';

const SHARDS = 4;
const TARGET = 1.1;
const QUEUE_TARGET = 1.15;
const WORKERS = 3;
const JOBS = 48;
const FILES = 40;
const MIN_S = 0.05;
const MAX_S = 1.5;

const flag = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const PART = flag('--part', 'all');
const ROUNDS = Number(flag('--rounds', '1'));

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'harness', 'cli', 'main.js');
const vitest = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs');

if (!fs.existsSync(path.join(repo, 'dist', 'harness', 'vitest', 'sequencer.js'))) {
  console.log('dist/ is missing: npm run build');
  process.exit(1);
}

/** mulberry32: the same skewed durations on every run of the bench. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Most short, a few long: u³ spread over MIN_S..MAX_S, in seconds with two decimals. */
function durations(count: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => Number((MIN_S + (MAX_S - MIN_S) * next() ** 3).toFixed(2)));
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}): void {
  const out = spawnSync(process.execPath, argv, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 300_000,
  });
  if (out.status !== 0) {
    const tail = `${out.stdout}${out.stderr}`.trimEnd().split('\n').slice(-20).join('\n');
    throw new Error(`${argv.slice(1).join(' ')} exited ${out.status}\n${tail}`);
  }
}

const read = (file: string): RunReport => JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport;
const seconds = (ms: number): string => (ms / 1000).toFixed(2);

interface Split {
  name: string;
  balanced: boolean;
  /** Runs shard `index` (1-based), its results to `results`. */
  shard: (index: number, results: string) => void;
}

/**
 * Every split's shards one after another, the splits alternating for `ROUNDS` rounds; then each
 * shard's median time, and the plan's expected times of a balanced split. Returns whether the
 * balanced splits met the target.
 */
function measure(work: string, title: string, splits: Split[]): boolean {
  const walls = splits.map(() => Array.from({ length: SHARDS }, (): number[] => []));
  const planned = new Map<number, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = splits.map((_, i) => (i + round) % splits.length);
    for (const s of order) {
      const split = splits[s]!;
      const files = Array.from({ length: SHARDS }, (_, i) => path.join(work, `${s}-${round}-${i + 1}.json`));
      files.forEach((file, i) => split.shard(i + 1, file));
      files.forEach((file, i) => walls[s]![i]!.push(read(file).wallMs));
      if (split.balanced) {
        run([cli, 'merge', ...files]); // one plan, every job in exactly one shard
        planned.set(s, read(files[0]!).plan?.shards.map((shard) => shard.expectedMs ?? 0) ?? []);
      }
    }
  }
  console.log(`\n${title}${ROUNDS > 1 ? ` (each shard's median of ${ROUNDS} rounds)` : ''}`);
  let met = true;
  splits.forEach((split, s) => {
    const times = walls[s]!.map((list) => median(list));
    const ratio = Math.max(...times) / Math.min(...times);
    if (split.balanced && ratio > TARGET) met = false;
    const verdict = split.balanced
      ? `  (target ≤ ${TARGET.toFixed(2)}: ${ratio <= TARGET ? 'met' : 'NOT met'})`
      : '';
    console.log(
      `  ${split.name.padEnd(26)} shards ${times.map(seconds).join(' ')} s   slowest ÷ fastest ${ratio.toFixed(2)}${verdict}`,
    );
    const plan = planned.get(s);
    if (plan)
      console.log(
        `  ${''.padEnd(26)} the plan: each shard's jobs took ${plan.map(seconds).join(' ')} s last time`,
      );
  });
  return met;
}

/** The ci part's manifest: JOBS `sleep` jobs, two pairs joined by needs. */
function writeManifest(work: string): { manifest: string; times: number[] } {
  const times = durations(JOBS, 31);
  const jobs = times.map((s, i) => {
    // two pairs joined by needs: groups the plan keeps in one shard
    const need = i === 7 ? 'job-06' : i === 21 ? 'job-20' : null;
    return `  - name: job-${String(i).padStart(2, '0')}\n    command: sleep ${s}\n${need ? `    needs: [${need}]\n` : ''}`;
  });
  const manifest = path.join(work, 'shards.yml');
  fs.writeFileSync(manifest, `name: shards-bench\njobs:\n${jobs.join('')}`);
  return { manifest, times };
}

function ciPart(work: string): boolean {
  const { manifest, times } = writeManifest(work);
  const sum = times.reduce((a, b) => a + b, 0);
  console.log(
    `ci: ${JOBS} jobs, sleep ${Math.min(...times)}–${Math.max(...times)} s, ${sum.toFixed(1)} s in all`,
  );
  const history = path.join(work, 'ci-history.json');
  run([cli, 'ci', manifest, '--concurrency', '2', '--json', history]);
  const ci = (extra: string[]) => (index: number, results: string) =>
    run([
      cli,
      'ci',
      manifest,
      '--shard',
      `${index}/${SHARDS}`,
      '--concurrency',
      '2',
      ...extra,
      '--json',
      results,
    ]);
  return measure(work, `ci: ${SHARDS} shards one after another, --concurrency 2`, [
    { name: 'by count (manifest only)', balanced: false, shard: ci([]) },
    { name: '--balance', balanced: true, shard: ci(['--balance', history]) },
  ]);
}

function vitestPart(work: string): boolean {
  const times = durations(FILES, 47);
  const suite = path.join(work, 'suite');
  fs.mkdirSync(suite);
  times.forEach((s, i) =>
    fs.writeFileSync(
      path.join(suite, `f${String(i).padStart(2, '0')}.test.ts`),
      `import { test } from 'vitest';\n\ntest('waits ${s} s', async () => {\n` +
        `  await new Promise((resolve) => setTimeout(resolve, ${Math.round(s * 1000)}));\n});\n`,
    ),
  );
  const config = path.join(suite, 'vitest.config.ts');
  fs.writeFileSync(
    config,
    `import { defineConfig } from 'vitest/config';\n` +
      `import { ringfence } from 'ringfence/vitest';\n` +
      `import { RingfenceReporter } from 'ringfence/vitest/reporter';\n` +
      `import { balancedSequencer } from 'ringfence/vitest/sequencer';\n\n` +
      `export default defineConfig({\n  test: {\n    pool: ringfence(),\n    isolate: true,\n    maxWorkers: 2,\n` +
      `    include: ['*.test.ts'],\n    sequence: { sequencer: balancedSequencer() },\n` +
      `    reporters: [new RingfenceReporter({ json: process.env.RESULTS })],\n  },\n});\n`,
  );
  const sum = times.reduce((a, b) => a + b, 0);
  console.log(
    `\nVitest: ${FILES} files, waiting ${Math.min(...times)}–${Math.max(...times)} s, ${sum.toFixed(1)} s in all`,
  );
  // without RINGFENCE_BALANCE the sequencer leaves the split and the order to Vitest
  const vitestRun = (results: string, args: string[], balance?: string): void =>
    run([vitest, 'run', '--root', suite, '--config', config, ...args], {
      RESULTS: results,
      ...(balance ? { RINGFENCE_BALANCE: balance } : {}),
    });
  const history = path.join(work, 'vitest-history.json');
  vitestRun(history, []);
  const shard = (balance?: string) => (index: number, results: string) =>
    vitestRun(results, ['--shard', `${index}/${SHARDS}`], balance);
  return measure(work, `Vitest: ${SHARDS} shards one after another, the ringfence pool, maxWorkers 2`, [
    { name: "Vitest's own --shard", balanced: false, shard: shard() },
    { name: 'the ringfence sequencer', balanced: true, shard: shard(history) },
  ]);
}

/** Whether a process of `ancestor`'s tree runs `sleep` (a job of that worker is mid-run). */
function runsSleep(ancestor: number): boolean {
  const parent = new Map<number, number>();
  const sleeping: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('sleep\0')) sleeping.push(Number(name));
    } catch {
      // exited while listing
    }
  }
  return sleeping.some((pid) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === ancestor) return true;
    return false;
  });
}

async function queuePart(work: string): Promise<boolean> {
  const { manifest } = writeManifest(work);
  const redis = await startRedis();
  try {
    const args = ['ci', manifest, '--queue', redis.url, '--run-id', 'bench', '--concurrency', '1'];
    const workers = Array.from({ length: WORKERS }, () =>
      spawn(process.execPath, [cli, ...args, '--stall-timeout', '2s'], { cwd: repo, stdio: 'ignore' }),
    );
    const exits = workers.map(
      (child) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
    );
    const victim = workers[0]!;
    // a third of the way through, the victim mid-job
    const started = Date.now();
    while (Date.now() - started < 2500 || !runsSleep(victim.pid!))
      await new Promise((resolve) => setTimeout(resolve, 20));
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    const codes = await Promise.all(exits.slice(1));
    if (codes.some((code) => code !== 0)) throw new Error(`a queue worker exited ${codes.join(', ')}`);
    const merged = path.join(work, 'queue.json');
    run([cli, 'merge', '--queue', redis.url, '--run-id', 'bench', '--json', merged]);
    const report = read(merged);
    const ids = new Set(report.jobs.map((job) => job.id));
    if (ids.size !== JOBS || report.jobs.length !== JOBS) throw new Error('queue: a job lost or doubled');
    const start = Date.parse(report.startedAt);
    const makespan = Date.parse(report.finishedAt) - start;
    const workMs = report.jobs.reduce((sum, job) => sum + (job.result?.wallMs ?? 0), 0);
    const beforeKill = killedAt - start;
    // the same work on WORKERS workers until the kill and one fewer after it, none idle
    const ideal = Math.max(
      ...report.jobs.map((job) => job.result?.wallMs ?? 0),
      workMs <= WORKERS * beforeKill ? workMs / WORKERS : (workMs - beforeKill) / (WORKERS - 1),
    );
    const ratio = makespan / ideal;
    const workers_ = new Set(report.jobs.map((job) => job.worker)).size;
    console.log(
      `\nqueue: ${JOBS} jobs (${seconds(workMs)} s of work), ${WORKERS} workers at --concurrency 1, one SIGKILLed mid-job ${seconds(beforeKill)} s in`,
    );
    console.log(
      `  every job once (${ids.size} entries, from ${workers_} workers), all ${report.jobs.every((j) => j.outcome === 'passed') ? 'passed' : 'NOT passed'}`,
    );
    console.log(
      `  makespan ${seconds(makespan)} s, ideal ${seconds(ideal)} s: ${ratio.toFixed(2)}× (target ≤ ${QUEUE_TARGET.toFixed(2)}×: ${ratio <= QUEUE_TARGET ? 'met' : 'NOT met'})`,
    );
    return ratio <= QUEUE_TARGET && report.jobs.every((j) => j.outcome === 'passed');
  } finally {
    await redis.stop();
  }
}

fs.mkdirSync(path.join(repo, 'bench', 'tmp'), { recursive: true });
const work = fs.mkdtempSync(path.join(repo, 'bench', 'tmp', 'shards-'));
let met = true;
try {
  if (PART === 'all' || PART === 'ci') met = ciPart(work) && met;
  if (PART === 'all' || PART === 'vitest') met = vitestPart(work) && met;
  if (PART === 'all' || PART === 'queue') met = (await queuePart(work)) && met;
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
if (!met) process.exitCode = 1;
