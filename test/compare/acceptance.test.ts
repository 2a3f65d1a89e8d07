// The acceptance run: two real `ringfence ci --repeat 3` runs of a small manifest in which one
// job's memory use was changed on purpose (the memory hog touches 20 MiB, then 60 MiB). `compare`
// must exit 1 naming that job first, exit 0 for a run against itself, read the JUnit of a run as well
// as its JSON, and `ci --baseline` must print the same verdict at the end of the run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { marked, type Tokens } from 'marked';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readResultsFile } from '../../reporters/json.js';
import { describeSandbox, leftovers, NO_LEFTOVERS, ringfence, ROOT } from '../support/sandbox.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-compare-accept-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function manifest(name: string, hogMiB: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    [
      'name: compare-demo',
      'defaults:',
      `  cwd: ${JSON.stringify(ROOT)}`,
      '  memory: 256m',
      '  timeout: 20s',
      'jobs:',
      '  - name: steady',
      '    command: node fixtures/memory-hog.js 8',
      '  - name: memory-hog',
      `    command: node fixtures/memory-hog.js ${hogMiB}`,
      '',
    ].join('\n'),
  );
  return file;
}

describeSandbox('ringfence compare on two real runs (ci --repeat 3)', () => {
  it('exits 1 naming the memory hog first, 0 against itself; ci --baseline prints the same', async () => {
    const base = path.join(dir, 'base.json');
    const head = path.join(dir, 'head.json');
    const headXml = path.join(dir, 'head.xml');
    const first = ringfence('ci', manifest('base.yml', 20), '--repeat', '3', '--json', base);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/PASS {4}memory-hog \[3\/3\]/);

    // a results file holds all 3 runs, each entry tagged with its repeat; the schema is unchanged
    const report = readResultsFile(base);
    expect(report.schema).toBe('ringfence.results/1');
    expect(report.jobs.map((j) => `${j.id}#${j.repeat}`).sort()).toEqual([
      'memory-hog#0',
      'memory-hog#1',
      'memory-hog#2',
      'steady#0',
      'steady#1',
      'steady#2',
    ]);

    const second = ringfence(
      'ci',
      manifest('head.yml', 60),
      '--repeat',
      '3',
      '--json',
      head,
      '--junit',
      headXml,
      '--baseline',
      base,
    );
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toMatch(
      /ringfence compare \(baseline → this run\): REGRESSED: .*\nREGRESSED memory-hog: memory peak /,
    );

    const md = path.join(dir, 'compare.md');
    const html = path.join(dir, 'compare.html');
    const out = ringfence('compare', base, head, '--markdown', md, '--html', html);
    expect(out.status, out.stderr).toBe(1);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toMatch(/^ringfence compare: REGRESSED: .*3 base runs, 3 head runs/);
    expect(lines[1]).toMatch(/^REGRESSED memory-hog: memory peak .* → .*, significant \(ranges apart/);
    const tokens = marked.lexer(fs.readFileSync(md, 'utf8'));
    expect((tokens[0] as Tokens.Heading).text).toMatch(
      /^❌ ringfence compare: .*memory peak \+\d+% in `memory-hog`/,
    );
    const table = tokens.find((t): t is Tokens.Table => t.type === 'table');
    expect(table?.rows[0]?.[0]?.text).toBe('`memory-hog`');
    expect(fs.readFileSync(html, 'utf8')).toContain('<canvas id="scatter"');

    // HEAD from its JUnit: the same verdict
    const fromXml = ringfence('compare', base, headXml);
    expect(fromXml.status, fromXml.stderr).toBe(1);
    expect(fromXml.stdout.split('\n')[1]).toMatch(/^REGRESSED memory-hog: memory peak/);

    const self = ringfence('compare', base, base);
    expect(self.status, self.stdout).toBe(0);
    expect(self.stdout).toMatch(/^ringfence compare: no regressions: 0 regressions, 0 improvements/);

    // a baseline that is also the --json file is read before the run overwrites it
    const same = path.join(dir, 'same.json');
    fs.copyFileSync(base, same);
    const over = ringfence(
      'ci',
      manifest('same.yml', 60),
      '--repeat',
      '2',
      '--json',
      same,
      '--baseline',
      same,
    );
    expect(over.status, over.stderr).toBe(0);
    expect(over.stderr).toMatch(/\nREGRESSED memory-hog: memory peak /);

    // an unreadable baseline is refused before anything runs: exit 2, no report
    const never = path.join(dir, 'never.json');
    const refused = ringfence(
      'ci',
      manifest('never.yml', 1),
      '--json',
      never,
      '--baseline',
      path.join(dir, 'nope.json'),
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--baseline: cannot read results file .*nope\.json: ENOENT/);
    expect(fs.existsSync(never)).toBe(false);

    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 90_000);
});
