// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t07', () => {
  it('adds', () => {
    expect(7 + 1).toBe(8);
  });

  it('compares objects', () => {
    expect({ file: 7, tags: ['a', 'b'] }).toEqual({ file: 7, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 7)).toEqual([7, 14, 21]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t07'");
  });
});
