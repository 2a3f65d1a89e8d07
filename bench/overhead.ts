// Per-job overhead of a trivial job (/bin/true): ringfence's runJob (with the default `--fs overlay`,
// and with `--fs host` to price the overlay) beside bare child_process.spawn, `unshare` with the same
// namespaces, and `bwrap` with the same namespaces, all in one run, rounds interleaved so a noisy
// neighbour hits every contender alike. The order rotates every round: the
// kernel tears network namespaces down asynchronously, and whoever runs right after a contender that
// made one pays for that teardown, so no contender may always follow the same one.
// Prints medians and ratios. With --trace, then the phases of ringfence's own jobs (RunOptions.trace:
// the harness's steps and the launcher's, on one clock) as a table of medians.
// --only network: only the two rows the allow-list's figure comes from (`--network none` and
// `allow:…`), no deadline, and --trace compares those two instead of the filesystem modes.
//   npm run bench -- [--runs 200] [--trace] [--deadline-runs 20] [--only network]
// Also: deadline → empty cgroup for a 50-process tree at its wall-clock timeout, median and p90.
import { performance } from 'node:perf_hooks';
import {
  LAUNCHER_PHASES,
  bwrapArgv,
  killAndReapNatively,
  median,
  medianAt,
  p90,
  phaseOrder,
  spawnAndWait,
  which,
  type Trace,
} from './support.js';
import { runJob } from '../harness/run-job.js';
import { resolveJobSpec } from '../harness/job/spec.js';

const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 200;
const WARMUP = 10;
const deadlineFlag = process.argv.indexOf('--deadline-runs');
const DEADLINE_RUNS = deadlineFlag > 0 ? Number(process.argv[deadlineFlag + 1]) : 20;
const onlyFlag = process.argv.indexOf('--only');
const ONLY = onlyFlag > 0 ? process.argv[onlyFlag + 1] : undefined;
if (ONLY !== undefined && ONLY !== 'network') throw new Error(`--only ${ONLY}: only 'network' is known`);
const NETWORK_ONLY = ONLY === 'network';

type Contender = { name: string; run: () => Promise<void> };

const contenders: Contender[] = NETWORK_ONLY
  ? []
  : [{ name: 'bare spawn', run: () => spawnAndWait(['/bin/true']) }];
if (!NETWORK_ONLY && which('unshare')) {
  contenders.push({
    name: 'unshare',
    run: () =>
      spawnAndWait([
        'unshare',
        '--fork',
        '--pid',
        '--mount-proc',
        '--uts',
        '--ipc',
        '--net',
        '--mount',
        '/bin/true',
      ]),
  });
}
const bwrap = NETWORK_ONLY ? null : which('bwrap');
if (bwrap) {
  contenders.push({
    name: 'bwrap',
    run: () => spawnAndWait(bwrapArgv(bwrap, ['/bin/true'])),
  });
} else if (!NETWORK_ONLY) {
  console.log('bwrap not found (apt-get install bubblewrap): its column is left out');
}
const OURS = 'ringfence runJob';
const HOST_FS = 'ringfence --fs host';
const ALLOW = 'ringfence --network allow';
const DISK = 'ringfence --disk auto';
for (const [name, fs, extra] of [
  [OURS, 'overlay', {}],
  [HOST_FS, 'host', {}],
  // the allow-list's namespace, listener and proxy registration (nothing is fetched): priced against OURS
  [ALLOW, 'overlay', { network: 'allow:registry.invalid:443' }],
  // the Vitest pool's and ci's defaults (auto: 1g and 100 000 files as root, the workdir left live):
  // /tmp and the layers on a capped loop ext4 of the job's own
  [DISK, 'overlay', { disk: 'auto', files: 'auto' }],
] as const) {
  if (NETWORK_ONLY && name !== OURS && name !== ALLOW) continue;
  const spec = resolveJobSpec({ command: ['/bin/true'], memory: '256m', pidsLimit: 64, fs, ...extra });
  contenders.push({
    name,
    run: async () => {
      const result = await runJob(spec);
      if (result.status !== 'passed') throw new Error(`ringfence: ${result.reason}`);
    },
  });
}

const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
for (let round = 0; round < WARMUP + RUNS; round++) {
  const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
  for (const contender of order) {
    const start = performance.now();
    await contender.run();
    const ms = performance.now() - start;
    if (round >= WARMUP) samples.get(contender.name)!.push(ms);
  }
}

const medians = new Map([...samples].map(([name, values]) => [name, median(values)]));
const ours = medians.get(OURS)!;

console.log(`\nper-job wall time of /bin/true, ${RUNS} runs each (after ${WARMUP} warm-up), interleaved:\n`);
console.log(
  `${'contender'.padEnd(20)} ${'median ms'.padStart(10)} ${'p90 ms'.padStart(8)} ${'ringfence ÷ it'.padStart(15)}`,
);
for (const [name, values] of samples) {
  const m = medians.get(name)!;
  console.log(
    `${name.padEnd(20)} ${m.toFixed(2).padStart(10)} ${p90(values).toFixed(2).padStart(8)} ${(ours / m).toFixed(2).padStart(14)}×`,
  );
}
/** A price, paired: per round, `of`'s job minus the same round's `against` (a noisy moment hits both). */
function pairedPrice(of: string, against: string, what: string, over: string, target: number): void {
  const a = samples.get(of);
  const b = samples.get(against);
  if (!a || !b) return;
  const paired = median(a.map((ms, i) => ms - b[i]!));
  const sign = paired >= 0 ? '+' : '';
  console.log(
    `${what} costs ${sign}${paired.toFixed(2)} ms a job over ${over} (median of per-round differences; target ≤ ${target} ms)`,
  );
}
console.log('');
pairedPrice(OURS, HOST_FS, '--fs overlay (the default)', '--fs host', 1);
pairedPrice(ALLOW, OURS, '--network allow:…', '--network none', 1);
// the disk cap's price, paired the same way against the same round's uncapped overlay job
pairedPrice(DISK, OURS, '--disk auto (1g, 100000 files)', 'no cap', 0.3);
console.log(
  'ringfence does cgroup creation, caps (memory, pids), accounting, the overlay and its report, and removal on top of the namespaces.',
);

// deadline → empty cgroup: a job of 50 processes (sh and 49 sleeps… every one a task of its cgroup)
// hits its wall-clock timeout; from the deadline (the clock's start plus the timeout) to runJob's
// return, which comes after the cgroup was frozen, killed, thawed and seen empty. Target: within
// 1.25× the floor below, median and p90.
// Beside it, in the same rounds, the floor no sandbox can go below: 50 bare sleeps (no namespace, no
// cgroup) SIGKILLed and reaped with blocking waitpid calls, outside Node's event loop, as the
// launcher reaps — what the kernel's exits cost on this machine, with nothing frozen or snapshotted.
// Then where the milliseconds after the deadline went: the kill path's phases, from the traces.
if (!NETWORK_ONLY) {
  const TIMEOUT_MS = 600;
  const tree = resolveJobSpec({
    command: ['sh', '-c', 'for i in $(seq 49); do sleep 600 & done; wait'],
    memory: '256m',
    pidsLimit: 128,
    timeout: `${TIMEOUT_MS}ms`,
  });
  const latencies: number[] = [];
  const floor: number[] = [];
  const afterDeadline: Trace[] = [];
  let short = 0;
  for (let i = 0; i < 3 + DEADLINE_RUNS; i++) {
    const start = performance.now();
    const result = await runJob(tree, { trace: true });
    const end = performance.now();
    if (result.status !== 'timeout')
      throw new Error(`the 50-process job ended ${result.status}: ${result.reason}`);
    const killed = result.diagnostics.processTree?.length ?? 0;
    if (killed < 50) {
      // a loaded host had not started the whole tree by the deadline: that round measures less
      if (++short > DEADLINE_RUNS) throw new Error(`only ${killed} processes were running at the deadline`);
      i--;
      continue;
    }
    // the timeout counts from the clock's start, just after the gate's release
    const clock = result.trace?.find((t) => t.phase === 'deadlines armed')?.ms ?? 0;
    const bare = killAndReapNatively(50);
    if (i >= 3) {
      const deadline = clock + TIMEOUT_MS;
      latencies.push(end - (start + deadline));
      floor.push(bare);
      afterDeadline.push([
        ...(result.trace ?? []).filter((t) => t.ms >= deadline).map((t) => ({ ...t, ms: t.ms - deadline })),
        { phase: 'runJob returned', ms: end - (start + deadline) },
      ]);
    }
  }
  console.log(
    `\ndeadline → empty cgroup, a 50-process tree, ${DEADLINE_RUNS} runs${short ? ` (${short} rerun: the tree was not whole by the deadline)` : ''}: median ${median(latencies).toFixed(1)} ms, p90 ${p90(latencies).toFixed(1)} ms`,
  );
  console.log(
    `the floor, 50 bare sleeps SIGKILLed and reaped by waitpid: median ${median(floor).toFixed(1)} ms, p90 ${p90(floor).toFixed(1)} ms — ringfence is ${(median(latencies) / median(floor)).toFixed(2)}× the floor at the median, ${(p90(latencies) / p90(floor)).toFixed(2)}× at p90 (target ≤ 1.25×)`,
  );
  console.log('the kill path, medians in ms after the deadline:');
  for (const phase of phaseOrder(afterDeadline)) {
    const at = medianAt(afterDeadline, phase);
    if (at !== null) console.log(`  ${phase.padEnd(18)} ${at.toFixed(1).padStart(6)}`);
  }
}

if (process.argv.includes('--trace')) {
  // the same job again, traced, in two modes interleaved: where its milliseconds go, phase by phase,
  // and which phases the first mode (the overlay; with --only network, the allow-list) makes longer
  const base = { command: ['/bin/true'], memory: '256m', pidsLimit: 64 } as const;
  const [first, second] = NETWORK_ONLY
    ? ([
        ['allow', resolveJobSpec({ ...base, network: 'allow:registry.invalid:443' })],
        ['none', resolveJobSpec(base)],
      ] as const)
    : ([
        ['overlay', resolveJobSpec({ ...base, fs: 'overlay' })],
        ['host', resolveJobSpec({ ...base, fs: 'host' })],
      ] as const);
  const modes = [first, second];
  const traces: Trace[][] = [[], []];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const m of i % 2 ? [1, 0] : [0, 1]) {
      // both modes on the bench's clock, to runJob's return: the whole of what one costs over the other
      const origin = process.hrtime.bigint();
      const result = await runJob(modes[m]![1], { trace: true, traceOrigin: origin });
      const returned = { phase: 'runJob returned', ms: Number(process.hrtime.bigint() - origin) / 1e6 };
      if (i >= WARMUP && result.trace) traces[m]!.push([...result.trace, returned]);
    }
  }
  // phases in the order of their median times (the first mode's run decides)
  const order = phaseOrder(traces[0]!, traces[1]!);
  console.log(
    `\nphases of one ringfence job (/bin/true), ${traces[0]!.length} traced runs per mode, interleaved, medians in ms since runJob was called:\n`,
  );
  const [a, b] = [`${first[0]} at`, `${second[0]} at`];
  console.log(
    `${'phase'.padEnd(20)} ${a.padStart(11)} ${'step'.padStart(7)} ${b.padStart(9)} ${'step'.padStart(7)} ${'Δ step'.padStart(7)}  done by`,
  );
  const previous = [0, 0];
  for (const phase of order) {
    const cells: string[] = [];
    const steps: (number | null)[] = [];
    for (const m of [0, 1]) {
      const t = medianAt(traces[m]!, phase);
      const step = t === null ? null : t - previous[m]!;
      if (t !== null) previous[m] = t;
      steps.push(step);
      cells.push((t === null ? '—' : t.toFixed(3)).padStart(m === 0 ? 11 : 9));
      cells.push((step === null ? '—' : step.toFixed(3)).padStart(7));
    }
    const delta = steps[0] != null && steps[1] != null ? (steps[0] - steps[1]).toFixed(3) : '—';
    const who = LAUNCHER_PHASES.has(phase) ? 'launcher' : 'harness';
    console.log(`${phase.padEnd(20)} ${cells.join(' ')} ${delta.padStart(7)}  ${who}`);
  }
}
