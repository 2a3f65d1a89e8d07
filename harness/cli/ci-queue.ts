// `ringfence ci MANIFEST --queue redis://HOST:PORT --run-id ID`: this machine's part of a run shared
// through a queue (harness/ci/queue.ts), and `ringfence merge --queue … --run-id ID`: the whole run's
// results. An unreachable Redis or a run id of another manifest is one line and exit 125, before
// any job runs; the flags that split a run otherwise (--shard, --balance, --only, --repeat) are
// refused with ci's exit 2.
import path from 'node:path';
import { Harness } from '../parallel/harness.js';
import { usableCpus } from '../parallel/cpus.js';
import type { Manifest } from '../manifest/types.js';
import { createProgress, outcomeCounts } from '../ci/progress.js';
import { QueueInputError, openRun, readRun, work, type OpenRun, type QueueTarget } from '../ci/queue.js';
import { VERSION } from '../version.js';
import { gitInfo, hostInfo } from '../../reporters/json.js';
import { RESULTS_SCHEMA, type JobEntry, type RunReport } from '../../reporters/types.js';

export const EXIT_QUEUE_UNUSABLE = 125;
const EXIT_INTERRUPTED = 130;

export interface QueueRun {
  target: QueueTarget;
  runId: string;
  /** ms without a sign of life after which a machine's job goes to another. */
  stallMs: number;
  concurrency: number | undefined;
}

/** The results of a queue run, as one unsharded run would have written them. */
export function queueReport(
  manifest: { file: string; name: string },
  defaults: Record<string, unknown>,
  createdAt: string,
  entries: JobEntry[],
  concurrency: number,
): RunReport {
  const finished = entries
    .map((e) => (e.result ? Date.parse(e.result.startedAt) + e.result.wallMs : 0))
    .reduce((a, b) => Math.max(a, b), Date.parse(createdAt));
  return {
    schema: RESULTS_SCHEMA,
    ringfence: { version: VERSION },
    host: hostInfo(
      entries.find((e) => e.result)?.result?.diagnostics.cgroupVersion ?? null,
      entries.find((e) => e.result?.enforcement)?.result?.enforcement,
    ),
    startedAt: createdAt,
    finishedAt: new Date(finished).toISOString(),
    wallMs: finished - Date.parse(createdAt),
    git: gitInfo(path.dirname(manifest.file)),
    manifest,
    shard: null,
    limits: { defaults, concurrency },
    interrupted: false,
    jobs: entries,
  };
}

/**
 * Joins the run, works on it until every job has its entry, and returns ci's exit status with the
 * whole run's report (null when nothing was run: the queue refused, or an interrupt).
 */
export async function ciQueue(
  manifest: Manifest,
  options: QueueRun,
): Promise<{ code: number; report: RunReport | null }> {
  let run: OpenRun;
  try {
    run = await openRun(options.target, options.runId, manifest);
  } catch (error) {
    if (!(error instanceof QueueInputError)) throw error;
    process.stderr.write(`ringfence ci: --queue: ${error.message}\n`);
    return { code: EXIT_QUEUE_UNUSABLE, report: null };
  }
  const lanes = Math.min(options.concurrency ?? usableCpus(), Math.max(1, manifest.jobs.length));
  const harness = new Harness({ concurrency: lanes });
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = createProgress(manifest.jobs.length, process.stderr);
  let done: { entries: JobEntry[]; ranHere: number };
  try {
    process.stderr.write(
      `ringfence ci: run ${options.runId} on ${options.target.url}: ${run.created ? 'started it' : 'joined it'}\n`,
    );
    done = await work(run, {
      harness,
      jobs: manifest.jobs,
      suite: manifest.name,
      stallMs: options.stallMs,
      signal: interrupt.signal,
      onEvent: (event) => progress.onEvent(event),
    });
  } finally {
    progress.stop();
    await harness.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (interrupt.signal.aborted) {
    process.stderr.write(`ringfence ci: interrupted: the jobs running here go back to the queue\n`);
    return { code: EXIT_INTERRUPTED, report: null };
  }
  const report = queueReport(
    run.meta.manifest,
    { ...manifest.defaults },
    run.meta.createdAt,
    done.entries,
    harness.concurrency,
  );
  process.stderr.write(
    `ringfence ci: run ${options.runId}: ${outcomeCounts(done.entries.map((e) => e.outcome))}; ${done.ranHere} ran here\n`,
  );
  const good = done.entries.every((e) => e.outcome === 'passed' || e.outcome === 'flaky');
  return { code: good ? 0 : 1, report };
}

/** `merge --queue URL --run-id ID`: the whole run's report, or a refusal (message and exit status). */
export async function mergeQueue(
  target: QueueTarget,
  runId: string,
): Promise<{ report: RunReport } | { message: string; code: number }> {
  try {
    const run = await readRun(target, runId);
    const workers = new Set(run.entries.map((e) => e.worker).filter(Boolean)).size;
    return { report: queueReport(run.manifest, {}, run.createdAt, run.entries, Math.max(1, workers)) };
  } catch (error) {
    if (error instanceof QueueInputError) return { message: error.message, code: EXIT_QUEUE_UNUSABLE };
    return { message: (error as Error).message, code: 2 };
  }
}
