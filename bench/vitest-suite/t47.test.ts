// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t47', () => {
  it('adds', () => {
    expect(47 + 1).toBe(48);
  });

  it('compares objects', () => {
    expect({ file: 47, tags: ['a', 'b'] }).toEqual({ file: 47, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 47)).toEqual([47, 94, 141]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t47'");
  });
});
