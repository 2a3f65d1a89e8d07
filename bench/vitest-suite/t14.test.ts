// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t14', () => {
  it('adds', () => {
    expect(14 + 1).toBe(15);
  });

  it('compares objects', () => {
    expect({ file: 14, tags: ['a', 'b'] }).toEqual({ file: 14, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 14)).toEqual([14, 28, 42]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t14'");
  });
});
