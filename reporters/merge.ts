// `ringfence merge`: joins the results of a sharded run (or of runs of disjoint job sets from one
// manifest) into one report, as if one unsharded run had produced it.
import type { JobEntry, RunReport } from './types.js';

function describeSource(report: RunReport, i: number): string {
  return report.shard
    ? `report ${i + 1} (shard ${report.shard.index}/${report.shard.total})`
    : `report ${i + 1}`;
}

function jobKey(entry: JobEntry): string {
  // a run without --repeat leaves `repeat` out: that is its only (0th) repetition
  return JSON.stringify([entry.suite, entry.id, entry.repeat ?? 0]);
}

/**
 * Merges shard reports: jobs concatenated in the order given, startedAt the earliest, finishedAt the
 * latest, wallMs the span between them, shard null, interrupted if any was. Refuses reports of
 * different manifests and a job (suite + id + repeat) present in two reports.
 *
 * `ringfence`, `host`, `git` and `limits` are taken from the FIRST report as they are: shards may run
 * on different hosts (and, by mistake, commits); the merged report names only one of them.
 */
export function mergeReports(reports: RunReport[]): RunReport {
  const first = reports[0];
  if (!first) throw new Error('nothing to merge: no reports given');

  const manifestName = first.manifest?.name ?? null;
  reports.forEach((r, i) => {
    const name = r.manifest?.name ?? null;
    if (name !== manifestName) {
      const show = (n: string | null) => (n === null ? 'no manifest (a Vitest run)' : `manifest "${n}"`);
      throw new Error(
        `cannot merge: ${describeSource(r, i)} is from ${show(name)}, ${describeSource(first, 0)} from ${show(manifestName)}`,
      );
    }
  });

  const seen = new Map<string, number>();
  const jobs: JobEntry[] = [];
  reports.forEach((r, i) => {
    for (const entry of r.jobs) {
      const key = jobKey(entry);
      const before = seen.get(key);
      if (before !== undefined) {
        const where =
          before === i
            ? `twice in ${describeSource(r, i)}`
            : `in both ${describeSource(reports[before] ?? r, before)} and ${describeSource(r, i)}`;
        throw new Error(
          `cannot merge: job "${entry.id}" (suite "${entry.suite}", repeat ${entry.repeat ?? 0}) appears ${where}`,
        );
      }
      seen.set(key, i);
      jobs.push(entry);
    }
  });

  let startedAt = first.startedAt;
  let finishedAt = first.finishedAt;
  for (const r of reports) {
    if (Date.parse(r.startedAt) < Date.parse(startedAt)) startedAt = r.startedAt;
    if (Date.parse(r.finishedAt) > Date.parse(finishedAt)) finishedAt = r.finishedAt;
  }

  return {
    schema: first.schema,
    ringfence: first.ringfence,
    host: first.host,
    startedAt,
    finishedAt,
    wallMs: Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt)),
    git: first.git,
    manifest: first.manifest,
    shard: null,
    limits: first.limits,
    interrupted: reports.some((r) => r.interrupted),
    jobs,
  };
}
