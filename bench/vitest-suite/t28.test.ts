// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t28', () => {
  it('adds', () => {
    expect(28 + 1).toBe(29);
  });

  it('compares objects', () => {
    expect({ file: 28, tags: ['a', 'b'] }).toEqual({ file: 28, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 28)).toEqual([28, 56, 84]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t28'");
  });
});
