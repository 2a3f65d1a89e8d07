// How figures read in every comparison report (terminal, Markdown, HTML tooltips): one place, so the
// three agree. Kept here rather than shared with harness/job/format.ts: reporters import harness types only.
import type { MetricName } from './runs.js';
import type { Comparison, MetricComparison, StartedReaching, StartedWriting } from './model.js';

export const METRIC_LABEL: Record<MetricName, string> = {
  cpu: 'CPU',
  wall: 'wall',
  memory: 'memory peak',
  pids: 'pids peak',
  io: 'storage I/O',
  disk: 'disk left',
};

export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  const sign = bytes < 0 ? '-' : '';
  if (abs >= 1024 ** 3) return `${sign}${(abs / 1024 ** 3).toFixed(2)} GiB`;
  if (abs >= 1024 ** 2) return `${sign}${(abs / 1024 ** 2).toFixed(1)} MiB`;
  if (abs >= 1024) return `${sign}${(abs / 1024).toFixed(1)} KiB`;
  return `${sign}${Math.round(abs)} B`;
}

export function formatMs(ms: number): string {
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs < 1000) return `${sign}${Math.round(abs)}ms`;
  return `${sign}${(abs / 1000).toFixed(2)}s`;
}

export function formatValue(metric: MetricName, value: number | null): string {
  if (value === null) return '–';
  if (metric === 'memory' || metric === 'io' || metric === 'disk') return formatBytes(value);
  if (metric === 'pids') return String(Math.round(value * 10) / 10);
  return formatMs(value);
}

export function formatDelta(metric: MetricName, delta: number | null): string {
  if (delta === null) return '–';
  return `${delta > 0 ? '+' : delta < 0 ? '' : '±'}${formatValue(metric, delta)}`;
}

export function formatPct(m: MetricComparison): string {
  if (m.delta === null) return '–';
  if (m.pct === null) return m.delta === 0 ? '0%' : 'new';
  const value = m.pct * 100;
  const digits = Math.abs(value) >= 100 ? 0 : 1;
  return `${value > 0 ? '+' : ''}${value.toFixed(digits)}%`;
}

/** `significant (ranges apart, p=0.029)`, `not significant (p=0.41)`, `not judged (1 run)`. */
export function formatSignificance(m: MetricComparison): string {
  if (m.significance === 'not judged') {
    const n = Math.min(m.base.length, m.head.length);
    return `not judged (${n} run${n === 1 ? '' : 's'})`;
  }
  const p = m.p === null ? '' : `p=${m.p < 0.001 ? '<0.001' : m.p.toFixed(3)}`;
  if (m.significance === 'significant') return `significant (${m.separated ? 'ranges apart, ' : ''}${p})`;
  return `not significant (${p})`;
}

/** `3.8 MiB → 7.1 MiB (+3.3 MiB, +86.8%)` */
export function formatChange(m: MetricComparison): string {
  return `${formatValue(m.metric, m.baseMedian)} → ${formatValue(m.metric, m.headMedian)} (${formatDelta(m.metric, m.delta)}, ${formatPct(m)})`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The counts part of the verdict: `2 regressions in 1 test, 0 improvements, 1 status change, …`. */
export function countsLine(c: Comparison): string {
  const regressedTests = new Set(c.regressions.map((f) => f.key)).size;
  return [
    `${plural(c.regressions.length, 'regression')}${c.regressions.length ? ` in ${plural(regressedTests, 'test')}` : ''}`,
    plural(c.improvements.length, 'improvement'),
    plural(c.statusChanges.length, 'status change'),
    ...(c.startedWriting.length
      ? [`${plural(c.startedWriting.length, 'test')} started writing outside the workdir`]
      : []),
    ...(c.startedReaching?.length
      ? [`${plural(c.startedReaching.length, 'test')} started reaching a new host`]
      : []),
    `${c.added.length} added`,
    `${c.removed.length} removed`,
  ].join(', ');
}

/** `3 base runs, 3 head runs` and, when a side has a single run, that significance was not judged. */
export function runsLine(c: Comparison): string {
  const runs = `${plural(c.base.runs.length, 'base run')}, ${plural(c.head.runs.length, 'head run')}`;
  return c.judged
    ? `${runs}; significant = ranges apart or Mann-Whitney U p < ${c.options.alpha}`
    : `${runs}; significance not judged: it needs at least 2 runs a side (ringfence ci --repeat N)`;
}

/** `started reaching 1 new host: evil.example:443` */
export function startedReachingText(r: StartedReaching): string {
  return `started reaching ${plural(r.hosts.length, 'new host')}: ${r.hosts.join(', ')}`;
}

/** `started writing outside its workdir: 2 paths (/root/.leak, /etc/rf)` */
export function startedWritingText(w: StartedWriting): string {
  const more = w.paths - w.examples.length;
  const named = w.examples.length ? ` (${w.examples.join(', ')}${more > 0 ? `, and ${more} more` : ''})` : '';
  return `started writing outside its workdir: ${plural(w.paths, 'path')}${named}`;
}
