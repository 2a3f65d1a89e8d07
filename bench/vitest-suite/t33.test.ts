// One of 50 near-identical small files for bench/vitest-pool.ts: the per-file cost is what is measured.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('t33', () => {
  it('adds', () => {
    expect(33 + 1).toBe(34);
  });

  it('compares objects', () => {
    expect({ file: 33, tags: ['a', 'b'] }).toEqual({ file: 33, tags: ['a', 'b'] });
  });

  it('maps an array', () => {
    expect([1, 2, 3].map((x) => x * 33)).toEqual([33, 66, 99]);
  });

  it('reads itself through node:fs', () => {
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain("describe('t33'");
  });
});
