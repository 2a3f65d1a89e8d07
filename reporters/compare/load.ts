// Loading one side of a comparison: one or more results files, each either the JSON results schema
// (`ringfence.results/1`, from `ringfence ci --json` or the Vitest reporter) or JUnit XML written by
// ringfence (its `ringfence.<id>.<figure>` testsuite properties). Every file is one run, or N runs when
// it holds a repeated run (`ci --repeat N`: entries carry `repeat`). A file that cannot be used is
// refused with its name and the reason, never half-used. A side is given as a file, a comma-separated
// list of them or a directory of them (sideFiles): `compare`, `ci --baseline` and `ci --balance`.
import fs, { readFileSync } from 'node:fs';
import path, { basename } from 'node:path';
import { readResultsFile } from '../json.js';
import type { JobOutcome, RunReport } from '../types.js';
import { readJUnitRuns } from './junit-read.js';

/** The figures compared, per job or test file. */
export type MetricName = 'cpu' | 'wall' | 'memory' | 'pids' | 'io';
export const METRICS: readonly MetricName[] = ['cpu', 'memory', 'wall', 'pids', 'io'];

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

/** A RunReport's entries as runs: one run, or one per `repeat` value (in repeat order). */
export function runsFromReport(report: RunReport, file: string): Run[] {
  const byRepeat = new Map<number | undefined, Sample[]>();
  for (const entry of report.jobs) {
    const r = entry.result;
    const sample: Sample = {
      suite: entry.suite,
      id: entry.id,
      outcome: entry.outcome,
      metrics: {
        cpu: r?.cpu.totalMs ?? null,
        wall: r?.wallMs ?? null,
        memory: r?.memory.peakBytes ?? null,
        pids: r?.pids.peak ?? null,
        io: storageBytes(r?.io),
      },
      written: r?.filesystem?.changes ? r.filesystem.changes.length + r.filesystem.truncated : null,
      writtenPaths: (r?.filesystem?.changes ?? []).slice(0, WRITTEN_SHOWN).map((c) => c.path),
      ...(entry.durationMs === undefined ? {} : { durationMs: entry.durationMs }),
    };
    const list = byRepeat.get(entry.repeat);
    if (list) list.push(sample);
    else byRepeat.set(entry.repeat, [sample]);
  }
  return runsOf(byRepeat, file);
}

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

/** Reads one results file, JSON or JUnit (told apart by its first character), as its runs. */
export function loadRuns(file: string): Run[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CompareInputError(file, `cannot read results file ${file}: ${code}`);
  }
  if (
    text
      .replace(/^\uFEFF/, '')
      .trimStart()
      .startsWith('<')
  )
    return readJUnitRuns(text, file);
  try {
    return runsFromReport(readResultsFile(file), file);
  } catch (err) {
    throw new CompareInputError(file, (err as Error).message);
  }
}

/** Every run of every file of one side, in the order given. */
export function loadSide(files: readonly string[]): Side {
  return { files: [...files], runs: files.flatMap((file) => loadRuns(file)) };
}

/** A side made of a report already in memory (the run that just ended, for `--baseline`). */
export function sideFromReport(report: RunReport, label: string): Side {
  return { files: [label], runs: runsFromReport(report, label) };
}

/** A side's argument as files: a file, a comma-separated list of files, or a directory of results. */
export function sideFiles(arg: string): string[] {
  const expand = (item: string): string[] => {
    const full = path.resolve(item);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      return [full]; // loading it names the file and the reason
    }
    if (!stat.isDirectory()) return [full];
    const found = fs
      .readdirSync(full)
      .filter((name) => /\.(json|xml)$/i.test(name))
      .sort()
      .map((name) => path.join(full, name));
    if (found.length === 0)
      throw new CompareInputError(full, `directory ${full} holds no .json or .xml results files`);
    return found;
  };
  if (fs.existsSync(arg) || !arg.includes(',')) return expand(arg);
  return arg
    .split(',')
    .filter((item) => item !== '')
    .flatMap(expand);
}
