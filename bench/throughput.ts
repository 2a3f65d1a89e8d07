// Jobs per second at a fixed concurrency: ringfence's Harness (piscina pool, every job in its own
// sandbox and cgroup) beside bare child_process.spawn and bwrap with the same namespaces, the same
// number at once, in one run. Prints jobs/s and ratios.
//   npm run bench:throughput -- [--jobs 300] [--concurrency 2]
import { performance } from 'node:perf_hooks';
import { bwrapArgv, spawnAndWait, which } from './support.js';
import { Harness } from '../harness/pool.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('--jobs', 300);
const CONCURRENCY = arg('--concurrency', 2);

/** Runs `count` tasks, `concurrency` at a time; returns jobs per second. */
async function rate(count: number, concurrency: number, task: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await task();
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

const rates = new Map<string, number>();
rates.set('bare spawn', await rate(JOBS, CONCURRENCY, () => spawnAndWait(['/bin/true'])));
const bwrap = which('bwrap');
if (bwrap) {
  const argv = bwrapArgv(bwrap, ['/bin/true']);
  rates.set('bwrap', await rate(JOBS, CONCURRENCY, () => spawnAndWait(argv)));
} else console.log('bwrap not found (apt-get install bubblewrap): its row is left out');
const harness = new Harness({ concurrency: CONCURRENCY });
await harness.run({ command: ['/bin/true'] }); // start the workers outside the timing
rates.set(
  'ringfence Harness',
  await rate(JOBS, CONCURRENCY, async () => {
    const result = await harness.run({ command: ['/bin/true'], memory: '256m', pidsLimit: 64 });
    if (result.status !== 'passed') throw new Error(result.reason);
  }),
);
await harness.close();

const ours = rates.get('ringfence Harness')!;
console.log(`\n${JOBS} trivial jobs (/bin/true), ${CONCURRENCY} at a time:\n`);
console.log(`${'contender'.padEnd(20)} ${'jobs/s'.padStart(8)} ${'ringfence ÷ it'.padStart(15)}`);
for (const [name, value] of rates)
  console.log(
    `${name.padEnd(20)} ${value.toFixed(1).padStart(8)} ${(ours / value).toFixed(2).padStart(14)}×`,
  );
