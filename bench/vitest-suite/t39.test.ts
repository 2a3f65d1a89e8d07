// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t39', () => {
  it('adds', () => {
    expect(39 + 1).toBe(40);
  });

  it('compares objects', () => {
    expect({ file: 39, tags: ['a', 'b'] }).toEqual({ file: 39, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 39)).toEqual([39, 78, 117]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t39'");
  });
});
