// The comparison as GitHub-flavoured Markdown, for a pull-request comment or $GITHUB_STEP_SUMMARY: a
// one-line verdict, the regressions (largest first), the improvements, status changes, added and
// removed tests, then the full table collapsed in <details>.
import { METRICS, type MetricName } from './compare/runs.js';
import type { Comparison, Finding, TestComparison } from './compare/model.js';
import {
  METRIC_LABEL,
  countsLine,
  formatChange,
  formatDelta,
  formatPct,
  formatSignificance,
  formatValue,
  runsLine,
  startedReachingText,
  startedWritingText,
} from './compare/format.js';

/** Text safe in a table cell: a `|` would end the cell, a newline the row. */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

/** An id as inline code; ids holding a backtick are shown as escaped text instead. */
function code(text: string): string {
  return text.includes('`') ? cell(text).replace(/([`*_[\]<>])/g, '\\$1') : `\`${cell(text)}\``;
}

function table(header: string[], align: ('l' | 'r')[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function findingsTable(findings: Finding[]): string[] {
  return table(
    ['test', 'figure', 'before', 'after', 'Δ', 'Δ%', 'significance'],
    ['l', 'l', 'r', 'r', 'r', 'r', 'l'],
    findings.map((f) => {
      const m = f.comparison;
      return [
        code(f.key),
        METRIC_LABEL[f.metric],
        formatValue(f.metric, m.baseMedian),
        formatValue(f.metric, m.headMedian),
        formatDelta(f.metric, m.delta),
        formatPct(m),
        formatSignificance(m),
      ];
    }),
  );
}

function statusCell(t: TestComparison): string {
  if (t.presence === 'added') return `added (${t.headStatus})`;
  if (t.presence === 'removed') return `removed (${t.baseStatus})`;
  return t.statusChanged ? `${t.baseStatus} → ${t.headStatus}` : t.headStatus;
}

/** before → after for a test on both sides; the one side's median for an added or removed test. */
function figureCell(t: TestComparison, m: MetricName): string {
  const mc = t.metrics[m];
  if (t.presence === 'added') return formatValue(m, mc.headMedian);
  if (t.presence === 'removed') return formatValue(m, mc.baseMedian);
  return formatChange(mc);
}

function verdictLine(c: Comparison): string {
  const top = c.regressions[0];
  if (top) {
    return `### ❌ ringfence compare: ${c.regressions.length === 1 ? '1 regression' : `${c.regressions.length} regressions`} — largest: ${METRIC_LABEL[top.metric]} ${formatPct(top.comparison)} in ${code(top.key)}`;
  }
  const extra = c.statusChanges.length ? `, but ${c.statusChanges.length} status change(s)` : '';
  return `### ✅ ringfence compare: no resource regressions in ${c.tests.length} tests${extra}`;
}

export function renderMarkdown(c: Comparison): string {
  const out: string[] = [verdictLine(c), '', `${countsLine(c)}. _${runsLine(c)}._`];
  if (c.regressions.length) out.push('', '#### Regressions', '', ...findingsTable(c.regressions));
  if (c.improvements.length) out.push('', '#### Improvements', '', ...findingsTable(c.improvements));
  if (c.statusChanges.length) {
    out.push(
      '',
      '#### Status changes',
      '',
      ...table(
        ['test', 'before', 'after'],
        ['l', 'l', 'l'],
        c.statusChanges.map((s) => [code(s.key), s.from, s.to]),
      ),
    );
  }
  if (c.startedWriting.length) {
    out.push(
      '',
      '#### Started writing outside the workdir',
      '',
      ...c.startedWriting.map((w) => `- ${code(w.key)}: ${cell(startedWritingText(w))}`),
    );
  }
  if (c.startedReaching?.length) {
    out.push(
      '',
      '#### Started reaching a new host',
      '',
      ...c.startedReaching.map((r) => `- ${code(r.key)}: ${cell(startedReachingText(r))}`),
    );
  }
  if (c.added.length) out.push('', `**Added:** ${c.added.map(code).join(', ')}`);
  if (c.removed.length) out.push('', `**Removed:** ${c.removed.map(code).join(', ')}`);
  // blank lines around the table inside <details>: GitHub renders Markdown there only after one
  out.push(
    '',
    `<details><summary>All ${c.tests.length} tests</summary>`,
    '',
    ...table(
      ['test', 'status', ...METRICS.map((m) => METRIC_LABEL[m])],
      ['l', 'l', ...METRICS.map((): 'r' => 'r')],
      c.tests.map((t) => [code(t.key), cell(statusCell(t)), ...METRICS.map((m) => cell(figureCell(t, m)))]),
    ),
    '',
    '</details>',
    '',
  );
  return out.join('\n');
}
