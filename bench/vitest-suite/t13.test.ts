// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t13', () => {
  it('adds', () => {
    expect(13 + 1).toBe(14);
  });

  it('compares objects', () => {
    expect({ file: 13, tags: ['a', 'b'] }).toEqual({ file: 13, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 13)).toEqual([13, 26, 39]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t13'");
  });
});
