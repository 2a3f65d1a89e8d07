// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t48', () => {
  it('adds', () => {
    expect(48 + 1).toBe(49);
  });

  it('compares objects', () => {
    expect({ file: 48, tags: ['a', 'b'] }).toEqual({ file: 48, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 48)).toEqual([48, 96, 144]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t48'");
  });
});
