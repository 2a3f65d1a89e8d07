// docs/options.md's option table, rendered from the one declaration of job options
// (harness/job/options.ts) so the docs cannot drift from the flags, the manifest and the Vitest pool.
// `npm run docs:options` rewrites the table between its markers; `-- --check` only says whether it
// is current (exit 1 if not). test/options-doc.test.ts fails when the file and the declaration differ.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JOB_OPTIONS, cliFlags, manifestKey, poolName, type JobOption } from '../harness/job/options.js';

export const OPTIONS_DOC = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'docs',
  'options.md',
);
export const START = '<!-- options:start -->';
export const END = '<!-- options:end -->';

/** `|` would end a table cell, even inside backticks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

const code = (text: string): string => `\`${text}\``;

const KIND: Record<JobOption['kind'], string> = {
  size: 'size (b, k, m, g, t; a bare number is bytes)',
  duration: 'duration (ms, s, m, h; a bare number is seconds)',
  whole: 'whole number',
  number: 'number',
  text: 'text',
  boolean: 'true or false',
  choice: 'one of',
  path: 'path',
  list: 'list',
  map: 'variables',
};

/** What the option takes, as the CLI and a manifest write it. */
function value(option: JobOption): string {
  if (option.kind === 'choice' && option.listForm)
    return [...(option.choices ?? []), `${option.listForm.form}:${option.listForm.item},…`]
      .map(code)
      .join(', ');
  if (option.kind === 'choice') return (option.choices ?? []).map(code).join(', ');
  if (option.kind === 'boolean')
    return option.cli
      ? `on or off${option.manifest ? ' (a manifest: `true` or `false`)' : ''}`
      : KIND.boolean;
  const what = option.expects ?? KIND[option.kind];
  const repeatable =
    !option.cli || (option.kind !== 'list' && option.kind !== 'map')
      ? ''
      : option.kind === 'map'
        ? ' (a repeatable KEY=VALUE flag; a manifest: a map)'
        : ' (a repeatable flag; a manifest: a list)';
  return `${what}${repeatable}, e.g. ${code(option.example)}`;
}

function manifestCell(option: JobOption): string {
  const key = manifestKey(option);
  if (key === undefined || option.manifest === undefined) return '—';
  const notes = [
    option.manifest.scope === 'job' ? "a job's own, not in `defaults`" : '',
    option.manifest.map === 'path' || option.key === 'volumes' ? 'relative to the manifest' : '',
  ].filter(Boolean);
  return `${code(key)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

function poolCell(option: JobOption): string {
  if (!option.pool) return '—';
  const fallback = option.pool.default;
  return `${code(poolName(option))}${fallback === undefined ? '' : ` (default ${code(String(fallback))})`}`;
}

/** The table: one row an option, in the declaration's (`ringfence run --help`'s) order. */
export function renderOptionsTable(options: readonly JobOption[] = JOB_OPTIONS): string {
  const rows = options.map((option) =>
    [
      option.library === false ? '— (manifest only)' : code(option.key),
      value(option),
      option.cli ? code(cliFlags(option)) : '—',
      manifestCell(option),
      poolCell(option),
      option.default,
      option.doc ?? option.help,
    ].map(cell),
  );
  const header = [
    'option (library)',
    'value',
    'CLI flag',
    'manifest key',
    'Vitest pool',
    'default',
    'what it does',
  ];
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** The table between the markers of `doc`, or undefined when they are missing. */
export function tableIn(doc: string): string | undefined {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END, start);
  return start < 0 || end < 0 ? undefined : doc.slice(start + START.length, end).trim();
}

/** `doc` with the table between its markers replaced by `table`. */
export function withTable(doc: string, table: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END, start);
  if (start < 0 || end < 0) throw new Error(`${OPTIONS_DOC}: no ${START} … ${END} markers`);
  return `${doc.slice(0, start + START.length)}\n${table}\n${doc.slice(end)}`;
}

function main(args: string[]): number {
  const doc = fs.readFileSync(OPTIONS_DOC, 'utf8');
  const table = renderOptionsTable();
  if (args.includes('--check')) {
    if (tableIn(doc) === table) return 0;
    process.stderr.write(`${OPTIONS_DOC}: the option table is not current: run npm run docs:options\n`);
    return 1;
  }
  fs.writeFileSync(OPTIONS_DOC, withTable(doc, table));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = main(process.argv.slice(2));
