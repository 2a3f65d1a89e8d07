// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t40', () => {
  it('adds', () => {
    expect(40 + 1).toBe(41);
  });

  it('compares objects', () => {
    expect({ file: 40, tags: ['a', 'b'] }).toEqual({ file: 40, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 40)).toEqual([40, 80, 120]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t40'");
  });
});
