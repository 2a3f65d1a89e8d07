// Shard plans: which jobs (or Vitest files) each of n shards runs, split by job count (the manifest
// alone) or balanced by what each job cost last time (`--balance`). Pure and deterministic: the same
// jobs, estimates and n give the same plan and the same digest on every machine, so each shard works
// out its own part of one plan without talking to the others, and `merge` can tell plans apart.
import { createHash } from 'node:crypto';
import {
  checkShard,
  needsGroups,
  shardsByCount,
  topologicalOrder,
  type NeedsNode,
} from '../manifest/graph.js';

/** A job's expected wall time (ms): measured last time, or the median given to one with no history. */
export interface Estimate {
  ms: number;
  known: boolean;
}

export interface PlannedShard {
  /** Job names in the order the shard runs them (a balanced shard: longest chain first). */
  jobs: string[];
  /** The sum of its jobs' estimates (ms); null for a split by count, which has none. */
  expectedMs: number | null;
}

export interface ShardPlan {
  method: 'count' | 'balanced';
  /** sha256 (hex) of the method, the shards and every estimate: equal digests, equal plans. */
  digest: string;
  shards: PlannedShard[];
  /** Balanced plans: each job's estimate. Empty for a split by count. */
  estimates: ReadonlyMap<string, Estimate>;
  /** The median given to jobs with no history; null when none needed it or none was known. */
  unknownMs: number | null;
}

const DIGEST_VERSION = 'ringfence.shard-plan/1';
/** A measured 0 ms still costs a start: without a floor every such job would pile onto one shard. */
const FLOOR_MS = 1;
/** Without any history, every job counts the same: the plan balances by count. */
const NOMINAL_MS = 1000;
/** The refinement's swaps look at pairs of groups; beyond this many, longest-first alone. */
const SWAP_LIMIT = 2000;
/** Refinement steps at most: each narrows the gap, and the first few do nearly all of it. */
const REFINE_STEPS = 200;

function digestOf(
  method: ShardPlan['method'],
  shards: readonly PlannedShard[],
  estimates: ReadonlyMap<string, Estimate>,
): string {
  const table = [...estimates].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify([
    DIGEST_VERSION,
    method,
    shards.map((s) => s.jobs),
    table.map(([name, e]) => [name, e.ms, e.known]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The manifest-only split (`--shard i/n` without `--balance`): by job count, manifest order. */
export function planByCount(jobs: readonly NeedsNode[], total: number): ShardPlan {
  const shards = shardsByCount(jobs, total).map((positions) => ({
    jobs: positions.map((i) => (jobs[i] as NeedsNode).name),
    expectedMs: null,
  }));
  const estimates = new Map<string, Estimate>();
  return {
    method: 'count',
    digest: digestOf('count', shards, estimates),
    shards,
    estimates,
    unknownMs: null,
  };
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Balanced shards from measured wall times. `measured(name)` is a job's cost last time (ms), or
 * undefined without history; those get the median of the jobs that have one. Jobs joined by `needs`
 * form a group that stays in one shard. Groups are dealt longest first to the shard with the least
 * expected time (ties: the lowest shard), then single moves and swaps between the
 * slowest and the fastest shard narrow the gap while one does. Within a shard, the job heading the
 * longest chain of needs runs first.
 */
export function planBalanced(
  jobs: readonly NeedsNode[],
  total: number,
  measured: (name: string) => number | undefined,
): ShardPlan {
  checkShard(1, total);
  const known = jobs.map((job) => measured(job.name));
  const knownValues = known.filter((ms): ms is number => ms !== undefined && Number.isFinite(ms));
  const unknownMs =
    knownValues.length === 0 ? NOMINAL_MS : Math.max(FLOOR_MS, Math.round(medianOf(knownValues)));
  const cost = known.map((ms) =>
    ms !== undefined && Number.isFinite(ms) ? Math.max(FLOOR_MS, Math.round(ms)) : unknownMs,
  );
  const estimates = new Map<string, Estimate>(
    jobs.map((job, i) => [job.name, { ms: cost[i] as number, known: known[i] !== undefined }]),
  );

  const groups = needsGroups(jobs).map((members) => ({
    members,
    ms: members.reduce((sum, i) => sum + (cost[i] as number), 0),
  }));
  // longest first; equal groups in manifest order (a group is named by its first job)
  const order = groups
    .map((_, g) => g)
    .sort((a, b) => {
      const ga = groups[a] as (typeof groups)[number];
      const gb = groups[b] as (typeof groups)[number];
      return gb.ms - ga.ms || (ga.members[0] as number) - (gb.members[0] as number);
    });
  const load = new Array<number>(total).fill(0);
  const home = new Array<number>(groups.length).fill(0);
  for (const g of order) {
    const group = groups[g] as (typeof groups)[number];
    let target = 0;
    for (let s = 1; s < total; s++) if ((load[s] as number) < (load[target] as number)) target = s;
    home[g] = target;
    load[target] = (load[target] as number) + group.ms;
  }
  refine(groups, home, load, total);

  const bottom = chainLengths(jobs, cost);
  const shards: PlannedShard[] = Array.from({ length: total }, (_, s) => {
    const positions = groups.flatMap((group, g) => (home[g] === s ? group.members : []));
    positions.sort((a, b) => (bottom[b] as number) - (bottom[a] as number) || a - b);
    return { jobs: positions.map((i) => (jobs[i] as NeedsNode).name), expectedMs: load[s] as number };
  });
  return {
    method: 'balanced',
    digest: digestOf('balanced', shards, estimates),
    shards,
    estimates,
    unknownMs: knownValues.length === jobs.length || knownValues.length === 0 ? null : unknownMs,
  };
}

/**
 * Narrows the gap between the slowest and the fastest shard: the move of one group, or the swap of
 * two, whose difference comes closest to half the gap (strictly inside it, so each step lowers the
 * sum of squared loads and the loop ends). Deterministic: candidates are scanned in a fixed order.
 */
function refine(
  groups: readonly { members: number[]; ms: number }[],
  home: number[],
  load: number[],
  total: number,
): void {
  if (total < 2) return;
  for (let step = 0; step < REFINE_STEPS; step++) {
    let hi = 0;
    let lo = 0;
    for (let s = 1; s < total; s++) {
      if ((load[s] as number) > (load[hi] as number)) hi = s;
      if ((load[s] as number) < (load[lo] as number)) lo = s;
    }
    const gap = (load[hi] as number) - (load[lo] as number);
    if (gap <= 0) return;
    const inHi = groups.map((_, g) => g).filter((g) => home[g] === hi);
    const inLo = groups.map((_, g) => g).filter((g) => home[g] === lo);
    let best: { from: number; to: number | null; d: number } | null = null;
    const consider = (from: number, to: number | null): void => {
      const d = (groups[from]?.ms ?? 0) - (to === null ? 0 : (groups[to]?.ms ?? 0));
      if (d <= 0 || d >= gap) return;
      if (best === null || Math.abs(gap / 2 - d) < Math.abs(gap / 2 - best.d)) best = { from, to, d };
    };
    for (const from of inHi) consider(from, null);
    if (groups.length <= SWAP_LIMIT) for (const from of inHi) for (const to of inLo) consider(from, to);
    if (best === null) return;
    const { from, to, d } = best as { from: number; to: number | null; d: number };
    home[from] = lo;
    if (to !== null) home[to] = hi;
    load[hi] = (load[hi] as number) - d;
    load[lo] = (load[lo] as number) + d;
  }
}

/**
 * Each job's cost plus the longest chain of jobs that need it, transitively: a shard that starts the
 * job at the head of its longest chain first is not left waiting on that chain at its end.
 */
function chainLengths(jobs: readonly NeedsNode[], cost: readonly number[]): number[] {
  const position = new Map(jobs.map((job, i) => [job.name, i]));
  const chain = [...cost];
  // needs before dependents: walked backwards, every dependent's chain is final before its needs'
  for (const job of topologicalOrder(jobs).reverse()) {
    const i = position.get(job.name) as number;
    for (const need of new Set(job.needs)) {
      const j = position.get(need);
      if (j !== undefined)
        chain[j] = Math.max(chain[j] as number, (cost[j] as number) + (chain[i] as number));
    }
  }
  return chain;
}
