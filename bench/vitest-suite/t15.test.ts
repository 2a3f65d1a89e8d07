// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t15', () => {
  it('adds', () => {
    expect(15 + 1).toBe(16);
  });

  it('compares objects', () => {
    expect({ file: 15, tags: ['a', 'b'] }).toEqual({ file: 15, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 15)).toEqual([15, 30, 45]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t15'");
  });
});
