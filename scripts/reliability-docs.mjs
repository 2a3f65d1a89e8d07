#!/usr/bin/env node
// Writes the suite's reliability figures (from `RINGFENCE_RELIABILITY_OUT`, written by the test
// suite's global teardown) into docs/security.md between its reliability markers, as tables a reader
// can scan: `npm run reliability`. The date is the run's (the file's `date`, else when the suite
// wrote it); the host is the file's `host`, else this machine, where the suite has just run.
import fs from 'node:fs';
import os from 'node:os';

const [file = 'reliability.json', target = 'docs/security.md'] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(file, 'utf8'));
const { summary: s, records } = data;
const START = '<!-- reliability:start -->';
const END = '<!-- reliability:end -->';

const date = (data.date ?? fs.statSync(file).mtime.toISOString()).slice(0, 10);
const cgroup = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'cgroup v2' : 'cgroup v1';
const host = data.host ?? `${os.hostname()}: Linux ${os.release()}, ${cgroup}`;

/** A table cell: a `|` would end the cell, a line break the row. */
const cell = (text) =>
  String(text)
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');

// one row per name, sorted, so the page changes only when the figures do (test files finish in any
// order); an attempt the kernel made impossible here says why in its row
function rows(kind) {
  const byName = new Map();
  for (const r of records.filter((r) => r.kind === kind)) {
    const outcome = r.verdict === 'impossible' ? `impossible here: ${r.why ?? 'no reason given'}` : r.verdict;
    byName.set(r.name, [...new Set([...(byName.get(r.name) ?? []), outcome])]);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, outcomes]) => `| ${cell(name)} | ${cell(outcomes.join('; '))} |`);
}

const lines = [
  START,
  `The last full run of the suite (\`npm run reliability\`, ${date}, ${host}):`,
  '',
  '| what | tried | held |',
  '| --- | ---: | ---: |',
  `| attacks from inside a job (contained: the host unchanged) | ${s.attacks.tried} | ${s.attacks.contained} |`,
  `| faults injected (survived: clear result, nothing left) | ${s.faults.injected} | ${s.faults.survived} |`,
  `| bad inputs (clearly refused: field named, documented exit) | ${s.badInputs.tried} | ${s.badInputs.refused} |`,
  `| leftovers checks (cgroups, processes, scratch dirs, mounts) | ${s.leftovers.checks} | ${s.leftovers.found} found |`,
  '',
  '| attack from inside a job | outcome |',
  '| --- | --- |',
  ...rows('attack'),
  '',
  '| fault injected | outcome |',
  '| --- | --- |',
  ...rows('fault'),
  END,
];
const text = fs.readFileSync(target, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`${target} has no ${START} … ${END} block`);
fs.writeFileSync(target, text.slice(0, from) + lines.join('\n') + text.slice(to + END.length));
console.log(`reliability figures written to ${target}`);
