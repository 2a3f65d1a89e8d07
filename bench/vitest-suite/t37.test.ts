// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t37', () => {
  it('adds', () => {
    expect(37 + 1).toBe(38);
  });

  it('compares objects', () => {
    expect({ file: 37, tags: ['a', 'b'] }).toEqual({ file: 37, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 37)).toEqual([37, 74, 111]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t37'");
  });
});
