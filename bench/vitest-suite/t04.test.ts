// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t04', () => {
  it('adds', () => {
    expect(4 + 1).toBe(5);
  });

  it('compares objects', () => {
    expect({ file: 4, tags: ['a', 'b'] }).toEqual({ file: 4, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 4)).toEqual([4, 8, 12]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t04'");
  });
});
