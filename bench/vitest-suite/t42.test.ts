// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t42', () => {
  it('adds', () => {
    expect(42 + 1).toBe(43);
  });

  it('compares objects', () => {
    expect({ file: 42, tags: ['a', 'b'] }).toEqual({ file: 42, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 42)).toEqual([42, 84, 126]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t42'");
  });
});
