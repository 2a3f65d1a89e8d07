// The shard planner alone (pure: no job runs here): deterministic, longest first, the median for a
// job without history, jobs joined by `needs` kept in one shard, and a digest that tells plans apart.
// The plans run for real in test/ci-balance.test.ts and test/vitest-sequencer.test.ts.
import { describe, expect, it } from 'vitest';
import { shard } from '../../harness/manifest/graph.js';
import { medianOf, planBalanced, planByCount } from '../../harness/ci/shard-plan.js';

const node = (name: string, ...needs: string[]) => ({ name, needs });
const costs =
  (table: Record<string, number>) =>
  (name: string): number | undefined =>
    table[name];
const loads = (plan: ReturnType<typeof planBalanced>) => plan.shards.map((s) => s.expectedMs);

describe('planBalanced', () => {
  it('gives the same plan and digest for the same inputs, and another digest for other estimates', () => {
    const jobs = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => node(n));
    const table = { a: 500, b: 400, c: 300, d: 300, e: 200, f: 100 };
    const one = planBalanced(jobs, 3, costs(table));
    const two = planBalanced(structuredClone(jobs), 3, costs({ ...table }));
    expect(two.shards).toEqual(one.shards);
    expect(two.digest).toBe(one.digest);
    expect(one.digest).toMatch(/^[0-9a-f]{64}$/);
    // the same split from another history is another plan: merge must tell the two apart
    const other = planBalanced(jobs, 3, costs({ ...table, f: 101 }));
    expect(other.shards.map((s) => s.jobs)).toEqual(one.shards.map((s) => s.jobs));
    expect(other.digest).not.toBe(one.digest);
    expect(planByCount(jobs, 3).digest).not.toBe(one.digest);
  });

  it('deals the longest first to the least loaded shard, and runs the longest first in each', () => {
    const jobs = ['s1', 's2', 'big', 's3', 'mid'].map((n) => node(n));
    const plan = planBalanced(jobs, 2, costs({ s1: 100, s2: 100, big: 1000, s3: 100, mid: 700 }));
    expect(plan.shards.map((s) => s.jobs)).toEqual([['big'], ['mid', 's1', 's2', 's3']]);
    expect(loads(plan)).toEqual([1000, 1000]);
  });

  it('improves on longest-first where a swap narrows the gap (3,3,2,2,2 in two shards: 6 and 6)', () => {
    const jobs = ['a', 'b', 'c', 'd', 'e'].map((n) => node(n));
    const plan = planBalanced(jobs, 2, costs({ a: 3000, b: 3000, c: 2000, d: 2000, e: 2000 }));
    // longest-first alone ends at 7 and 5
    expect(loads(plan)).toEqual([6000, 6000]);
  });

  it('gives a job without history the median of those with one, and says which had none', () => {
    const jobs = ['a', 'b', 'c', 'new'].map((n) => node(n));
    const plan = planBalanced(jobs, 2, costs({ a: 100, b: 300, c: 200 }));
    expect(plan.estimates.get('new')).toEqual({ ms: 200, known: false });
    expect(plan.estimates.get('b')).toEqual({ ms: 300, known: true });
    expect(plan.unknownMs).toBe(200);
    expect(medianOf([4, 1, 3, 2])).toBe(2.5);
  });

  it('counts every job alike when none has history, and spreads jobs that cost nothing', () => {
    const jobs = Array.from({ length: 8 }, (_, i) => node(`j${i}`));
    expect(planBalanced(jobs, 4, () => undefined).shards.map((s) => s.jobs.length)).toEqual([2, 2, 2, 2]);
    expect(planBalanced(jobs, 4, () => 0).shards.map((s) => s.jobs.length)).toEqual([2, 2, 2, 2]);
  });

  it('keeps jobs joined by needs in one shard, the head of the longest chain first', () => {
    const jobs = [
      node('build'),
      node('lint'),
      node('test', 'build'),
      node('deploy', 'test'),
      node('docs'),
      node('bench', 'build'),
    ];
    const table = { build: 100, lint: 600, test: 300, deploy: 50, docs: 450, bench: 20 };
    const plan = planBalanced(jobs, 2, costs(table));
    const home = (name: string) => plan.shards.findIndex((s) => s.jobs.includes(name));
    for (const name of ['test', 'deploy', 'bench']) expect(home(name)).toBe(home('build'));
    // the group weighs 470 ms in all: with lint (600) and docs (450) the best split is 600 | 920
    expect([...loads(plan)].sort()).toEqual([600, 920]);
    const group = plan.shards[home('build')]?.jobs ?? [];
    expect(group.indexOf('build')).toBeLessThan(group.indexOf('test'));
    expect(group.indexOf('test')).toBeLessThan(group.indexOf('deploy'));
  });

  it('refuses a shard count that is not a whole number of at least 1', () => {
    expect(() => planBalanced([node('a')], 0, () => 1)).toThrow(RangeError);
  });
});

describe('planByCount', () => {
  it('is the manifest-only split, shard for shard', () => {
    const jobs = [node('a'), node('b', 'a'), node('c'), node('d'), node('e', 'd'), node('f')];
    const plan = planByCount(jobs, 3);
    plan.shards.forEach((s, i) => expect(s.jobs).toEqual(shard(jobs, i + 1, 3).map((j) => j.name)));
    expect(plan.shards.every((s) => s.expectedMs === null)).toBe(true);
  });
});
