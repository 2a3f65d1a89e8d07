// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t38', () => {
  it('adds', () => {
    expect(38 + 1).toBe(39);
  });

  it('compares objects', () => {
    expect({ file: 38, tags: ['a', 'b'] }).toEqual({ file: 38, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 38)).toEqual([38, 76, 114]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t38'");
  });
});
