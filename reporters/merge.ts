// `ringfence merge`: joins the results of a sharded run (or of runs of disjoint job sets from one
// manifest) into one report, as if one unsharded run had produced it. Shards that record their plan
// are checked against it: one plan for all, and every planned job in exactly one of them.
import type { JobEntry, RunReport } from './types.js';

/** How many names a refusal lists before it says how many more there are. */
const NAMES_SHOWN = 20;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, NAMES_SHOWN);
  const more = items.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

const nameList = (names: readonly string[]): string => listed(names.map((name) => JSON.stringify(name)));

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

  checkPlan(reports);

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
    ...(first.plan ? { plan: first.plan } : {}),
    jobs,
  };
}

/**
 * Where any report records a shard plan, all must record the same one (its digest: the same jobs,
 * shards and history), and every job of the plan must be in exactly one report, and nothing else.
 * Each refusal is one line naming the jobs (the first NAMES_SHOWN of them).
 */
function checkPlan(reports: readonly RunReport[]): void {
  const planned = reports.findIndex((r) => r.plan);
  const plan = reports[planned]?.plan;
  if (!plan) return;
  const other = reports.findIndex((r) => r.plan?.digest !== plan.digest);
  if (other !== -1) {
    const describe = (i: number): string => {
      const p = reports[i]?.plan;
      const what = p
        ? `plan ${p.digest.slice(0, 12)} (${p.method === 'balanced' ? `balanced from ${p.history?.join(', ') ?? 'history'}` : 'by job count'})`
        : 'no shard plan';
      return `${describeSource(reports[i] as RunReport, i)} has ${what}`;
    };
    throw new Error(
      `cannot merge: the shards were planned differently (another --balance history, manifest or shard count): ${describe(planned)}, ${describe(other)}`,
    );
  }
  // job → the reports it is in (a repeated run has one entry per repeat in the same report; a Vitest
  // file of two projects is two jobs)
  const where = new Map<string, { id: string; reports: Set<number> }>();
  const ids = new Set<string>();
  reports.forEach((r, i) => {
    for (const entry of r.jobs) {
      const key = JSON.stringify([entry.suite, entry.id]);
      const found = where.get(key) ?? { id: entry.id, reports: new Set<number>() };
      found.reports.add(i);
      where.set(key, found);
      ids.add(entry.id);
    }
  });
  const inPlan = new Set(plan.shards.flatMap((shard) => shard.jobs));
  const doubled = [...where.values()].filter((job) => job.reports.size > 1);
  if (doubled.length) {
    const named = doubled.map(
      (job) => `${JSON.stringify(job.id)} (reports ${[...job.reports].map((i) => i + 1).join(' and ')})`,
    );
    throw new Error(
      `cannot merge: ${doubled.length} job${doubled.length === 1 ? '' : 's'} ran in more than one shard: ${listed(named)}`,
    );
  }
  const missing = [...inPlan].filter((id) => !ids.has(id));
  if (missing.length) {
    const given = reports
      .map((r) => r.shard)
      .filter((s) => s !== null)
      .map((s) => s.index)
      .sort((a, b) => a - b);
    throw new Error(
      `cannot merge: ${missing.length} planned job${missing.length === 1 ? '' : 's'} ran in no shard: ${nameList(missing)} (shards given: ${given.join(', ')} of ${plan.shards.length})`,
    );
  }
  const stray = [...ids].filter((id) => !inPlan.has(id));
  if (stray.length) {
    throw new Error(
      `cannot merge: ${stray.length} job${stray.length === 1 ? '' : 's'} not in the shard plan: ${nameList(stray)}`,
    );
  }
}
