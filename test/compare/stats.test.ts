// The statistics behind `compare`'s noise rule: medians, range separation and the Mann-Whitney U test,
// checked against values worked out by hand and against its own symmetries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALPHA, mannWhitneyU, median, normalCdf, separated } from '../../reporters/compare/stats.js';

describe('median and ranges', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('calls ranges apart only when every head value is beyond every base value', () => {
    expect(separated([1, 2, 3], [4, 5], 'up')).toBe(true);
    expect(separated([1, 2, 3], [3, 5], 'up')).toBe(false); // touching ranges overlap
    expect(separated([4, 5], [1, 2], 'down')).toBe(true);
    expect(separated([1, 2, 3], [4, 5], 'down')).toBe(false);
    expect(separated([], [1], 'up')).toBe(false);
  });
});

describe('Mann-Whitney U (two-sided)', () => {
  it('gives the exact p of fully separated samples: 2 / C(n+m, n)', () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6])?.p).toBeCloseTo(2 / 20, 10);
    expect(mannWhitneyU([1, 2, 3, 4], [5, 6, 7, 8])?.p).toBeCloseTo(2 / 70, 10);
    expect(mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])?.p).toBeCloseTo(2 / 252, 10);
    expect(mannWhitneyU([1, 2, 3, 4], [5, 6, 7, 8])?.method).toBe('exact');
    // 3 runs a side can never reach the level on ranks alone: the reason ranges apart also count
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6])!.p).toBeGreaterThan(ALPHA);
  });

  it('gives U as the number of (base, head) pairs with head above', () => {
    // head 4 beats 1,2,3; head 2.5 beats 1,2 → U = 5 of 6
    expect(mannWhitneyU([1, 2, 3], [4, 2.5])?.u).toBe(5);
  });

  it('counts an interleaved sample as no evidence, and all-equal samples as p = 1', () => {
    expect(mannWhitneyU([1, 3, 5, 7], [2, 4, 6, 8])!.p).toBeGreaterThan(0.5);
    expect(mannWhitneyU([5, 5, 5], [5, 5, 5])).toEqual({ u: 4.5, p: 1, method: 'exact' });
  });

  it('is exact with ties in small samples, where the normal approximation would call noise a change', () => {
    const tied = mannWhitneyU([10, 10, 11, 12, 12, 13], [14, 15, 15, 16, 17, 18]);
    expect(tied?.method).toBe('exact');
    expect(tied!.p).toBeCloseTo(2 / 924, 9); // fully apart: one of C(12, 6) arrangements each way
    // overlapping, tied: the permutation p is 4/70 (of C(8, 4) splits of the ranks, 2 as extreme each
    // way, counting ties); the normal approximation gave 0.0325 here, a false "significant"
    const overlap = mannWhitneyU([1, 1, 1, 2], [2, 3, 3, 3]);
    expect(overlap?.method).toBe('exact');
    expect(overlap!.p).toBeCloseTo(4 / 70, 9);
    expect(overlap!.p).toBeGreaterThan(ALPHA);
  });

  it('uses the normal approximation beyond 20 values a side, with ties', () => {
    const base = Array.from({ length: 25 }, (_, i) => i % 5);
    const head = base.map((v) => v + 3);
    const test = mannWhitneyU(base, head);
    expect(test?.method).toBe('normal');
    expect(test!.p).toBeLessThan(ALPHA);
  });

  it('is symmetric, bounded, and U + U\u2032 = n·m', () => {
    const sample = fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const ab = mannWhitneyU(a, b)!;
        const ba = mannWhitneyU(b, a)!;
        expect(ab.p).toBeGreaterThanOrEqual(0);
        expect(ab.p).toBeLessThanOrEqual(1);
        expect(ab.p).toBeCloseTo(ba.p, 9);
        expect(ab.u + ba.u).toBeCloseTo(a.length * b.length, 9);
      }),
      { numRuns: 300 },
    );
  });

  it('has a normal CDF accurate to the 4th decimal', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 4);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 4);
  });
});
