import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  closureOfNeeds,
  findCycle,
  parseShard,
  shard,
  topologicalOrder,
} from '../../harness/manifest/graph.js';
import { loadManifest } from '../../harness/manifest/load.js';
import { ManifestError, type ManifestJob } from '../../harness/manifest/types.js';
import { InputError } from '../../harness/job/units.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/manifests');
// components {a,b,c} {d} {e,f,g,h} {i} {j} {k,l} {m}, interleaved in the file
const jobs = loadManifest(path.join(dir, 'shards.yml')).jobs;
const names = (list: readonly { name: string }[]) => list.map((job) => job.name);
const node = (name: string, ...needs: string[]) => ({ name, needs });

describe('topologicalOrder', () => {
  it('puts needs first and keeps manifest order among ready jobs', () => {
    expect(names(topologicalOrder(jobs))).toEqual(names(jobs));
    expect(
      names(
        topologicalOrder([
          node('deploy', 'build', 'test'),
          node('test', 'build'),
          node('build'),
          node('lint'),
        ]),
      ),
    ).toEqual(['build', 'test', 'deploy', 'lint']);
    const valid = loadManifest(path.join(dir, 'valid.yml')).jobs;
    expect(names(topologicalOrder(valid))).toEqual(['build', 'unit tests', 'lint', 'report']);
  });

  it('refuses a cycle, which findCycle lists from its first job in the manifest', () => {
    const cyclic = [node('x'), node('b', 'c'), node('a', 'b'), node('c', 'a', 'x')];
    expect(findCycle(cyclic)).toEqual(['b', 'c', 'a', 'b']);
    expect(findCycle(jobs)).toBeUndefined();
    expect(() => topologicalOrder(cyclic)).toThrow('needs form a cycle: b → c → a → b');
  });
});

describe('closureOfNeeds', () => {
  it('adds everything the named jobs need, transitively, in manifest order', () => {
    expect(names(closureOfNeeds(jobs, ['h']))).toEqual(['e', 'f', 'g', 'h']);
    expect(names(closureOfNeeds(jobs, ['l', 'c']))).toEqual(['a', 'b', 'c', 'k', 'l']);
    expect(names(closureOfNeeds(jobs, ['a', 'a']))).toEqual(['a']);
  });

  it('refuses a name that is no job', () => {
    let error: unknown;
    try {
      closureOfNeeds(jobs, ['h', 'hh'], 'ci.yml');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).message).toBe(
      'ci.yml: --only names "hh", but no job has that name (did you mean "h"?)',
    );
  });
});

describe('shard', () => {
  const neighbours = (job: ManifestJob) => [
    ...job.needs,
    ...jobs.filter((other) => other.needs.includes(job.name)).map((other) => other.name),
  ];

  for (const total of [1, 2, 3, 4, 10]) {
    it(`splits into ${total}: every job once, components whole, balanced, deterministic`, () => {
      const shards = Array.from({ length: total }, (_, i) => shard(jobs, i + 1, total));
      expect(names(shards.flat()).sort()).toEqual(names(jobs).sort());
      const home = new Map(shards.flatMap((list, i) => list.map((job) => [job.name, i] as const)));
      for (const job of jobs)
        for (const other of neighbours(job)) expect(home.get(other)).toBe(home.get(job.name));
      for (const list of shards)
        expect(names(list)).toEqual(names(jobs).filter((name) => names(list).includes(name)));
      const sizes = shards.map((list) => list.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(4); // the largest component
      const again = Array.from({ length: total }, (_, i) => shard(structuredClone(jobs), i + 1, total));
      expect(again.map(names)).toEqual(shards.map(names));
    });
  }

  it('deals components in manifest order to the emptiest shard, ties to the lowest', () => {
    expect(names(shard(jobs, 1, 2))).toEqual(['a', 'b', 'i', 'c', 'j', 'k', 'l']);
    expect(names(shard(jobs, 2, 2))).toEqual(['d', 'e', 'f', 'g', 'h', 'm']);
    expect(names(shard(jobs, 3, 3))).toEqual(['e', 'f', 'g', 'h']);
  });

  it('refuses an index outside 1..total', () => {
    expect(() => shard(jobs, 0, 2)).toThrow(RangeError);
    expect(() => shard(jobs, 3, 2)).toThrow(RangeError);
    expect(() => shard(jobs, 1.5, 2)).toThrow(RangeError);
  });
});

describe('parseShard', () => {
  it('reads i/n, 1-based', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, total: 4 });
    expect(parseShard(' 4 / 4 ')).toEqual({ index: 4, total: 4 });
  });

  it.each(['0/4', '5/4', '1/0', '1', '1/', '/2', '-1/2', 'a/b', '1.5/2', ''])('refuses %j', (text) => {
    expect(() => parseShard(text)).toThrow(InputError);
    try {
      parseShard(text);
    } catch (error) {
      expect((error as InputError).field).toBe('shard');
    }
  });
});
