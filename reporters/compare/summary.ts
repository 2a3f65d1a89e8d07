// The plain-text comparison for a terminal or a CI log: a verdict line, then one line per finding,
// regressions first and largest first, so the first named test is the one to look at.
import {
  METRIC_LABEL,
  countsLine,
  startedReachingText,
  startedWritingText,
  formatChange,
  formatSignificance,
  plural,
  runsLine,
} from './format.js';
import type { Comparison, Finding } from './model.js';

function findingLine(label: string, f: Finding): string {
  return `${label} ${f.key}: ${METRIC_LABEL[f.metric]} ${formatChange(f.comparison)}, ${formatSignificance(f.comparison)}`;
}

export function renderSummary(c: Comparison, title = 'ringfence compare'): string {
  const lines = [
    `${title}: ${c.regressed ? 'REGRESSED' : 'no regressions'}: ${countsLine(c)} (${plural(c.tests.length, 'test')}; ${runsLine(c)})`,
    ...c.regressions.map((f) => findingLine('REGRESSED', f)),
    ...c.improvements.map((f) => findingLine('IMPROVED ', f)),
    ...c.statusChanges.map((s) => `STATUS    ${s.key}: ${s.from} → ${s.to}`),
    ...c.startedWriting.map((w) => `WRITES    ${w.key}: ${startedWritingText(w)}`),
    ...(c.startedReaching ?? []).map((r) => `REACHES   ${r.key}: ${startedReachingText(r)}`),
    ...c.added.map((key) => `ADDED     ${key}`),
    ...c.removed.map((key) => `REMOVED   ${key}`),
  ];
  return `${lines.join('\n')}\n`;
}
