// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t16', () => {
  it('adds', () => {
    expect(16 + 1).toBe(17);
  });

  it('compares objects', () => {
    expect({ file: 16, tags: ['a', 'b'] }).toEqual({ file: 16, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 16)).toEqual([16, 32, 48]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t16'");
  });
});
