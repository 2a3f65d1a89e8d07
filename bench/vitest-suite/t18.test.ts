// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t18', () => {
  it('adds', () => {
    expect(18 + 1).toBe(19);
  });

  it('compares objects', () => {
    expect({ file: 18, tags: ['a', 'b'] }).toEqual({ file: 18, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 18)).toEqual([18, 36, 54]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t18'");
  });
});
