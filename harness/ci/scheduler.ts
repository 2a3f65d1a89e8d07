// Runs a manifest's jobs on a Harness: at most `concurrency` at once, each only after its needs
// passed, retries for flaky ones, fail-fast and interruption. What it returns is one JobEntry per
// job — every job accounted for, whether it ran, was skipped or was aborted.
import { setMaxListeners } from 'node:events';
import type { Harness } from '../parallel/harness.js';
import type { JobResult } from '../job/result.js';
import type { ManifestJob } from '../manifest/types.js';
import type { JobEntry } from '../../reporters/types.js';

export type SchedulerEvent =
  | { type: 'start'; job: ManifestJob; attempt: number }
  | { type: 'retry'; job: ManifestJob; attempt: number; result: JobResult }
  | { type: 'end'; job: ManifestJob; entry: JobEntry };

export interface ScheduleOptions {
  harness: Harness;
  suite: string;
  /** Aborting stops dispatch and ends running jobs through the freezer path; the rest are `aborted`. */
  signal?: AbortSignal;
  /** After the first job that fails for good, stop: running jobs are aborted, the rest not started. */
  failFast?: boolean;
  onEvent?: (event: SchedulerEvent) => void;
}

const GOOD = new Set(['passed', 'flaky']);

export async function runScheduled(
  jobs: readonly ManifestJob[],
  options: ScheduleOptions,
): Promise<JobEntry[]> {
  const { harness, suite } = options;
  const entries = new Map<string, JobEntry>();
  const waiting = new Set(jobs.map((job) => job.name));
  const running = new Map<string, Promise<void>>();
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every running job listens on it
  const onOuterAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  const finish = (job: ManifestJob, entry: JobEntry): void => {
    entries.set(job.name, entry);
    options.onEvent?.({ type: 'end', job, entry });
  };

  const runOne = async (job: ManifestJob): Promise<void> => {
    try {
      await attemptAll(job);
    } catch (error) {
      // a bug in a progress callback must not leave the other jobs running unwatched
      stop.abort();
      throw error;
    }
  };

  const attemptAll = async (job: ManifestJob): Promise<void> => {
    const attempts: JobResult[] = [];
    for (let attempt = 1; attempt <= job.retries + 1; attempt++) {
      options.onEvent?.({ type: 'start', job, attempt });
      const result = await harness.run(
        {
          ...job.spec,
          name: job.name,
          extraEnv: { ...job.spec.extraEnv, RINGFENCE_ATTEMPT: String(attempt) },
        },
        { signal: stop.signal },
      );
      attempts.push(result);
      if (result.status === 'passed' || result.status === 'aborted' || stop.signal.aborted) break;
      if (attempt <= job.retries) options.onEvent?.({ type: 'retry', job, attempt, result });
    }
    const last = attempts[attempts.length - 1] ?? null;
    const outcome = last?.status === 'passed' && attempts.length > 1 ? 'flaky' : (last?.status ?? 'aborted');
    finish(job, { id: job.name, suite, outcome, result: last, attempts });
    if (options.failFast && !GOOD.has(outcome) && outcome !== 'aborted') stop.abort();
  };

  // a job is ready when every need ended well; it is skipped as soon as one ended otherwise
  const dispatch = (): void => {
    for (const job of jobs) {
      if (!waiting.has(job.name)) continue;
      const failedNeed = job.needs.find((need) => {
        const ended = entries.get(need);
        return ended !== undefined && !GOOD.has(ended.outcome);
      });
      if (failedNeed !== undefined) {
        waiting.delete(job.name);
        const need = entries.get(failedNeed);
        finish(job, {
          id: job.name,
          suite,
          outcome: 'skipped',
          result: null,
          attempts: [],
          skipReason: `needs ${failedNeed}, which ${need?.outcome === 'skipped' ? 'was skipped' : `ended ${need?.outcome}`}`,
        });
        continue;
      }
      if (stop.signal.aborted || running.size >= harness.concurrency) continue;
      if (!job.needs.every((need) => entries.has(need))) continue;
      waiting.delete(job.name);
      const promise = runOne(job).finally(() => running.delete(job.name));
      running.set(job.name, promise);
    }
  };

  try {
    for (;;) {
      dispatch();
      // skipping can make more jobs skippable: repeat until nothing changes
      let before;
      do {
        before = waiting.size;
        dispatch();
      } while (waiting.size !== before);
      if (running.size === 0) break;
      try {
        await Promise.race(running.values());
      } catch (error) {
        await Promise.allSettled(running.values()); // the rest end through the abort above
        throw error;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }

  for (const job of jobs) {
    if (entries.has(job.name)) continue;
    const reason = options.signal?.aborted
      ? 'the run was interrupted before it started'
      : 'fail-fast: an earlier job failed';
    finish(job, { id: job.name, suite, outcome: 'aborted', result: null, attempts: [], skipReason: reason });
  }
  return jobs.map((job) => entries.get(job.name) as JobEntry);
}
