// The comparison of two sides (BASE, HEAD) of runs: tests matched by their stable id, per figure the
// medians, delta, relative change and whether the change is significant, and a verdict per test.
//
// The rule (documented in docs/compare.md, "The noise rule"): a figure REGRESSED when HEAD's median is
// above BASE's by at least the relative threshold AND by at least the absolute floor, AND the change is
// significant or could not be judged:
// - significant: both sides have at least 2 samples and either the two sides' ranges do not overlap
//   (every HEAD sample beyond every BASE sample) or a two-sided Mann-Whitney U test gives p < ALPHA;
// - not judged: a side has a single sample, so noise cannot be told from a change. Such a change still
//   counts (a one-run gate must not wave through a doubled memory peak), and every report says that
//   significance was not judged.
// IMPROVED is the same rule downwards.
import type { JobOutcome } from '../types.js';
import { METRICS, type MetricName, type Run, type Side } from './runs.js';
import { ALPHA, mannWhitneyU, median, separated } from './stats.js';

export const COMPARISON_SCHEMA = 'ringfence.comparison/1' as const;

export interface CompareOptions {
  /** Relative thresholds as fractions of BASE's median (0.1 = 10%). */
  threshold: Record<MetricName, number>;
  /** Absolute floors in each figure's unit: ms for cpu and wall, bytes for memory, io and disk, tasks for pids. */
  minDelta: Record<MetricName, number>;
}

export const DEFAULT_OPTIONS: CompareOptions = {
  // io: storage bytes read + written; the page cache and writeback make small amounts noisy
  // disk: bytes left in the capped /tmp and layers, exact at the job's end; a floor keeps a few
  // KiB of a tool's cache from counting
  threshold: { cpu: 0.1, memory: 0.05, wall: 0.2, pids: 0.2, io: 0.1, disk: 0.5 },
  minDelta: { cpu: 20, memory: 1024 ** 2, wall: 50, pids: 2, io: 1024 ** 2, disk: 1024 ** 2 },
};

export type Significance = 'significant' | 'not significant' | 'not judged';
export type Verdict = 'regression' | 'improvement' | 'unchanged';

export interface MetricComparison {
  metric: MetricName;
  base: number[];
  head: number[];
  baseMedian: number | null;
  headMedian: number | null;
  /** HEAD median − BASE median; null when a side has no figure. */
  delta: number | null;
  /** delta / BASE median; null when a side has no figure or BASE's median is 0. */
  pct: number | null;
  significance: Significance;
  /** Whether the two sides' ranges do not overlap in the direction of the change (null: not judged). */
  separated: boolean | null;
  /** Two-sided Mann-Whitney U p-value (null: not judged). */
  p: number | null;
  verdict: Verdict;
}

export interface HistoryPoint {
  side: 'base' | 'head';
  run: string;
  outcome: JobOutcome;
  metrics: Record<MetricName, number | null>;
  /** Paths written outside the workdir (null: not watched) and the first few of them. */
  written: number | null;
  writtenPaths: string[];
  /** `host:port`s tried through an allow-list (null or absent: not watched). */
  hosts?: string[] | null;
}

/**
 * A test that wrote nothing outside its workdir in every BASE run (each one watched) and something in
 * a HEAD run: the pollution that makes suites order-dependent, caught the day it appears.
 */
export interface StartedWriting {
  key: string;
  /** The most paths one HEAD run wrote. */
  paths: number;
  /** The first few of them, from a JSON results file (empty from JUnit). */
  examples: string[];
}

/**
 * A test that, under an allow-list in every BASE run, tried a `host:port` in a HEAD run that no BASE
 * run tried (reached or refused): the network twin of StartedWriting.
 */
export interface StartedReaching {
  key: string;
  /** The new `host:port`s, in first-seen order. */
  hosts: string[];
}

export interface TestComparison {
  /** The stable id (job name / test file path); `suite › id` when ids repeat across suites. */
  key: string;
  suite: string;
  id: string;
  presence: 'both' | 'added' | 'removed';
  /** Distinct outcomes of each side, most frequent first (`passed`, `passed/oom`); '' when absent. */
  baseStatus: string;
  headStatus: string;
  statusChanged: boolean;
  metrics: Record<MetricName, MetricComparison>;
  verdict: Verdict | 'added' | 'removed';
  /** Every sample in run order, BASE first: the history line of the HTML page. */
  history: HistoryPoint[];
}

export interface Finding {
  key: string;
  metric: MetricName;
  comparison: MetricComparison;
}

export interface Comparison {
  schema: typeof COMPARISON_SCHEMA;
  base: { files: string[]; runs: string[] };
  head: { files: string[]; runs: string[] };
  options: CompareOptions & { alpha: number };
  /** Whether significance could be judged: at least 2 runs on each side. */
  judged: boolean;
  /** Regressions first (largest change first), then improvements, the rest by key. */
  tests: TestComparison[];
  /** One per regressed (test, figure), largest relative change first. */
  regressions: Finding[];
  improvements: Finding[];
  statusChanges: { key: string; from: string; to: string }[];
  /** Tests that started writing outside their workdir: a change listed, not a regression. */
  startedWriting: StartedWriting[];
  /** Tests that started reaching a host their base runs never tried: a change listed, not a regression. */
  startedReaching?: StartedReaching[];
  added: string[];
  removed: string[];
  /** The exit-worthy answer: some figure regressed. */
  regressed: boolean;
}

/** Sort size of a change: its relative size, infinite when BASE was 0. */
export function changeSize(m: MetricComparison): number {
  if (m.delta === null || m.delta === 0) return 0;
  return m.pct === null ? Infinity : Math.abs(m.pct);
}

function compareMetric(
  metric: MetricName,
  base: number[],
  head: number[],
  options: CompareOptions,
): MetricComparison {
  const baseMedian = median(base);
  const headMedian = median(head);
  const delta = baseMedian === null || headMedian === null ? null : headMedian - baseMedian;
  const pct = delta === null || !baseMedian ? null : delta / baseMedian;
  const judged = base.length >= 2 && head.length >= 2;
  let significance: Significance = 'not judged';
  let apart: boolean | null = null;
  let p: number | null = null;
  if (judged && delta !== null) {
    apart = delta !== 0 && separated(base, head, delta > 0 ? 'up' : 'down');
    p = mannWhitneyU(base, head)?.p ?? 1;
    significance = apart || p < ALPHA ? 'significant' : 'not significant';
  }
  const big =
    delta !== null &&
    delta !== 0 &&
    (pct === null || Math.abs(pct) >= options.threshold[metric]) &&
    Math.abs(delta) >= options.minDelta[metric];
  const verdict: Verdict =
    big && significance !== 'not significant' && delta !== null
      ? delta > 0
        ? 'regression'
        : 'improvement'
      : 'unchanged';
  return {
    metric,
    base,
    head,
    baseMedian,
    headMedian,
    delta,
    pct,
    significance,
    separated: apart,
    p,
    verdict,
  };
}

/** `passed`, `passed/oom`: the distinct outcomes, most frequent first (ties by name). */
function statusOf(outcomes: JobOutcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([o]) => o)
    .join('/');
}

function sameStatus(a: string, b: string): boolean {
  return a.split('/').sort().join('/') === b.split('/').sort().join('/');
}

interface Collected {
  suite: string;
  id: string;
  points: HistoryPoint[];
}

/**
 * Ids match across sides by themselves (a renamed manifest or Vitest project still matches), unless
 * on one side an id belongs to two suites: then every test is matched by suite and id.
 */
function keyFunction(base: Side, head: Side): (suite: string, id: string) => string {
  const twoSuites = (side: Side): boolean => {
    const suiteOf = new Map<string, string>();
    for (const s of side.runs.flatMap((run) => run.samples)) {
      const seen = suiteOf.get(s.id);
      if (seen !== undefined && seen !== s.suite) return true;
      suiteOf.set(s.id, s.suite);
    }
    return false;
  };
  const ambiguous = twoSuites(base) || twoSuites(head);
  return ambiguous ? (suite, id) => `${suite} › ${id}` : (_suite, id) => id;
}

function collect(
  runs: Run[],
  side: 'base' | 'head',
  keyOf: (s: string, i: string) => string,
  into: Map<string, Collected>,
): void {
  for (const run of runs) {
    for (const s of run.samples) {
      const key = keyOf(s.suite, s.id);
      const c = into.get(key) ?? { suite: s.suite, id: s.id, points: [] };
      c.points.push({
        side,
        run: run.label,
        outcome: s.outcome,
        metrics: s.metrics,
        written: s.written,
        writtenPaths: s.writtenPaths,
        hosts: s.hosts ?? null,
      });
      into.set(key, c);
    }
  }
}

function startedWritingOf(key: string, base: HistoryPoint[], head: HistoryPoint[]): StartedWriting | null {
  if (base.length === 0 || !base.every((pt) => pt.written === 0)) return null;
  const wrote = head.filter((pt) => (pt.written ?? 0) > 0);
  if (wrote.length === 0) return null;
  const most = wrote.reduce((a, b) => ((b.written ?? 0) > (a.written ?? 0) ? b : a));
  return { key, paths: most.written ?? 0, examples: most.writtenPaths };
}

function startedReachingOf(key: string, base: HistoryPoint[], head: HistoryPoint[]): StartedReaching | null {
  if (base.length === 0 || !base.every((pt) => Array.isArray(pt.hosts))) return null;
  const known = new Set(base.flatMap((pt) => pt.hosts ?? []));
  const fresh = [...new Set(head.flatMap((pt) => pt.hosts ?? []))].filter((h) => !known.has(h));
  return fresh.length > 0 ? { key, hosts: fresh } : null;
}

export function compareSides(base: Side, head: Side, options: CompareOptions = DEFAULT_OPTIONS): Comparison {
  const keyOf = keyFunction(base, head);
  const all = new Map<string, Collected>();
  collect(base.runs, 'base', keyOf, all);
  collect(head.runs, 'head', keyOf, all);

  const tests: TestComparison[] = [];
  const startedWriting: StartedWriting[] = [];
  const startedReaching: StartedReaching[] = [];
  for (const [key, c] of all) {
    const of = (side: 'base' | 'head') => c.points.filter((pt) => pt.side === side);
    const b = of('base');
    const h = of('head');
    const values = (pts: HistoryPoint[], m: MetricName): number[] =>
      pts.map((pt) => pt.metrics[m]).filter((v): v is number => v !== null);
    const metrics = Object.fromEntries(
      METRICS.map((m) => [m, compareMetric(m, values(b, m), values(h, m), options)]),
    ) as Record<MetricName, MetricComparison>;
    const presence = b.length === 0 ? 'added' : h.length === 0 ? 'removed' : 'both';
    const baseStatus = statusOf(b.map((pt) => pt.outcome));
    const headStatus = statusOf(h.map((pt) => pt.outcome));
    const verdicts = METRICS.map((m) => metrics[m].verdict);
    const started = startedWritingOf(key, b, h);
    if (started) startedWriting.push(started);
    const reaching = startedReachingOf(key, b, h);
    if (reaching) startedReaching.push(reaching);
    tests.push({
      key,
      suite: c.suite,
      id: c.id,
      presence,
      baseStatus,
      headStatus,
      statusChanged: presence === 'both' && !sameStatus(baseStatus, headStatus),
      metrics,
      verdict:
        presence !== 'both'
          ? presence
          : verdicts.includes('regression')
            ? 'regression'
            : verdicts.includes('improvement')
              ? 'improvement'
              : 'unchanged',
      history: c.points,
    });
  }

  const findings = (verdict: Verdict): Finding[] =>
    tests
      .flatMap((t) =>
        METRICS.filter((m) => t.metrics[m].verdict === verdict).map((m) => ({
          key: t.key,
          metric: m,
          comparison: t.metrics[m],
        })),
      )
      .sort(
        (a, b) =>
          changeSize(b.comparison) - changeSize(a.comparison) ||
          Math.abs(b.comparison.delta ?? 0) - Math.abs(a.comparison.delta ?? 0) ||
          a.key.localeCompare(b.key),
      );
  const regressions = findings('regression');
  const improvements = findings('improvement');

  // tests in the order of their first finding; the rest: status changes, unchanged, added, removed
  const rank = new Map<string, number>();
  [...regressions, ...improvements].forEach((f, i) => {
    if (!rank.has(f.key)) rank.set(f.key, i);
  });
  const group = (t: TestComparison): number =>
    rank.has(t.key) ? 0 : t.statusChanged ? 1 : t.presence === 'both' ? 2 : t.presence === 'added' ? 3 : 4;
  tests.sort(
    (a, b) =>
      group(a) - group(b) || (rank.get(a.key) ?? 0) - (rank.get(b.key) ?? 0) || a.key.localeCompare(b.key),
  );

  return {
    schema: COMPARISON_SCHEMA,
    base: { files: base.files, runs: base.runs.map((r) => r.label) },
    head: { files: head.files, runs: head.runs.map((r) => r.label) },
    options: { ...options, alpha: ALPHA },
    judged: base.runs.length >= 2 && head.runs.length >= 2,
    tests,
    regressions,
    improvements,
    statusChanges: tests
      .filter((t) => t.statusChanged)
      .map((t) => ({ key: t.key, from: t.baseStatus, to: t.headStatus })),
    startedWriting: startedWriting.sort((a, b) => a.key.localeCompare(b.key)),
    startedReaching: startedReaching.sort((a, b) => a.key.localeCompare(b.key)),
    added: tests.filter((t) => t.presence === 'added').map((t) => t.key),
    removed: tests.filter((t) => t.presence === 'removed').map((t) => t.key),
    regressed: regressions.length > 0,
  };
}
