// What each test file's sandbox used, collected by the pool for the reporter (same process: Vitest's
// main one). Keyed by the file's absolute path, the stable id reports and `compare` match on.
import type { JobResult } from '../job/result.js';

export interface FileRecord {
  result: JobResult;
  /** Vitest itself stopped the worker (its normal end): the sandbox's SIGTERM is no verdict. */
  stoppedByVitest: boolean;
  /** How many files ran in this file's sandbox: above 1 with `isolate: false`, whose figures are shared. */
  sharedWith: number;
}

const perFile = new Map<string, FileRecord>();
const running = new Set<Promise<unknown>>();

export function recordFile(file: string, record: FileRecord): void {
  perFile.set(file, record);
}

/** A worker's sandbox run, so the reporter can wait until every one has ended and been recorded. */
export function trackRun(run: Promise<unknown>): void {
  running.add(run);
  void run.finally(() => running.delete(run));
}

/** Every file's record, once the sandboxes still ending (Vitest stops workers lazily) are done. */
export async function fileResults(timeoutMs = 10_000): Promise<ReadonlyMap<string, FileRecord>> {
  const timeout = new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([Promise.allSettled([...running]), timeout]);
  return perFile;
}

/**
 * Why the sandbox ended a file, as Vitest prints it: `ringfence: leak.test.ts was killed: memory limit …`.
 * The cause is the lifecycle's own reason (one wording for `run`, `ci` and the pool), less its
 * leading "killed: ", which this sentence already says.
 */
export function killedMessage(file: string, result: JobResult): string {
  return `ringfence: ${file} was killed: ${result.reason.replace(/^killed: /, '')}`;
}
