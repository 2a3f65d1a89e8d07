// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t09', () => {
  it('adds', () => {
    expect(9 + 1).toBe(10);
  });

  it('compares objects', () => {
    expect({ file: 9, tags: ['a', 'b'] }).toEqual({ file: 9, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 9)).toEqual([9, 18, 27]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t09'");
  });
});
