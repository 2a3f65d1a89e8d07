// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t46', () => {
  it('adds', () => {
    expect(46 + 1).toBe(47);
  });

  it('compares objects', () => {
    expect({ file: 46, tags: ['a', 'b'] }).toEqual({ file: 46, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 46)).toEqual([46, 92, 138]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t46'");
  });
});
