// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t49', () => {
  it('adds', () => {
    expect(49 + 1).toBe(50);
  });

  it('compares objects', () => {
    expect({ file: 49, tags: ['a', 'b'] }).toEqual({ file: 49, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 49)).toEqual([49, 98, 147]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t49'");
  });
});
