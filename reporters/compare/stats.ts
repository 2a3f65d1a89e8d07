// The small statistics `compare` needs: medians, ranges and a two-sided Mann-Whitney U test. Written
// here rather than taken from a package: they are a few lines each, and the exact small-sample
// distribution matters (CI runs are repeated 3–10 times, where normal approximations are poor).

/** The level of the Mann-Whitney U test: a change is significant at p < ALPHA (two-sided). */
export const ALPHA = 0.05;

/** The median of a non-empty list (the mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const hi = sorted[mid] as number;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] as number) + hi) / 2;
}

export interface Range {
  min: number;
  max: number;
}

export function range(values: readonly number[]): Range | null {
  if (values.length === 0) return null;
  return { min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Whether every `head` value lies strictly above (`up`) or below (`down`) every `base` value: the two
 * sides' ranges do not overlap in that direction. Touching ranges (head min = base max) overlap.
 */
export function separated(
  base: readonly number[],
  head: readonly number[],
  direction: 'up' | 'down',
): boolean {
  const b = range(base);
  const h = range(head);
  if (!b || !h) return false;
  return direction === 'up' ? h.min > b.max : h.max < b.min;
}

/** Ranks 1..n of the pooled values, ties given their mean rank (midranks). */
function midranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]?.[0] === order[i]?.[0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]?.[1] as number] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7: plenty for a p-value). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * How many of the C(n+m, n) arrangements of n and m untied values give each U (0..n*m): the exact null
 * distribution, by the recurrence f(n, m, u) = f(n-1, m, u-m) + f(n, m-1, u).
 */
function exactCounts(n: number, m: number): number[] {
  // table[i][j] = distribution for i values in the first sample and j in the second
  let prev: number[][] = Array.from({ length: m + 1 }, () => [1]);
  for (let i = 1; i <= n; i++) {
    const cur: number[][] = [[1]]; // f(i, 0, 0) = 1
    for (let j = 1; j <= m; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      const left = prev[j] ?? []; // i-1 first-sample values, j second: shifted by j (the new largest is first-sample)
      const down = cur[j - 1] ?? []; // i first-sample values, j-1 second
      for (let u = 0; u < size; u++) row[u] = (left[u - j] ?? 0) + (down[u] ?? 0);
      cur.push(row);
    }
    prev = cur;
  }
  return prev[m] ?? [1];
}

/**
 * The exact two-sided p of a rank sum when values are tied: of all C(N, n) ways to pick which n of
 * the pooled (mid)ranks are the head sample's, the share whose rank sum is at least as far out as the
 * observed one, on the smaller side, doubled. Counted by dynamic programming over (values picked, sum)
 * rather than by listing subsets. `ranks` and `observed` are doubled (whole numbers).
 */
function exactTiedP(ranks: readonly number[], n: number, observed: number): number {
  const maxSum = ranks.reduce((s, r) => s + r, 0);
  // ways[k * width + sum]: how many k-subsets of the ranks seen so far sum to `sum` (one flat table)
  const width = maxSum + 1;
  const ways = new Float64Array((n + 1) * width);
  ways[0] = 1;
  for (const r of ranks) {
    for (let k = n; k >= 1; k--) {
      for (let sum = maxSum; sum >= r; sum--) {
        const at = k * width + sum;
        ways[at] = (ways[at] ?? 0) + (ways[at - width - r] ?? 0);
      }
    }
  }
  let total = 0;
  let lower = 0;
  let upper = 0;
  for (let sum = 0; sum <= maxSum; sum++) {
    const count = ways[n * width + sum] ?? 0;
    total += count;
    if (sum <= observed) lower += count;
    if (sum >= observed) upper += count;
  }
  return Math.min(1, (2 * Math.min(lower, upper)) / total);
}

export interface RankTest {
  /** U of the head sample (how many (base, head) pairs have head above base; ties count ½). */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal';
}

/**
 * Two-sided Mann-Whitney U test of `head` against `base`. Exact up to 20 values a side (with ties:
 * the exact permutation distribution of the midrank sum, given those ties — the normal approximation
 * is anti-conservative for small tied samples); beyond, the normal approximation with tie correction
 * and continuity correction. Null when a side has no values.
 */
export function mannWhitneyU(base: readonly number[], head: readonly number[]): RankTest | null {
  const n = head.length;
  const m = base.length;
  if (n === 0 || m === 0) return null;
  const ranks = midranks([...head, ...base]);
  const rankSum = ranks.slice(0, n).reduce((s, r) => s + r, 0);
  const u = rankSum - (n * (n + 1)) / 2;
  const pooled = [...head, ...base];
  const ties = new Map<number, number>();
  for (const v of pooled) ties.set(v, (ties.get(v) ?? 0) + 1);
  const tied = [...ties.values()].some((t) => t > 1);

  if (tied && n <= 20 && m <= 20) {
    // ranks doubled: midranks of ties are halves, and the counting below wants whole numbers
    const doubled = ranks.map((r) => Math.round(r * 2));
    return { u, p: exactTiedP(doubled, n, Math.round(rankSum * 2)), method: 'exact' };
  }
  if (!tied && n <= 20 && m <= 20) {
    const counts = exactCounts(n, m);
    const total = counts.reduce((s, c) => s + c, 0);
    let lower = 0;
    let upper = 0;
    counts.forEach((c, k) => {
      if (k <= u) lower += c;
      if (k >= u) upper += c;
    });
    return { u, p: Math.min(1, (2 * Math.min(lower, upper)) / total), method: 'exact' };
  }

  const N = n + m;
  const tieTerm = [...ties.values()].reduce((s, t) => s + (t ** 3 - t), 0);
  const variance = ((n * m) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { u, p: 1, method: 'normal' }; // every value equal: no evidence of a shift
  const z = Math.max(0, Math.abs(u - (n * m) / 2) - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * (1 - normalCdf(z))), method: 'normal' };
}
