// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t27', () => {
  it('adds', () => {
    expect(27 + 1).toBe(28);
  });

  it('compares objects', () => {
    expect({ file: 27, tags: ['a', 'b'] }).toEqual({ file: 27, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 27)).toEqual([27, 54, 81]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t27'");
  });
});
