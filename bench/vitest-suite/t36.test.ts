// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t36', () => {
  it('adds', () => {
    expect(36 + 1).toBe(37);
  });

  it('compares objects', () => {
    expect({ file: 36, tags: ['a', 'b'] }).toEqual({ file: 36, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 36)).toEqual([36, 72, 108]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t36'");
  });
});
