// `ringfence ci MANIFEST`: a manifest of jobs, run in parallel sandboxes on the piscina pool, with a
// live view and JSON / JUnit reports. Exit 0 all passed, 1 any failed, 2 manifest, flag or report
// path invalid, 3 a report could not be written after the run, 130 interrupted. An invalid manifest,
// flag or report path is refused before anything runs and writes no report.
// `--repeat N` runs the whole manifest N times, one round after another, into one results file (each
// entry tagged with its `repeat`): the samples `compare` needs to tell a change from noise.
// `--baseline FILE` prints the comparison against earlier results at the end; the exit status stays
// the jobs' own (`ringfence compare` is the gate).
// `--shard i/n` runs one shard of a plan every shard works out alike: by job count, or with
// `--balance PREVIOUS` by each job's wall time in earlier results (harness/ci/shard-plan.ts); the
// plan's digest goes into the results, for `merge`. A history that cannot be read exits 125 before
// anything runs. `--dry-run` prints the plan and runs nothing.
// `--queue redis://HOST:PORT --run-id ID` works on a run shared with other machines instead
// (harness/cli/ci-queue.ts): an unreachable Redis or a run id of another manifest exits 125.
import type { Command } from 'commander';
import path from 'node:path';
import { Harness } from '../parallel/harness.js';
import { usableCpus } from '../parallel/cpus.js';
import { loadManifest } from '../manifest/load.js';
import { closureOfNeeds, parseShard } from '../manifest/graph.js';
import { ManifestError, type Manifest, type ManifestJob } from '../manifest/types.js';
import { runScheduled } from '../ci/scheduler.js';
import { loadHistory, type History } from '../ci/history.js';
import { planBalanced, planByCount, type ShardPlan } from '../ci/shard-plan.js';
import { describePlan } from '../ci/plan-text.js';
import { createProgress, outcomeCounts } from '../ci/progress.js';
import { VERSION } from '../version.js';
import { parseDuration, parseInteger, InputError } from '../job/units.js';
import { parseQueueUrl, parseRunId } from '../ci/queue.js';
import type { QueueRun } from './ci-queue.js';
import { gitInfo, hostInfo, writeResultsFile } from '../../reporters/json.js';
import { ReportWriteError, assertWritable } from '../../reporters/atomic.js';
import { RESULTS_SCHEMA, type JobEntry, type RunReport } from '../../reporters/types.js';
import { expectedDiskCaps } from '../job/enforce.js';
import { prepareDiskTemplates } from '../job/scratch.js';
import { resolveJobSpec } from '../job/spec.js';
import type { DiskCaps } from '../fs/disk.js';
import type { Side } from '../../reporters/compare/index.js';
import { CompareInputError } from '../../reporters/compare/runs.js';

export const EXIT_MANIFEST_INVALID = 2;
export const EXIT_INTERRUPTED = 130;
/** The jobs ran, but a report could not be written (the disk filled up during the run). */
export const EXIT_REPORT_UNWRITTEN = 3;
/** The `--balance` history cannot be used (unreadable, not results, truncated): nothing ran. */
export const EXIT_BAD_HISTORY = 125;

const GOOD: readonly string[] = ['passed', 'flaky'];

interface CiFlags {
  concurrency?: string;
  json?: string;
  junit?: string;
  shard?: string;
  only?: string[];
  failFast?: boolean;
  repeat?: string;
  baseline?: string[];
  balance?: string[];
  dryRun?: boolean;
  queue?: string;
  runId?: string;
  stallTimeout?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function ciCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('ci')
    .description('run a manifest of jobs in parallel sandboxes, with JSON and JUnit reports')
    .argument('<manifest>', 'YAML or JSON manifest (see fixtures/demo.yml)')
    .option('--concurrency <n>', 'jobs at once (default: the CPUs this process may use)')
    .option('--json <file>', 'write the results (the versioned JSON schema) to file')
    .option('--junit <file>', 'write a JUnit XML report to file')
    .option(
      '--shard <i/n>',
      'run only the i-th of n deterministic shards (a job and its needs stay together)',
    )
    .option(
      '--balance <results>',
      "with --shard: plan the shards by each job's wall time in these earlier results (JSON or JUnit, a comma-separated list, or a directory; repeatable)",
      collect,
      [],
    )
    .option('--dry-run', "print the shard plan (each shard's jobs and expected time) and run nothing")
    .option(
      '--queue <redis://host:port>',
      'share the run with other machines through a queue in this Redis (with --run-id)',
    )
    .option('--run-id <id>', 'the shared run to join (with --queue): the same id on every machine')
    .option(
      '--stall-timeout <duration>',
      'with --queue: a machine silent this long is taken for dead, and its job runs elsewhere (default 10s)',
    )
    .option('--only <name...>', 'run only these jobs (and what they need)')
    .option('--fail-fast', 'stop at the first job that fails: abort running jobs, start no more')
    .option('--repeat <n>', 'run the whole manifest n times, one round after another, into one results file')
    .option(
      '--baseline <file>',
      'at the end, print the comparison against these results (JSON or JUnit; repeatable)',
      collect,
      [],
    )
    .action(async (manifestFile: string, flags: CiFlags) => setExit(await ci(manifestFile, flags)));
}

interface Setup {
  manifest: Manifest;
  jobs: ManifestJob[];
  shard: { index: number; total: number } | null;
  /** The whole plan this shard is part of (every shard's jobs); null without --shard. */
  shardPlan: ShardPlan | null;
  history: History | null;
  concurrency: number | undefined;
  repeat: number;
  queue: QueueRun | null;
}

function setup(manifestFile: string, flags: CiFlags): Setup {
  const manifest = loadManifest(path.resolve(manifestFile));
  let jobs = manifest.jobs;
  const shard = flags.shard === undefined ? null : parseShard(flags.shard);
  const balance = flags.balance ?? [];
  if (balance.length && !shard)
    throw new InputError('balance', 'plans shards: give --shard i/n too (e.g. --shard 1/4)');
  const concurrency =
    flags.concurrency === undefined ? undefined : parseInteger('concurrency', flags.concurrency, 1, 1024);
  const repeat = flags.repeat === undefined ? 1 : parseInteger('repeat', flags.repeat, 1, 1000);
  const queue = queueOf(flags, concurrency);
  if (flags.only?.length) jobs = closureOfNeeds(manifest.jobs, flags.only, manifest.file);
  // read last: a flag or manifest error is told first, and a history error has its own exit status
  const history = balance.length ? loadHistory(balance) : null;
  let shardPlan: ShardPlan | null = null;
  if (shard) {
    shardPlan = history
      ? planBalanced(jobs, shard.total, (name) => history.wallOf(name, manifest.name))
      : planByCount(jobs, shard.total);
    const byName = new Map(jobs.map((job) => [job.name, job]));
    jobs = (shardPlan.shards[shard.index - 1]?.jobs ?? []).map((name) => byName.get(name) as ManifestJob);
  }
  // the manifest itself: read-only to its jobs (where their workdir holds it), never written back
  jobs = jobs.map((job) => ({ ...job, spec: { ...job.spec, guardedPaths: [manifest.file] } }));
  return { manifest, jobs, shard, shardPlan, history, concurrency, repeat, queue };
}

/** --queue and --run-id, checked; null without them. Throws InputError. */
function queueOf(flags: CiFlags, concurrency: number | undefined): QueueRun | null {
  if (flags.queue === undefined) {
    if (flags.runId !== undefined) throw new InputError('run-id', 'names a queue run: give --queue too');
    if (flags.stallTimeout !== undefined) throw new InputError('stall-timeout', 'applies to --queue only');
    return null;
  }
  if (flags.runId === undefined)
    throw new InputError('queue', 'needs --run-id ID: the same id on every machine of the run');
  const clash = (
    [
      ['shard', flags.shard],
      ['balance', flags.balance?.length ? flags.balance : undefined],
      ['only', flags.only?.length ? flags.only : undefined],
      ['repeat', flags.repeat],
      ['fail-fast', flags.failFast],
      ['baseline', flags.baseline?.length ? flags.baseline : undefined],
      ['dry-run', flags.dryRun],
    ] as const
  ).find(([, value]) => value !== undefined && value !== false);
  if (clash) throw new InputError('queue', `cannot be combined with --${clash[0]}: the queue splits the run`);
  return {
    target: parseQueueUrl(flags.queue),
    runId: parseRunId(flags.runId),
    stallMs: flags.stallTimeout === undefined ? 10_000 : parseDuration('stall-timeout', flags.stallTimeout),
    concurrency,
  };
}

async function ci(manifestFile: string, flags: CiFlags): Promise<number> {
  let p: Setup;
  try {
    p = setup(manifestFile, flags);
  } catch (error) {
    if (error instanceof CompareInputError) {
      process.stderr.write(`ringfence ci: --balance: ${error.message}\n`);
      return EXIT_BAD_HISTORY;
    }
    if (error instanceof ManifestError || error instanceof InputError) {
      process.stderr.write(
        `ringfence ci: ${error instanceof InputError ? `--${error.field}: ${error.reason}` : error.message}\n`,
      );
      return EXIT_MANIFEST_INVALID;
    }
    throw error;
  }
  if (flags.dryRun) {
    const needs = new Map(p.manifest.jobs.map((job) => [job.name, job.needs]));
    process.stdout.write(describePlan(p.shardPlan ?? planByCount(p.jobs, 1), p.history, needs));
    return 0;
  }
  try {
    // a report with nowhere to go is refused now, not after the whole run
    if (flags.json) assertWritable(flags.json);
    if (flags.junit) assertWritable(flags.junit);
  } catch (error) {
    if (!(error instanceof ReportWriteError)) throw error;
    const flag = flags.json && path.resolve(flags.json) === error.path ? '--json' : '--junit';
    process.stderr.write(`ringfence ci: ${flag}: ${error.message}\n`);
    return EXIT_MANIFEST_INVALID;
  }
  if (p.queue) return ciOnQueue(p, flags);
  // the comparison's modules, and the JUnit writer's (below), load only when asked for: a run
  // without them starts its first job sooner
  const compare = flags.baseline?.length ? await import('../../reporters/compare/index.js') : null;
  let baseline: Side | null = null;
  try {
    // read now: an unreadable baseline is refused before anything runs, and a baseline that is also
    // the --json file is read before this run overwrites it
    if (compare && flags.baseline)
      baseline = compare.loadSide(flags.baseline.map((file) => path.resolve(file)));
  } catch (error) {
    if (!compare || !(error instanceof compare.CompareInputError)) throw error;
    process.stderr.write(`ringfence ci: --baseline: ${error.message}\n`);
    return EXIT_MANIFEST_INVALID;
  }
  let harness: Harness;
  try {
    // never more lanes than jobs. Up to two are this thread's (no worker thread to load at all);
    // with more, all are workers: they load side by side and the first jobs start together — a lane
    // on this thread would start its job a worker thread's load time ahead of the others, and
    // jobs meant to run side by side (cpu-shares between siblings: fixtures/priority.yml) would not
    const lanes = Math.min(p.concurrency ?? usableCpus(), Math.max(1, p.jobs.length));
    harness = new Harness({ concurrency: lanes });
  } catch (error) {
    process.stderr.write(`ringfence ci: ${(error as Error).message}\n`);
    return 1;
  }
  // the jobs' capped filesystems need a template (an mke2fs, tens of ms): made on the side while the
  // run starts, not on the first job's path, where the jobs run on this thread
  if (harness.callerLanes > 0) prepareDiskTemplates(diskCapsOf(p.jobs));
  // loaded while the jobs run (this thread mostly waits on them), awaited before the reports
  const junitWriter = flags.junit ? import('../../reporters/junit.js') : null;
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = createProgress(p.jobs.length * p.repeat, process.stderr);
  const startedAt = new Date();
  const entries: JobEntry[] = [];
  try {
    for (let round = 0; round < p.repeat; round++) {
      const failed =
        flags.failFast && entries.some((e) => !GOOD.includes(e.outcome) && e.outcome !== 'aborted');
      const got = failed
        ? p.jobs.map((job): JobEntry => {
            const entry: JobEntry = {
              id: job.name,
              suite: p.manifest.name,
              outcome: 'aborted',
              result: null,
              attempts: [],
              skipReason: 'fail-fast: a job failed in an earlier repeat',
            };
            progress.onEvent({ type: 'end', job, entry });
            return entry;
          })
        : await runScheduled(p.jobs, {
            harness,
            suite: p.manifest.name,
            signal: interrupt.signal,
            failFast: flags.failFast ?? false,
            // a repeated run's log lines say which round: `PASS    hog [2/3] (…)`
            onEvent: (event) =>
              progress.onEvent(
                p.repeat > 1 && event.type === 'end'
                  ? {
                      ...event,
                      entry: { ...event.entry, id: `${event.entry.id} [${round + 1}/${p.repeat}]` },
                    }
                  : event,
              ),
          });
      // a run without --repeat leaves `repeat` out, as before it existed
      entries.push(...(p.repeat > 1 ? got.map((entry) => ({ ...entry, repeat: round })) : got));
    }
  } finally {
    progress.stop();
    await harness.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const finishedAt = new Date();
  const junit = await junitWriter;
  const report: RunReport = {
    schema: RESULTS_SCHEMA,
    ringfence: { version: VERSION },
    host: hostInfo(
      entries.find((e) => e.result)?.result?.diagnostics.cgroupVersion ?? null,
      entries.find((e) => e.result?.enforcement)?.result?.enforcement,
    ),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallMs: finishedAt.getTime() - startedAt.getTime(),
    git: gitInfo(path.dirname(p.manifest.file)),
    manifest: { file: p.manifest.file, name: p.manifest.name },
    shard: p.shard,
    limits: { defaults: { ...p.manifest.defaults }, concurrency: harness.concurrency },
    interrupted: interrupt.signal.aborted,
    ...(p.shardPlan
      ? {
          plan: {
            digest: p.shardPlan.digest,
            method: p.shardPlan.method,
            ...(p.history ? { history: p.history.files } : {}),
            shards: p.shardPlan.shards,
          },
        }
      : {}),
    jobs: entries,
  };
  process.stderr.write(
    `ringfence ci: ${outcomeCounts(entries.map((e) => e.outcome))} in ${(report.wallMs / 1000).toFixed(1)}s\n`,
  );
  try {
    if (flags.json) writeResultsFile(path.resolve(flags.json), report);
    if (flags.junit && junit) junit.writeJUnitFile(path.resolve(flags.junit), report);
  } catch (error) {
    // the jobs ran (their summary is above) but a report is lost (a full disk): its own exit status
    process.stderr.write(`ringfence ci: ${(error as Error).message}\n`);
    return EXIT_REPORT_UNWRITTEN;
  }
  if (compare && baseline) process.stderr.write(compare.compareWithBaseline(baseline, report).summary);
  if (interrupt.signal.aborted) return EXIT_INTERRUPTED;
  return entries.every((e) => e.outcome === 'passed' || e.outcome === 'flaky') ? 0 : 1;
}

/** `--queue`: this machine's part of the shared run; the whole run's reports once it is done. */
async function ciOnQueue(p: Setup, flags: CiFlags): Promise<number> {
  const { ciQueue } = await import('./ci-queue.js');
  const { code, report } = await ciQueue(p.manifest, p.queue as QueueRun);
  if (!report) return code;
  try {
    if (flags.json) writeResultsFile(path.resolve(flags.json), report);
    if (flags.junit)
      (await import('../../reporters/junit.js')).writeJUnitFile(path.resolve(flags.junit), report);
  } catch (error) {
    process.stderr.write(`ringfence ci: ${(error as Error).message}\n`);
    return EXIT_REPORT_UNWRITTEN;
  }
  return code;
}

/** The capped filesystems the jobs will have (a template is made once per caps); a bad spec is left to its run. */
function diskCapsOf(jobs: readonly ManifestJob[]): DiskCaps[] {
  return jobs.flatMap((job) => {
    try {
      return expectedDiskCaps(resolveJobSpec(job.spec)) ?? [];
    } catch {
      return []; // its run reports what is wrong with it
    }
  });
}
