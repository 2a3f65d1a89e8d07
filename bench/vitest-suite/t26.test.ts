// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t26', () => {
  it('adds', () => {
    expect(26 + 1).toBe(27);
  });

  it('compares objects', () => {
    expect({ file: 26, tags: ['a', 'b'] }).toEqual({ file: 26, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 26)).toEqual([26, 52, 78]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t26'");
  });
});
