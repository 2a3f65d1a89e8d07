// `ringfence compare BASE HEAD`: which tests got more expensive between two sets of runs. BASE and HEAD
// are each a results file (JSON, or JUnit written by ringfence), a comma-separated list of them, or a
// directory of them. Exit 0 no regression, 1 a regression past threshold and floor that is significant
// (or could not be judged: one run a side), 2 unreadable input or bad flags (naming the file or the
// flag; no report written).
import type { Command } from 'commander';
import path from 'node:path';
import {
  CompareInputError,
  DEFAULT_OPTIONS,
  METRICS,
  compareSides,
  loadSide,
  renderSummary,
  sideFiles,
  type CompareOptions,
  type MetricName,
} from '../../reporters/compare/index.js';
import { renderMarkdown } from '../../reporters/markdown.js';
import { renderHtml } from '../../reporters/html.js';
import { assertWritable, writeFileAtomic } from '../../reporters/atomic.js';
import { InputError, parseDuration, parseInteger, parseSize } from '../job/units.js';

export const EXIT_COMPARE_BAD_INPUT = 2;

interface CompareFlags {
  threshold?: string;
  minDelta?: string;
  markdown?: string;
  html?: string;
  json?: string;
}

/** `cpu=10%,memory=5%`: figure name → value text; unknown names and malformed parts refused. */
function pairs(field: string, text: string): Map<MetricName, string> {
  const out = new Map<MetricName, string>();
  for (const part of text.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!match)
      throw new InputError(field, `expected figure=value[,figure=value…], got ${JSON.stringify(part)}`);
    const name = match[1] as MetricName;
    if (!METRICS.includes(name))
      throw new InputError(
        field,
        `unknown figure ${JSON.stringify(match[1])} (one of ${METRICS.join(', ')})`,
      );
    out.set(name, match[2] as string);
  }
  return out;
}

export function parseThresholds(text: string | undefined): CompareOptions['threshold'] {
  const threshold = { ...DEFAULT_OPTIONS.threshold };
  if (text === undefined) return threshold;
  for (const [name, value] of pairs('threshold', text)) {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(value);
    if (!match)
      throw new InputError(
        'threshold',
        `${name}: expected a percentage like 10%, got ${JSON.stringify(value)}`,
      );
    threshold[name] = Number(match[1]) / 100;
  }
  return threshold;
}

export function parseMinDelta(text: string | undefined): CompareOptions['minDelta'] {
  const minDelta = { ...DEFAULT_OPTIONS.minDelta };
  if (text === undefined) return minDelta;
  for (const [name, value] of pairs('min-delta', text)) {
    const field = `min-delta ${name}`;
    // 0 turns a floor off; the shared parsers take only positive sizes and durations
    if (/^0+(\.0+)?(ms|s|m|h|b|[kmg]i?b?)?$/i.test(value)) minDelta[name] = 0;
    else if (name === 'memory' || name === 'io' || name === 'disk') minDelta[name] = parseSize(field, value);
    else if (name === 'pids') minDelta[name] = parseInteger(field, value, 0, 1_000_000);
    else minDelta[name] = parseDuration(field, value);
  }
  return minDelta;
}

export function compareCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare the resources tests used between two sets of runs, and flag the regressions')
    .argument(
      '<base>',
      'results before: a JSON or JUnit results file, a comma-separated list, or a directory',
    )
    .argument('<head>', 'results after, the same way')
    .option(
      '--threshold <figure=pct,…>',
      'relative change that counts (default cpu=10%,memory=5%,wall=20%,pids=20%,io=10%,disk=50%)',
    )
    .option(
      '--min-delta <figure=value,…>',
      'absolute change that counts (default cpu=20ms,memory=1MiB,wall=50ms,pids=2,io=1MiB,disk=1MiB)',
    )
    .option('--markdown <file>', 'write the comparison as Markdown (a PR comment, $GITHUB_STEP_SUMMARY)')
    .option('--html <file>', 'write a self-contained HTML page with charts')
    .option('--json <file>', 'write the comparison as JSON (ringfence.comparison/1)')
    .action((base: string, head: string, flags: CompareFlags) => setExit(compare(base, head, flags)));
}

function compare(baseArg: string, headArg: string, flags: CompareFlags): number {
  let outputs: [string, string][];
  let summary: string;
  let regressed: boolean;
  try {
    const options: CompareOptions = {
      threshold: parseThresholds(flags.threshold),
      minDelta: parseMinDelta(flags.minDelta),
    };
    const comparison = compareSides(loadSide(sideFiles(baseArg)), loadSide(sideFiles(headArg)), options);
    summary = renderSummary(comparison);
    regressed = comparison.regressed;
    // every report rendered before any is written: bad input leaves no file behind
    outputs = [];
    if (flags.markdown) outputs.push([flags.markdown, renderMarkdown(comparison)]);
    if (flags.html) outputs.push([flags.html, renderHtml(comparison)]);
    if (flags.json) outputs.push([flags.json, `${JSON.stringify(comparison, null, 2)}\n`]);
  } catch (error) {
    if (error instanceof InputError) {
      process.stderr.write(`ringfence compare: --${error.field}: ${error.reason}\n`);
      return EXIT_COMPARE_BAD_INPUT;
    }
    if (error instanceof CompareInputError) {
      process.stderr.write(`ringfence compare: ${error.message}\n`);
      return EXIT_COMPARE_BAD_INPUT;
    }
    throw error;
  }
  try {
    // every place checked before the first write: a bad --html path leaves no --markdown file either
    for (const [file] of outputs) assertWritable(file);
    for (const [file, text] of outputs) writeFileAtomic(path.resolve(file), text);
  } catch (error) {
    process.stderr.write(`ringfence compare: ${(error as Error).message}\n`);
    return EXIT_COMPARE_BAD_INPUT;
  }
  process.stdout.write(summary);
  return regressed ? 1 : 0;
}
