// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t23', () => {
  it('adds', () => {
    expect(23 + 1).toBe(24);
  });

  it('compares objects', () => {
    expect({ file: 23, tags: ['a', 'b'] }).toEqual({ file: 23, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 23)).toEqual([23, 46, 69]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t23'");
  });
});
