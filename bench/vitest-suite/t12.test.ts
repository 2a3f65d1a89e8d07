// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t12', () => {
  it('adds', () => {
    expect(12 + 1).toBe(13);
  });

  it('compares objects', () => {
    expect({ file: 12, tags: ['a', 'b'] }).toEqual({ file: 12, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 12)).toEqual([12, 24, 36]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t12'");
  });
});
