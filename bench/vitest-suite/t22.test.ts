// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t22', () => {
  it('adds', () => {
    expect(22 + 1).toBe(23);
  });

  it('compares objects', () => {
    expect({ file: 22, tags: ['a', 'b'] }).toEqual({ file: 22, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 22)).toEqual([22, 44, 66]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t22'");
  });
});
