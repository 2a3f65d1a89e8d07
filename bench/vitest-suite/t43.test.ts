// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t43', () => {
  it('adds', () => {
    expect(43 + 1).toBe(44);
  });

  it('compares objects', () => {
    expect({ file: 43, tags: ['a', 'b'] }).toEqual({ file: 43, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 43)).toEqual([43, 86, 129]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t43'");
  });
});
