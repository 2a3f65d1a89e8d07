// What each job (or Vitest file) cost last time, for a balanced shard plan: earlier results — the
// inputs `compare` takes (JSON, ringfence JUnit, a comma-separated list, a directory) — read through
// compare's own loader, as each job's median wall time over every run given. A file that cannot be
// used is refused whole (a CompareInputError naming it), before any job runs.
import { loadSide, sideFiles } from '../../reporters/compare/load.js';
import type { Sample } from '../../reporters/compare/runs.js';
import { medianOf } from './shard-plan.js';

export interface History {
  /** The results files read, in order. */
  files: string[];
  /** How many runs they held (a repeated run counts each repetition). */
  runs: number;
  /**
   * The median wall time (ms) of the job `id` in `suite`, else of `id` in any suite (a renamed
   * manifest, a Vitest project); undefined when it never ran in these files.
   */
  wallOf(id: string, suite?: string): number | undefined;
}

/** A job's cost in one run: its sandbox's wall time, else Vitest's own time for the file. */
function costOf(sample: Sample): number | undefined {
  const ms = sample.metrics.wall ?? sample.durationMs;
  return ms !== undefined && ms !== null && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Reads `args` (each a file, a comma-separated list or a directory; relative to the cwd). */
export function loadHistory(args: readonly string[]): History {
  const files = args.flatMap((arg) => sideFiles(arg));
  const side = loadSide(files);
  const bySuiteId = new Map<string, number[]>();
  const byId = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, key: string, ms: number): void => {
    const list = map.get(key);
    if (list) list.push(ms);
    else map.set(key, [ms]);
  };
  for (const run of side.runs) {
    for (const sample of run.samples) {
      const ms = costOf(sample);
      if (ms === undefined) continue;
      push(bySuiteId, JSON.stringify([sample.suite, sample.id]), ms);
      push(byId, sample.id, ms);
    }
  }
  return {
    files,
    runs: side.runs.length,
    wallOf(id, suite) {
      const list =
        (suite === undefined ? undefined : bySuiteId.get(JSON.stringify([suite, id]))) ?? byId.get(id);
      return list ? medianOf(list) : undefined;
    },
  };
}
