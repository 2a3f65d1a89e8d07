// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t02', () => {
  it('adds', () => {
    expect(2 + 1).toBe(3);
  });

  it('compares objects', () => {
    expect({ file: 2, tags: ['a', 'b'] }).toEqual({ file: 2, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 2)).toEqual([2, 4, 6]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t02'");
  });
});
