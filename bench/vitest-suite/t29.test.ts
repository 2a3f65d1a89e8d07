// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t29', () => {
  it('adds', () => {
    expect(29 + 1).toBe(30);
  });

  it('compares objects', () => {
    expect({ file: 29, tags: ['a', 'b'] }).toEqual({ file: 29, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 29)).toEqual([29, 58, 87]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t29'");
  });
});
