// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t06', () => {
  it('adds', () => {
    expect(6 + 1).toBe(7);
  });

  it('compares objects', () => {
    expect({ file: 6, tags: ['a', 'b'] }).toEqual({ file: 6, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 6)).toEqual([6, 12, 18]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t06'");
  });
});
