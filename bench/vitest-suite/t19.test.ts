// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t19', () => {
  it('adds', () => {
    expect(19 + 1).toBe(20);
  });

  it('compares objects', () => {
    expect({ file: 19, tags: ['a', 'b'] }).toEqual({ file: 19, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 19)).toEqual([19, 38, 57]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t19'");
  });
});
