// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t10', () => {
  it('adds', () => {
    expect(10 + 1).toBe(11);
  });

  it('compares objects', () => {
    expect({ file: 10, tags: ['a', 'b'] }).toEqual({ file: 10, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 10)).toEqual([10, 20, 30]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t10'");
  });
});
