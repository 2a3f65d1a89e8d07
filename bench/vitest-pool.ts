// The ringfence Vitest pool beside Vitest's built-in forks pool: the same 50 small test files
// (bench/vitest-suite), `isolate: true`, 2 workers, each run a whole `vitest run` process timed from
// spawn to exit. Runs alternate and the order rotates every round, so a noisy neighbour on the shared
// machine hits both alike. Every run must exit 0 with all 50 files passed. Prints median, min and max
// of each and the ratio ringfence ÷ forks (target ≤ 1.15×). Needs root and the built dist.
//   node --import tsx bench/vitest-pool.ts [--runs 5] [--warmup 1]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median } from './support.js';

const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = flag('--runs', 5);
const WARMUP = flag('--warmup', 1);
const FILES = 50;
const WORKERS = 2;
const TARGET = 1.15;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suite = path.join(repo, 'bench', 'vitest-suite');
const vitest = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs');

if (!existsSync(path.join(repo, 'dist', 'harness', 'vitest', 'pool.js'))) {
  console.log('dist/harness/vitest/pool.js is missing: npm run build');
  execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
}

type Contender = { name: string; config: string };
const contenders: Contender[] = [
  { name: 'forks', config: path.join(suite, 'forks.config.ts') },
  { name: 'ringfence', config: path.join(suite, 'ringfence.config.ts') },
];

type Sample = { wallMs: number; vitestMs: number | null };

/** One whole `vitest run`: its wall time, and the Duration Vitest reports itself (no process start-up). */
function runVitest(contender: Contender): Promise<Sample> {
  const argv = [vitest, 'run', '--config', contender.config, '--root', suite];
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, argv, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - start;
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
      resolve({ wallMs, vitestMs });
    });
  });
}

const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
for (let round = 0; round < WARMUP + RUNS; round++) {
  const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
  for (const contender of order) {
    const sample = await runVitest(contender);
    const label = round < WARMUP ? 'warm-up' : `run ${round - WARMUP + 1}/${RUNS}`;
    console.log(`${label.padEnd(9)} ${contender.name.padEnd(10)} ${(sample.wallMs / 1000).toFixed(2)} s`);
    if (round >= WARMUP) samples.get(contender.name)!.push(sample);
  }
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const walls = (name: string): number[] => samples.get(name)!.map((s) => s.wallMs);
const baseline = median(walls('forks'));

console.log(
  `\nwhole \`vitest run\` of ${FILES} files, isolate: true, maxWorkers ${WORKERS}, ${RUNS} runs each ` +
    `(after ${WARMUP} warm-up), alternating:\n`,
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
// with WORKERS files in flight at once, each file's extra cost is the difference × WORKERS ÷ FILES
const perFileMs = ((ours - baseline) * WORKERS) / FILES;
console.log(
  `\nringfence ÷ forks: ${ratio.toFixed(2)}× (target ≤ ${TARGET.toFixed(2)}×: ${ratio <= TARGET ? 'met' : 'NOT met'})`,
);
console.log(
  `extra per test file: ${perFileMs.toFixed(0)} ms of worker time (namespaces, cgroup, accounting, removal)`,
);
