// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t03', () => {
  it('adds', () => {
    expect(3 + 1).toBe(4);
  });

  it('compares objects', () => {
    expect({ file: 3, tags: ['a', 'b'] }).toEqual({ file: 3, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 3)).toEqual([3, 6, 9]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t03'");
  });
});
