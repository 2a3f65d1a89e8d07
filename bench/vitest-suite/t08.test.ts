// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t08', () => {
  it('adds', () => {
    expect(8 + 1).toBe(9);
  });

  it('compares objects', () => {
    expect({ file: 8, tags: ['a', 'b'] }).toEqual({ file: 8, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 8)).toEqual([8, 16, 24]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t08'");
  });
});
