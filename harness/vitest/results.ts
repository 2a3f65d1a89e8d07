// What each test file's sandbox used, collected by the pool for the reporter (same process: Vitest's
// main one). Keyed by the file's absolute path, the stable id reports and `compare` match on.
import type { JobResult } from '../result.js';

const perFile = new Map<string, JobResult>();

export function recordFile(file: string, result: JobResult): void {
  perFile.set(file, result);
}

export function fileResults(): ReadonlyMap<string, JobResult> {
  return perFile;
}
