// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t45', () => {
  it('adds', () => {
    expect(45 + 1).toBe(46);
  });

  it('compares objects', () => {
    expect({ file: 45, tags: ['a', 'b'] }).toEqual({ file: 45, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 45)).toEqual([45, 90, 135]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t45'");
  });
});
