// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t35', () => {
  it('adds', () => {
    expect(35 + 1).toBe(36);
  });

  it('compares objects', () => {
    expect({ file: 35, tags: ['a', 'b'] }).toEqual({ file: 35, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 35)).toEqual([35, 70, 105]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t35'");
  });
});
