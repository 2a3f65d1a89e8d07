// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t20', () => {
  it('adds', () => {
    expect(20 + 1).toBe(21);
  });

  it('compares objects', () => {
    expect({ file: 20, tags: ['a', 'b'] }).toEqual({ file: 20, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 20)).toEqual([20, 40, 60]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t20'");
  });
});
