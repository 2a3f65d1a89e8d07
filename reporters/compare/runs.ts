// What one side of a comparison is made of, whichever file it came from: runs of samples, each the
// figures of one job or test file. load.ts makes them from the JSON results schema, junit-read.ts
// from JUnit XML; both build on this module, so neither needs the other's.
import { basename } from 'node:path';
import type { JobOutcome } from '../types.js';

/** The figures compared, per job or test file. */
export type MetricName = 'cpu' | 'wall' | 'memory' | 'pids' | 'io' | 'disk';
export const METRICS: readonly MetricName[] = ['cpu', 'memory', 'wall', 'pids', 'io', 'disk'];

/** The I/O figure compared: bytes the job read from and wrote to storage, together. */
export function storageBytes(
  io: { readBytes: number; writeBytes: number } | null | undefined,
): number | null {
  return io ? io.readBytes + io.writeBytes : null;
}

/** What one job (or test file) used in one run. A figure is null where it was not measured. */
export interface Sample {
  suite: string;
  id: string;
  outcome: JobOutcome;
  metrics: Record<MetricName, number | null>;
  /**
   * Paths it wrote outside its workdir (`--fs overlay`'s pollution report), counted; null where that
   * was not watched (`--fs host`, a degraded host, a file from before the report).
   */
  written: number | null;
  /** The first few of those paths (a JUnit file gives only the count). */
  writtenPaths: string[];
  /** `host:port`s it tried through its allow-list (`--network allow:…`); null or absent: none watched. */
  hosts?: string[] | null;
  /** Vitest's own time for the file (JobEntry.durationMs), where the reporter recorded one. */
  durationMs?: number;
}

/** How many of a job's written paths a comparison keeps to name. */
export const WRITTEN_SHOWN = 5;

/** One run: a results file, or one repetition of a repeated run in it. */
export interface Run {
  /** `base.json`, `head.json#2` (the 0-based repeat of a repeated run). */
  label: string;
  file: string;
  samples: Sample[];
}

export interface Side {
  files: string[];
  runs: Run[];
}

/** An input file could not be used: `file` names it, the message says why. */
export class CompareInputError extends Error {
  override readonly name = 'CompareInputError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export const OUTCOMES: readonly JobOutcome[] = [
  'passed',
  'flaky',
  'failed',
  'timeout',
  'oom',
  'signaled',
  'error',
  'skipped',
  'aborted',
];

export function runsOf(byRepeat: Map<number | undefined, Sample[]>, file: string): Run[] {
  const name = basename(file);
  const repeats = [...byRepeat.keys()].sort((a, b) => (a ?? 0) - (b ?? 0));
  // a file with no entries is still a run (of nothing): every test of the other side is added/removed
  if (repeats.length === 0) return [{ label: name, file, samples: [] }];
  return repeats.map((repeat) => ({
    label: repeat === undefined ? name : `${name}#${repeat}`,
    file,
    samples: byRepeat.get(repeat) ?? [],
  }));
}
