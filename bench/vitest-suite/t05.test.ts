// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t05', () => {
  it('adds', () => {
    expect(5 + 1).toBe(6);
  });

  it('compares objects', () => {
    expect({ file: 5, tags: ['a', 'b'] }).toEqual({ file: 5, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 5)).toEqual([5, 10, 15]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t05'");
  });
});
