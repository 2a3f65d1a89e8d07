// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t34', () => {
  it('adds', () => {
    expect(34 + 1).toBe(35);
  });

  it('compares objects', () => {
    expect({ file: 34, tags: ['a', 'b'] }).toEqual({ file: 34, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 34)).toEqual([34, 68, 102]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t34'");
  });
});
