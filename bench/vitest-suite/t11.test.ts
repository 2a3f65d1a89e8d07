// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t11', () => {
  it('adds', () => {
    expect(11 + 1).toBe(12);
  });

  it('compares objects', () => {
    expect({ file: 11, tags: ['a', 'b'] }).toEqual({ file: 11, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 11)).toEqual([11, 22, 33]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t11'");
  });
});
