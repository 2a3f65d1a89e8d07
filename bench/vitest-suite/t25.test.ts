// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t25', () => {
  it('adds', () => {
    expect(25 + 1).toBe(26);
  });

  it('compares objects', () => {
    expect({ file: 25, tags: ['a', 'b'] }).toEqual({ file: 25, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 25)).toEqual([25, 50, 75]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t25'");
  });
});
