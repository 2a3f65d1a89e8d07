// The comparison as one self-contained HTML page that works offline: Chart.js (a well-kept chart
// library, MIT) is inlined from the installed package, the data is embedded as JSON, and nothing is
// fetched at view time. It shows a bar chart of per-test CPU and memory changes, a scatter of CPU
// against peak memory coloured by change, a table sortable by a click on any header, and, when there
// are more than two runs in all, a small history line per test.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { METRICS } from './compare/runs.js';
import type { Comparison, TestComparison } from './compare/model.js';
import {
  METRIC_LABEL,
  countsLine,
  formatChange,
  formatPct,
  formatSignificance,
  formatValue,
  runsLine,
  startedWritingText,
} from './compare/format.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './html-page.js';
import { writeFileAtomic } from './atomic.js';

let chartJs: string | undefined;

/**
 * Chart.js's UMD build, found through Node's resolution from this module (so it works from an installed
 * ringfence as well as from the repository): the package's exports name no UMD subpath, so resolve its
 * main entry and take the UMD file beside it in dist/.
 */
export function chartJsSource(): string {
  if (chartJs === undefined) {
    const main = createRequire(import.meta.url).resolve('chart.js');
    chartJs = readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
  }
  return chartJs;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element: no `<` can open `</script>` or `<!--`. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const MiB = 1024 ** 2;

function median(t: TestComparison, side: 'base' | 'head', metric: 'cpu' | 'memory'): number | null {
  const m = t.metrics[metric];
  return side === 'base' ? m.baseMedian : m.headMedian;
}

/** What the page script reads: the comparison with every figure already formatted. */
function pageData(c: Comparison): unknown {
  const totalRuns = c.base.runs.length + c.head.runs.length;
  return {
    metrics: METRICS.map((name) => ({ name, label: METRIC_LABEL[name] })),
    history: totalRuns > 2,
    tests: c.tests.map((t, rank) => {
      const side = t.presence === 'removed' ? 'base' : 'head';
      const cpu = median(t, side, 'cpu');
      const memory = median(t, side, 'memory');
      return {
        key: t.key,
        rank,
        presence: t.presence,
        verdict: t.verdict,
        status:
          t.presence === 'both' && t.statusChanged
            ? `${t.baseStatus} → ${t.headStatus}`
            : t.presence === 'added'
              ? `added (${t.headStatus})`
              : t.presence === 'removed'
                ? `removed (${t.baseStatus})`
                : t.headStatus,
        point: cpu === null || memory === null ? null : { cpuMs: cpu, memoryMiB: memory / MiB },
        metrics: Object.fromEntries(
          METRICS.map((name) => {
            const m = t.metrics[name];
            return [
              name,
              {
                before: m.baseMedian,
                after: m.headMedian,
                beforeText: formatValue(name, m.baseMedian),
                afterText: formatValue(name, m.headMedian),
                pct: m.pct === null ? null : m.pct,
                pctText: formatPct(m),
                text: formatChange(m),
                verdict: m.verdict,
                significance: formatSignificance(m),
              },
            ];
          }),
        ),
        history: t.history.map((p) => ({
          side: p.side,
          run: `${p.side} ${p.run}`,
          cpuMs: p.metrics.cpu,
          memoryMiB: p.metrics.memory === null ? null : p.metrics.memory / MiB,
        })),
      };
    }),
  };
}

/** The tests that started writing outside their workdir, when any: a list above the table. */
function startedWritingSection(c: Comparison): string {
  if (c.startedWriting.length === 0) return '';
  const items = c.startedWriting
    .map((w) => `<li><code>${escapeHtml(w.key)}</code>: ${escapeHtml(startedWritingText(w))}</li>`)
    .join('');
  return `<section id="started-writing"><h2>Started writing outside the workdir</h2><ul>${items}</ul></section>\n`;
}

export function renderHtml(c: Comparison): string {
  const top = c.regressions[0];
  const verdict = top
    ? `${c.regressions.length} regression${c.regressions.length === 1 ? '' : 's'} — largest: ${METRIC_LABEL[top.metric]} ${formatPct(top.comparison)} in ${top.key}`
    : `No resource regressions in ${c.tests.length} tests`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>ringfence compare: ${escapeHtml(verdict)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1 class="${c.regressed ? 'bad' : 'good'}">${escapeHtml(verdict)}</h1>
<p class="meta">${escapeHtml(countsLine(c))}. ${escapeHtml(runsLine(c))}.<br>BASE: ${escapeHtml(c.base.files.join(', '))} · HEAD: ${escapeHtml(c.head.files.join(', '))}</p>
<div class="charts">
  <div class="chart"><h2>Change per test: CPU and memory peak (faded: within noise or limits)</h2><div class="box" id="bars-box"><canvas id="bars" role="img" aria-label="bar chart of per-test changes"></canvas></div></div>
  <div class="chart"><h2>CPU against memory peak, coloured by change</h2><div class="box" style="height:320px"><canvas id="scatter" role="img" aria-label="scatter of CPU against memory peak"></canvas></div></div>
</div>
${startedWritingSection(c)}<section><h2>All tests (click a header to sort)</h2><div class="table-box" id="tests-box"><table id="tests"></table></div></section>
<script type="application/json" id="comparison-data">${scriptJson(pageData(c))}</script>
<script>${chartJsSource().replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

export function writeHtmlFile(file: string, c: Comparison): void {
  writeFileAtomic(file, renderHtml(c));
}
