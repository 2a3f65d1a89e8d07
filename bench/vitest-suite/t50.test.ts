// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t50', () => {
  it('adds', () => {
    expect(50 + 1).toBe(51);
  });

  it('compares objects', () => {
    expect({ file: 50, tags: ['a', 'b'] }).toEqual({ file: 50, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 50)).toEqual([50, 100, 150]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t50'");
  });
});
