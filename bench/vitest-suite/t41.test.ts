// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t41', () => {
  it('adds', () => {
    expect(41 + 1).toBe(42);
  });

  it('compares objects', () => {
    expect({ file: 41, tags: ['a', 'b'] }).toEqual({ file: 41, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 41)).toEqual([41, 82, 123]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t41'");
  });
});
