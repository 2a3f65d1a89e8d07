// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t31', () => {
  it('adds', () => {
    expect(31 + 1).toBe(32);
  });

  it('compares objects', () => {
    expect({ file: 31, tags: ['a', 'b'] }).toEqual({ file: 31, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 31)).toEqual([31, 62, 93]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t31'");
  });
});
