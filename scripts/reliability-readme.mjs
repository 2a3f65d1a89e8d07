#!/usr/bin/env node
// Writes the suite's reliability figures (from `RINGFENCE_RELIABILITY_OUT`, written by the test
// suite's global teardown) into README.md between its reliability markers: `npm run reliability`.
import fs from 'node:fs';

const [file = 'reliability.json', readme = 'README.md'] = process.argv.slice(2);
const { summary: s, records } = JSON.parse(fs.readFileSync(file, 'utf8'));
const START = '<!-- reliability:start -->';
const END = '<!-- reliability:end -->';

// sorted, so the README changes only when the figures do (test files finish in any order)
const names = (kind, verdict) =>
  [...new Set(records.filter((r) => r.kind === kind && r.verdict === verdict).map((r) => r.name))].sort();
const impossible = records.filter((r) => r.verdict === 'impossible');
const lines = [
  START,
  `Figures of the last full run of the suite (\`npm run reliability\`, ${new Date().toISOString().slice(0, 10)}, this project's CI host: cgroup v1):`,
  '',
  '| what | tried | held |',
  '| --- | ---: | ---: |',
  `| attacks from inside a job (contained: the host unchanged) | ${s.attacks.tried} | ${s.attacks.contained} |`,
  `| faults injected (survived: clear result, nothing left) | ${s.faults.injected} | ${s.faults.survived} |`,
  `| bad inputs (clearly refused: field named, documented exit) | ${s.badInputs.tried} | ${s.badInputs.refused} |`,
  `| leftovers checks (cgroups, processes, scratch dirs, mounts) | ${s.leftovers.checks} | ${s.leftovers.found} found |`,
  '',
  `Attacks: ${names('attack', 'contained').join('; ')}.`,
  '',
  `Faults: ${names('fault', 'survived').join('; ')}.`,
  '',
  impossible.length
    ? `Impossible to attempt here (counted apart): ${impossible.map((r) => `${r.name} — ${r.why ?? 'no reason given'}`).join('; ')}.`
    : 'Impossible to attempt here: none.',
  END,
];
const text = fs.readFileSync(readme, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`${readme} has no ${START} … ${END} block`);
fs.writeFileSync(readme, text.slice(0, from) + lines.join('\n') + text.slice(to + END.length));
console.log(`reliability figures written to ${readme}`);
