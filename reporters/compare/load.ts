// Loading one side of a comparison: one or more results files, each either the JSON results schema
// (`ringfence.results/1`, from `ringfence ci --json` or the Vitest reporter) or JUnit XML written by
// ringfence (its `ringfence.<id>.<figure>` testsuite properties). Every file is one run, or N runs when
// it holds a repeated run (`ci --repeat N`: entries carry `repeat`). A file that cannot be used is
// refused with its name and the reason, never half-used. A side is given as a file, a comma-separated
// list of them or a directory of them (sideFiles): `compare`, `ci --baseline` and `ci --balance`.
import fs, { readFileSync } from 'node:fs';
import path from 'node:path';
import { readResultsFile } from '../json.js';
import { contacted } from '../net.js';
import type { RunReport } from '../types.js';
import { readJUnitRuns } from './junit-read.js';
import {
  CompareInputError,
  WRITTEN_SHOWN,
  runsOf,
  storageBytes,
  type Run,
  type Sample,
  type Side,
} from './runs.js';

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
        disk: r?.disk?.bytes ?? null,
      },
      written: r?.filesystem?.changes ? r.filesystem.changes.length + r.filesystem.truncated : null,
      writtenPaths: (r?.filesystem?.changes ?? []).slice(0, WRITTEN_SHOWN).map((c) => c.path),
      hosts: r?.network ? contacted(r.network) : null,
      ...(entry.durationMs === undefined ? {} : { durationMs: entry.durationMs }),
    };
    const list = byRepeat.get(entry.repeat);
    if (list) list.push(sample);
    else byRepeat.set(entry.repeat, [sample]);
  }
  return runsOf(byRepeat, file);
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
