// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t21', () => {
  it('adds', () => {
    expect(21 + 1).toBe(22);
  });

  it('compares objects', () => {
    expect({ file: 21, tags: ['a', 'b'] }).toEqual({ file: 21, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 21)).toEqual([21, 42, 63]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t21'");
  });
});
