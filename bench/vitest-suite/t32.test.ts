// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t32', () => {
  it('adds', () => {
    expect(32 + 1).toBe(33);
  });

  it('compares objects', () => {
    expect({ file: 32, tags: ['a', 'b'] }).toEqual({ file: 32, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 32)).toEqual([32, 64, 96]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t32'");
  });
});
