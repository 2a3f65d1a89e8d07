// The JSON results schema of a run: the source of truth every other report (JUnit, Markdown, HTML)
// and `ringfence merge` / `compare` read. Versioned by `schema`; fields are added, never renamed.
import type { JobResult } from '../harness/job/result.js';

export const RESULTS_SCHEMA = 'ringfence.results/1' as const;

/**
 * A job's outcome in a run: a JobResult status, or one only the runner can give — `flaky` (failed,
 * then passed on a retry), `skipped` (a need did not pass, or --only left it out of this run's
 * needs), `aborted` (the run was interrupted before or while it ran).
 */
export type JobOutcome = JobResult['status'] | 'flaky' | 'skipped';

export interface JobEntry {
  /** Stable id: the job name (manifest) or the test file path (Vitest). */
  id: string;
  /** The testsuite it belongs to (manifest name, or the Vitest project). */
  suite: string;
  outcome: JobOutcome;
  /** The last attempt's result; null when the job never started (skipped, aborted before start). */
  result: JobResult | null;
  /** Every attempt, in order (retries of a flaky or failed job included). */
  attempts: JobResult[];
  /** Why it was skipped or aborted, in words. */
  skipReason?: string;
  /** Which of `repeat` runs this entry belongs to (0-based), when a run repeats jobs (ci --repeat). */
  repeat?: number;
  /** The test cases inside the job, where the runner knows them (a Vitest file's tests). */
  tests?: TestCaseEntry[];
  /**
   * How many Vitest files ran in this one's sandbox, when more than one (`isolate: false`): its
   * `result` is then the shared sandbox's, the same for all of them — per sandbox, not per file.
   */
  sandboxShared?: number;
  /**
   * Vitest's own time for the file (environment, setup, import and tests; no worker start), written
   * by the reporter with or without the ringfence pool: what a Vitest shard plan falls back on when
   * there is no sandbox `result`. Added with balanced shards: absent in older files.
   */
  durationMs?: number;
  /** The queue worker that ran it (`ci --queue`): hostname/pid. Added with queue mode. */
  worker?: string;
}

/** One test inside a job (a Vitest test): JUnit writes each as its own <testcase>. */
export interface TestCaseEntry {
  /** The describe blocks and the test's own name, joined by " > " as Vitest prints them. */
  name: string;
  outcome: 'passed' | 'failed' | 'skipped';
  durationMs: number;
  /** Why it failed or was skipped. */
  message?: string;
}

export interface RunReport {
  schema: typeof RESULTS_SCHEMA;
  ringfence: { version: string };
  host: {
    hostname: string;
    kernel: string;
    arch: string;
    cpus: number;
    cgroupVersion: 1 | 2 | null;
    /** Where the jobs' cgroups were (or why there were none). Added in 0.2. */
    placement?: string;
    /** root; rootless (a user namespace); namespaces only (no cgroup, no namespaces beyond the host's). */
    privileges?: 'root' | 'rootless' | 'namespaces only';
  };
  startedAt: string;
  finishedAt: string;
  wallMs: number;
  git: { commit: string; branch: string | null } | null;
  /** The manifest this run came from; null for a Vitest run. */
  manifest: { file: string; name: string } | null;
  shard: { index: number; total: number } | null;
  /** The defaults in force (JobSpecInput form) and the concurrency used. */
  limits: { defaults: Record<string, unknown>; concurrency: number };
  /** True when the run was interrupted (SIGINT/SIGTERM): unfinished jobs are `aborted`. */
  interrupted: boolean;
  /**
   * The plan this run was one shard of (`ci --shard i/n`; Vitest's `--shard` with the ringfence
   * sequencer): `merge` refuses shards of different plans, and a planned job that ran in no shard or
   * in two. Absent in an unsharded run and in older files.
   */
  plan?: ShardPlanRecord;
  jobs: JobEntry[];
}

/** A shard plan as a results file records it: every shard's jobs, so any one shard names them all. */
export interface ShardPlanRecord {
  /** sha256 of the plan (its method, every shard's jobs, every estimate): equal digests, equal plans. */
  digest: string;
  /** `count`: by the manifest alone; `balanced`: by each job's wall time in `history`. */
  method: 'count' | 'balanced';
  /** The results files a balanced plan was made from (absolute paths). */
  history?: string[];
  /** Every shard's job ids, in the order it runs them, and its expected time (balanced plans). */
  shards: { jobs: string[]; expectedMs: number | null }[];
}
