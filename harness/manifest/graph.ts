// The `needs` graph of a manifest: run order, `--only` selection and `--shard i/n` splitting. Every
// function here is pure and deterministic: its result depends only on the jobs and their order.
import { InputError } from '../job/units.js';
import { ManifestError, type ManifestJob } from './types.js';

/** What the graph functions read of a job (or a service): its name and the names it needs. */
export type NeedsNode = Pick<ManifestJob, 'name' | 'needs'>;

/**
 * Kahn's algorithm, always taking the ready job that comes first in the manifest. Needs that name
 * no job in `jobs` are treated as satisfied. `left` holds the jobs on or behind a cycle.
 */
function kahn<J extends NeedsNode>(jobs: readonly J[]): { order: J[]; left: J[] } {
  const index = new Map(jobs.map((job, i) => [job.name, i]));
  const waiting = jobs.map(() => 0);
  const dependents: number[][] = jobs.map(() => []);
  jobs.forEach((job, i) => {
    for (const need of new Set(job.needs)) {
      const j = index.get(need);
      if (j === undefined) continue;
      waiting[i] = (waiting[i] ?? 0) + 1;
      dependents[j]?.push(i);
    }
  });
  const ready: number[] = [];
  waiting.forEach((count, i) => {
    if (count === 0) ready.push(i);
  });
  const order: J[] = [];
  const done = new Set<number>();
  while (ready.length > 0) {
    const i = ready.shift() as number;
    done.add(i);
    order.push(jobs[i] as J);
    for (const d of dependents[i] ?? []) {
      waiting[d] = (waiting[d] ?? 0) - 1;
      if (waiting[d] === 0) insertSorted(ready, d);
    }
  }
  return { order, left: jobs.filter((_, i) => !done.has(i)) };
}

function insertSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, value);
}

/**
 * A cycle in the needs graph as the list of names it passes through, first name repeated at the end
 * (`['a', 'b', 'a']`: a needs b, b needs a), starting at the cycle's job that comes first in the
 * manifest; undefined when there is none.
 */
export function findCycle(jobs: readonly NeedsNode[]): string[] | undefined {
  const { left } = kahn(jobs);
  if (left.length === 0) return undefined;
  // every job left over needs at least one other job left over: follow those needs until one repeats
  const leftByName = new Map(left.map((job) => [job.name, job]));
  const path: string[] = [];
  const seen = new Map<string, number>();
  let current = left[0] as NeedsNode;
  while (!seen.has(current.name)) {
    seen.set(current.name, path.length);
    path.push(current.name);
    const next = current.needs.map((need) => leftByName.get(need)).find((job) => job !== undefined);
    if (next === undefined) return undefined; // cannot happen: Kahn left it waiting on something
    current = next;
  }
  const cycle = path.slice(seen.get(current.name));
  const position = new Map(jobs.map((job, i) => [job.name, i]));
  let start = 0;
  cycle.forEach((name, i) => {
    if ((position.get(name) ?? 0) < (position.get(cycle[start] as string) ?? 0)) start = i;
  });
  const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
  return [...rotated, rotated[0] as string];
}

/**
 * Jobs in an order where each comes after everything it needs; among jobs that are ready at the same
 * time, manifest order. Needs naming jobs outside `jobs` are ignored. Throws on a cycle (a loaded
 * manifest has none).
 */
export function topologicalOrder<J extends NeedsNode>(jobs: readonly J[]): J[] {
  const { order, left } = kahn(jobs);
  if (left.length > 0) {
    throw new Error(`needs form a cycle: ${(findCycle(jobs) ?? left.map((job) => job.name)).join(' → ')}`);
  }
  return order;
}

/**
 * The named jobs plus everything they need, transitively (for `ci --only NAME…`), in manifest order.
 * A name that is no job is refused with a ManifestError against `file`.
 */
export function closureOfNeeds<J extends NeedsNode>(
  jobs: readonly J[],
  names: Iterable<string>,
  file = 'manifest',
): J[] {
  const byName = new Map(jobs.map((job) => [job.name, job]));
  const selected = new Set<string>();
  const pending: string[] = [];
  for (const name of names) {
    if (!byName.has(name)) {
      throw new ManifestError(
        file,
        `--only names ${JSON.stringify(name)}, but no job has that name${suggest(name, [...byName.keys()])}`,
      );
    }
    pending.push(name);
  }
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (selected.has(name)) continue;
    selected.add(name);
    for (const need of byName.get(name)?.needs ?? []) if (byName.has(need)) pending.push(need);
  }
  return jobs.filter((job) => selected.has(job.name));
}

/**
 * The needs graph's weakly connected components (a job, all it needs, all that needs it), as lists of
 * positions in `jobs`: each list ascending, the lists ordered by their first job. Needs naming jobs
 * outside `jobs` are ignored. A shard never splits one of these.
 */
export function needsGroups(jobs: readonly NeedsNode[]): number[][] {
  const position = new Map(jobs.map((job, i) => [job.name, i]));
  const parent = jobs.map((_, i) => i);
  const root = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r] as number;
    while (parent[i] !== r) {
      const next = parent[i] as number;
      parent[i] = r;
      i = next;
    }
    return r;
  };
  jobs.forEach((job, i) => {
    for (const need of job.needs) {
      const j = position.get(need);
      if (j === undefined) continue;
      const [a, b] = [root(i), root(j)];
      // keep the earlier job as the root, so a component is named by its first job
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  });
  const components = new Map<number, number[]>(); // root → member positions; Map keeps first-seen order
  jobs.forEach((_, i) => {
    const r = root(i);
    const members = components.get(r);
    if (members) members.push(i);
    else components.set(r, [i]);
  });
  return [...components.values()];
}

/** Throws a RangeError unless 1 ≤ index ≤ total, both whole numbers. */
export function checkShard(index: number, total: number): void {
  if (
    !Number.isSafeInteger(total) ||
    total < 1 ||
    !Number.isSafeInteger(index) ||
    index < 1 ||
    index > total
  ) {
    throw new RangeError(`shard ${index}/${total}: need whole numbers with 1 ≤ index ≤ total`);
  }
}

/**
 * Every shard of `total` by job count alone: the needs groups are dealt out in manifest order, each to
 * the shard with the fewest jobs so far (ties: the lowest shard). Each shard lists positions ascending.
 */
export function shardsByCount(jobs: readonly NeedsNode[], total: number): number[][] {
  checkShard(1, total);
  const sizes = new Array<number>(total).fill(0);
  const shards: number[][] = Array.from({ length: total }, () => []);
  for (const members of needsGroups(jobs)) {
    let target = 0;
    for (let s = 1; s < total; s++) if ((sizes[s] as number) < (sizes[target] as number)) target = s;
    sizes[target] = (sizes[target] as number) + members.length;
    shards[target]?.push(...members);
  }
  return shards.map((list) => list.sort((a, b) => a - b));
}

/**
 * Shard `index` (1-based) of `total` by job count (shardsByCount): a job, all it needs and all that
 * needs it stay together. Jobs keep their manifest order.
 */
export function shard<J extends NeedsNode>(jobs: readonly J[], index: number, total: number): J[] {
  checkShard(index, total);
  return (shardsByCount(jobs, total)[index - 1] ?? []).map((i) => jobs[i] as J);
}

/** `--shard i/n` (1-based, 1 ≤ i ≤ n). Throws InputError (field `shard`) otherwise. */
export function parseShard(text: string): { index: number; total: number } {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(match?.[1]);
  const total = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(index) || !Number.isSafeInteger(total) || total < 1) {
    throw new InputError('shard', `invalid shard ${JSON.stringify(text)} (expected i/n, e.g. 1/4)`);
  }
  if (index < 1 || index > total) {
    throw new InputError('shard', `shard ${index}/${total} does not exist (i runs from 1 to ${total})`);
  }
  return { index, total };
}

/** ` (did you mean "x"?)` for a near miss among `known`, else ''. */
export function suggest(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  return best !== undefined && bestDistance <= limit ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}

/** Optimal-string-alignment distance: edits, counting a swap of neighbours as one. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let beforePrevious = previous;
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        current[j] = Math.min(current[j] as number, (beforePrevious[j - 2] as number) + 1); // transposition
      }
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] as number;
}
