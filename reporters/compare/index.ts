// `compare`: load two sides of results (JSON or ringfence JUnit), match tests by id, judge each change,
// and render it (text here; Markdown in ../markdown.ts, HTML in ../html.ts).
import type { RunReport } from '../types.js';
import { loadSide, sideFromReport } from './load.js';
import { compareSides, DEFAULT_OPTIONS, type CompareOptions, type Comparison } from './model.js';
import type { Side } from './runs.js';
import { renderSummary } from './summary.js';

export { loadSide, sideFiles, sideFromReport } from './load.js';
export { CompareInputError, METRICS, type MetricName, type Side } from './runs.js';
export {
  compareSides,
  changeSize,
  COMPARISON_SCHEMA,
  DEFAULT_OPTIONS,
  type CompareOptions,
  type Comparison,
  type Finding,
  type MetricComparison,
  type TestComparison,
} from './model.js';
export { renderSummary } from './summary.js';
export { ALPHA } from './stats.js';

/**
 * The run that just ended (`head`) against a baseline: results files, or a side loaded earlier (as
 * `ci --baseline` does before it runs, so a `--json` file that is also the baseline is read before it
 * is overwritten). Returns the comparison and its text summary, for `ringfence ci --baseline` and the
 * Vitest reporter. Throws a CompareInputError naming an unreadable baseline file.
 */
export function compareWithBaseline(
  baseline: readonly string[] | Side,
  head: RunReport,
  options: CompareOptions = DEFAULT_OPTIONS,
): { comparison: Comparison; summary: string } {
  const base = isSide(baseline) ? baseline : loadSide(baseline);
  const comparison = compareSides(base, sideFromReport(head, 'this run'), options);
  return { comparison, summary: renderSummary(comparison, 'ringfence compare (baseline → this run)') };
}

function isSide(x: readonly string[] | Side): x is Side {
  return !Array.isArray(x);
}

/** Just the text of compareWithBaseline: what to print at the end of a run. */
export function comparisonSummary(baseFiles: readonly string[], head: RunReport): string {
  return compareWithBaseline(baseFiles, head).summary;
}
