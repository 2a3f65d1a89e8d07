// `compare` on made-up runs: loading both sides from JSON and from ringfence's JUnit, matching by id,
// the noise rule, thresholds and floors, status changes, added and removed tests, refusals of bad
// input, the Markdown (parsed with marked), and the CLI's exit codes. No sandbox runs here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { marked, type Tokens } from 'marked';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompareInputError,
  compareSides,
  compareWithBaseline,
  DEFAULT_OPTIONS,
  loadSide,
  renderSummary,
  sideFromReport,
  type Comparison,
} from '../../reporters/compare/index.js';
import { writeResultsFile } from '../../reporters/json.js';
import { renderJUnit } from '../../reporters/junit.js';
import { renderHtml } from '../../reporters/html.js';
import { renderMarkdown } from '../../reporters/markdown.js';
import type { RunReport } from '../../reporters/types.js';
import { ringfence } from '../support/sandbox.js';
import { badInputs } from '../support/tally.js';
import { entry, MiB, repeated, report, type Figures } from './factory.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-compare-test-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, r: RunReport): string {
  const file = path.join(dir, name);
  writeResultsFile(file, r);
  return file;
}

function side(r: RunReport, label = 'run.json') {
  return sideFromReport(r, label);
}

/** Three runs of `jobs`, each figure nudged by a little noise so the runs differ as real ones do. */
function threeRuns(jobs: Record<string, Figures>): RunReport {
  const noise = [0, 0.01, -0.01];
  return repeated(
    noise.map((n) =>
      Object.fromEntries(
        Object.entries(jobs).map(([id, f]) => [
          id,
          {
            ...f,
            cpu: (f.cpu ?? 50) * (1 + n),
            wall: (f.wall ?? 100) * (1 + n),
            memory: f.memory === null ? null : (f.memory ?? 30 * MiB) * (1 + n),
          },
        ]),
      ),
    ),
  );
}

describe('loading: JSON and JUnit, repeats as runs', () => {
  it('reads the same samples from a results file and from the JUnit written from it', () => {
    const r = threeRuns({ build: { cpu: 120 }, 'test/a.test.ts': { memory: 44 * MiB, pids: 11 } });
    const json = write('three.json', r);
    const xml = path.join(dir, 'three.xml');
    fs.writeFileSync(xml, renderJUnit(r));
    const fromJson = loadSide([json]);
    const fromXml = loadSide([xml]);
    expect(fromJson.runs.map((run) => run.label)).toEqual(['three.json#0', 'three.json#1', 'three.json#2']);
    expect(fromXml.runs.map((run) => run.label)).toEqual(['three.xml#0', 'three.xml#1', 'three.xml#2']);
    // ids with dots (a test file path) are split from the figure by the known suffix
    expect(fromXml.runs.map((run) => run.samples)).toEqual(fromJson.runs.map((run) => run.samples));
    expect(fromXml.runs[1]?.samples.find((s) => s.id === 'test/a.test.ts')?.metrics.memory).toBeCloseTo(
      44 * MiB * 1.01,
      0,
    );
  });

  it('reads a JUnit whose suite name holds `>` and quotes (the builder leaves `>` unescaped)', () => {
    const r = report([entry('build', { cpu: 120, suite: 'api > "v2"' })]);
    const xml = path.join(dir, 'gt.xml');
    fs.writeFileSync(xml, renderJUnit(r));
    expect(fs.readFileSync(xml, 'utf8')).toContain('name="api > &quot;v2&quot;"');
    const samples = loadSide([xml]).runs[0]?.samples;
    expect(samples?.map((sample) => [sample.suite, sample.id, sample.metrics.cpu])).toEqual([
      ['api > "v2"', 'build', 120],
    ]);
  });

  it('counts several files a side as several runs', () => {
    const a = write('one-a.json', report([entry('build', { cpu: 100 })]));
    const b = write('one-b.json', report([entry('build', { cpu: 104 })]));
    expect(loadSide([a, b]).runs.map((run) => run.label)).toEqual(['one-a.json', 'one-b.json']);
  });

  it.each([
    ['a missing file', 'missing.json', null, /cannot read results file .*missing\.json: ENOENT/],
    [
      'truncated JSON',
      'cut.json',
      '{"schema": "ringfence.results/1", "jobs": [',
      /cut\.json is not valid JSON/,
    ],
    [
      'a foreign JSON file',
      'foreign.json',
      '{"hello": 1}',
      /foreign\.json is not a valid ringfence\.results\/1/,
    ],
    [
      'truncated JUnit',
      'cut.xml',
      '<?xml version="1.0"?>\n<testsuites><testsuite name="x">',
      /cut\.xml: .*truncated/,
    ],
    [
      'JUnit without ringfence figures',
      'plain.xml',
      '<testsuites><testsuite name="x"><testcase name="t"/></testsuite></testsuites>',
      /plain\.xml: no ringfence\.\* properties/,
    ],
    [
      'JUnit with a bad figure',
      'bad.xml',
      '<testsuites><testsuite name="x"><properties><property name="ringfence.a.status" value="passed"/><property name="ringfence.a.cpu.total_ms" value="lots"/></properties></testsuite></testsuites>',
      /bad\.xml: property ringfence\.a\.cpu\.total_ms: expected a number, got "lots"/,
    ],
  ])('refuses %s, naming the file', (_what, name, text, message) => {
    const file = path.join(dir, name);
    if (text !== null) fs.writeFileSync(file, text);
    expect(() => loadSide([file])).toThrow(CompareInputError);
    expect(() => loadSide([file])).toThrow(message);
    badInputs('compare input file', 1);
  });

  it('does not read a <property> out of captured output in CDATA', () => {
    const xml = path.join(dir, 'cdata.xml');
    fs.writeFileSync(
      xml,
      '<testsuites><testsuite name="s"><properties><property name="ringfence.a.status" value="passed"/>' +
        '<property name="ringfence.a.memory.peak_bytes" value="100"/></properties><testcase name="a">' +
        '<system-out><![CDATA[<property name="ringfence.a.memory.peak_bytes" value="999"/>]]></system-out>' +
        '</testcase></testsuite></testsuites>\n',
    );
    expect(loadSide([xml]).runs[0]?.samples[0]?.metrics.memory).toBe(100);
  });
});

describe('the comparison', () => {
  const base = threeRuns({ build: { cpu: 120 }, hog: { memory: 40 * MiB }, lint: { cpu: 30 } });

  it('flags a memory regression as significant and names that test first; the same runs against themselves pass', () => {
    const head = threeRuns({ build: { cpu: 120 }, hog: { memory: 80 * MiB }, lint: { cpu: 30 } });
    const c = compareSides(side(base), side(head));
    expect(c.regressed).toBe(true);
    expect(c.judged).toBe(true);
    expect(c.regressions.map((f) => [f.key, f.metric])).toEqual([['hog', 'memory']]);
    const m = c.regressions[0]!.comparison;
    expect(m.pct).toBeCloseTo(1, 6);
    expect(m.significance).toBe('significant');
    expect(m.separated).toBe(true);
    expect(c.tests[0]?.key).toBe('hog');
    expect(renderSummary(c).split('\n')[1]).toMatch(
      /^REGRESSED hog: memory peak 40\.0 MiB → 80\.0 MiB \(\+40\.0 MiB, \+100%\), significant/,
    );

    const self = compareSides(side(base), side(base));
    expect(self.regressed).toBe(false);
    expect(self.regressions).toEqual([]);
    expect(self.tests.every((t) => t.verdict === 'unchanged')).toBe(true);
  });

  it('flags a job that writes more to storage, from JSON and from JUnit alike, above the 1 MiB floor only', () => {
    const b = threeRuns({ writer: { written: 50 * MiB }, small: { written: 100 * 1024 } });
    const h = threeRuns({ writer: { written: 100 * MiB }, small: { written: 400 * 1024 } });
    const c = compareSides(side(b), side(h));
    expect(c.regressions.map((f) => [f.key, f.metric])).toEqual([['writer', 'io']]);
    expect(renderSummary(c).split('\n')[1]).toMatch(
      /^REGRESSED writer: storage I\/O 50\.0 MiB → 100\.0 MiB \(\+50\.0 MiB, \+100%\), significant/,
    );
    // small: +300 KiB (+300%) stays under the floor
    expect(c.tests.find((t) => t.key === 'small')?.metrics.io.verdict).toBe('unchanged');
    const xml = path.join(dir, 'io-head.xml');
    fs.writeFileSync(xml, renderJUnit(h));
    const viaJUnit = compareSides(side(b), loadSide([xml]));
    expect(viaJUnit.regressions.map((f) => [f.key, f.metric])).toEqual([['writer', 'io']]);
  });

  it('flags a test that leaves 10x more on its capped disk, from JSON and from JUnit alike', () => {
    const b = threeRuns({ fixture: { disk: 5 * MiB }, tidy: { disk: 100 * 1024 } });
    const h = threeRuns({ fixture: { disk: 50 * MiB }, tidy: { disk: 120 * 1024 } });
    const c = compareSides(side(b), side(h));
    expect(c.regressions.map((f) => [f.key, f.metric])).toEqual([['fixture', 'disk']]);
    expect(renderSummary(c).split('\n')[1]).toMatch(
      /^REGRESSED fixture: disk left 5\.0 MiB → 50\.0 MiB \(\+45\.0 MiB, \+900%\), significant/,
    );
    // tidy: +20 KiB stays under the 1 MiB floor
    expect(c.tests.find((t) => t.key === 'tidy')?.metrics.disk.verdict).toBe('unchanged');
    const xml = path.join(dir, 'disk-head.xml');
    fs.writeFileSync(xml, renderJUnit(h));
    const viaJUnit = compareSides(side(b), loadSide([xml]));
    expect(viaJUnit.regressions.map((f) => [f.key, f.metric])).toEqual([['fixture', 'disk']]);
  });

  it('sorts regressions by relative size and lists improvements after', () => {
    const b = threeRuns({ build: { cpu: 120 }, hog: { memory: 40 * MiB }, lint: { cpu: 100 } });
    const head = threeRuns({ build: { cpu: 180 }, hog: { memory: 80 * MiB }, lint: { cpu: 50 } });
    const c = compareSides(side(b), side(head));
    expect(c.regressions.map((f) => `${f.key}.${f.metric}`)).toEqual(['hog.memory', 'build.cpu']);
    expect(c.improvements.map((f) => `${f.key}.${f.metric}`)).toEqual(['lint.cpu']);
    expect(c.tests.map((t) => t.key)).toEqual(['hog', 'build', 'lint']);
  });

  it('does not call overlapping noise significant, however large the medians differ', () => {
    const noisyBase = repeated([{ t: { cpu: 100 } }, { t: { cpu: 300 } }, { t: { cpu: 120 } }]);
    const noisyHead = repeated([{ t: { cpu: 200 } }, { t: { cpu: 110 } }, { t: { cpu: 290 } }]);
    const m = compareSides(side(noisyBase), side(noisyHead)).tests[0]!.metrics.cpu;
    expect(m.pct).toBeCloseTo(0.66, 1);
    expect(m.significance).toBe('not significant');
    expect(m.verdict).toBe('unchanged');
  });

  it('calls a shifted sample with one outlier significant by the rank test', () => {
    // every head run above all but the one outlier of base: the ranges overlap, the ranks do not
    const b = repeated([100, 101, 102, 103, 104, 105, 106, 107, 108, 300].map((cpu) => ({ t: { cpu } })));
    const h = repeated([200, 201, 202, 203, 204, 205, 206, 207, 208, 209].map((cpu) => ({ t: { cpu } })));
    const m = compareSides(side(b), side(h)).tests[0]!.metrics.cpu;
    expect(m.separated).toBe(false);
    expect(m.p).toBeLessThan(0.05);
    expect(m.significance).toBe('significant');
    expect(m.verdict).toBe('regression');
  });

  it('says significance could not be judged with one run a side, and still flags a change past both limits', () => {
    const one = (memory: number) => report([entry('hog', { memory })]);
    const c = compareSides(side(one(40 * MiB)), side(one(80 * MiB)));
    expect(c.judged).toBe(false);
    expect(c.regressions[0]?.comparison.significance).toBe('not judged');
    expect(c.regressed).toBe(true);
    expect(renderSummary(c)).toMatch(/significance not judged: it needs at least 2 runs a side/);
    expect(renderSummary(c)).toMatch(/not judged \(1 run\)/);
  });

  it('needs both the relative threshold and the absolute floor', () => {
    const steady = (small: number, big: number) =>
      repeated([0, 1, 2].map((i) => ({ small: { cpu: small + i }, big: { cpu: big + i } })));
    // small: +50% but only +5 ms (under the 20 ms floor); big: +100 ms but only +1% (under 10%)
    const b = steady(10, 10_000);
    const h = steady(15, 10_100);
    expect(compareSides(side(b), side(h)).regressed).toBe(false);
    const loose = {
      threshold: { ...DEFAULT_OPTIONS.threshold, cpu: 0.005 },
      minDelta: { ...DEFAULT_OPTIONS.minDelta, cpu: 1 },
    };
    expect(compareSides(side(b), side(h), loose).regressions.map((f) => f.key)).toEqual(['small', 'big']);
  });

  it('reports status changes, added and removed tests', () => {
    const b = threeRuns({ kept: {}, leak: { memory: 50 * MiB }, old: {} });
    const h = threeRuns({ kept: {}, leak: { memory: 50 * MiB, outcome: 'oom' }, fresh: {} });
    const c = compareSides(side(b), side(h));
    expect(c.statusChanges).toEqual([{ key: 'leak', from: 'passed', to: 'oom' }]);
    expect(c.added).toEqual(['fresh']);
    expect(c.removed).toEqual(['old']);
    expect(c.regressed).toBe(false);
    expect(renderSummary(c)).toMatch(/STATUS {4}leak: passed → oom\nADDED {5}fresh\nREMOVED {3}old/);
  });

  it('lists a test that started writing outside its workdir, from JSON (with paths) and JUnit (a count)', () => {
    const b = threeRuns({
      clean: { wrote: [] },
      always: { wrote: ['/root/.npm/x'] },
      unwatched: { wrote: null },
    });
    const h = threeRuns({
      clean: { wrote: ['/root/.leak', '/etc/rf'] },
      always: { wrote: ['/root/.npm/x'] },
      unwatched: { wrote: ['/root/y'] },
    });
    const c = compareSides(side(b), side(h));
    // only the one that wrote nothing in every watched BASE run; a change listed, not a regression
    expect(c.startedWriting).toEqual([{ key: 'clean', paths: 2, examples: ['/root/.leak', '/etc/rf'] }]);
    expect(c.regressed).toBe(false);
    const summary = renderSummary(c);
    expect(summary).toMatch(/1 test started writing outside the workdir/);
    expect(summary).toMatch(
      /\nWRITES {4}clean: started writing outside its workdir: 2 paths \(\/root\/\.leak, \/etc\/rf\)\n/,
    );
    expect(renderMarkdown(c)).toMatch(
      /#### Started writing outside the workdir\n\n- `clean`: started writing/,
    );
    expect(renderHtml(c)).toMatch(
      /<section id="started-writing">.*<li><code>clean<\/code>: started writing outside its workdir: 2 paths \(\/root\/\.leak, \/etc\/rf\)<\/li>/,
    );
    // JUnit carries the count (ringfence.<id>.fs.changes), not the paths
    const xml = path.join(dir, 'writes-head.xml');
    fs.writeFileSync(xml, renderJUnit(h));
    const fromXml = compareSides(side(b), loadSide([xml]));
    expect(fromXml.startedWriting).toEqual([{ key: 'clean', paths: 2, examples: [] }]);
    // it stopped: no listing the other way
    expect(compareSides(side(h), side(b)).startedWriting).toEqual([]);
  });

  it('matches by id alone, or by suite and id when an id belongs to two suites', () => {
    const b = report([entry('a.test.ts', { suite: 'unit' }), entry('a.test.ts', { suite: 'e2e' })]);
    expect(
      compareSides(side(b), side(b))
        .tests.map((t) => t.key)
        .sort(),
    ).toEqual(['e2e › a.test.ts', 'unit › a.test.ts']);
    // a renamed manifest (another suite name) still matches its jobs
    const renamed = report([entry('build', { suite: 'ci-v2' })]);
    expect(compareSides(side(report([entry('build')])), side(renamed)).tests.map((t) => t.presence)).toEqual([
      'both',
    ]);
  });

  it('compares with a baseline file for `ci --baseline` and the Vitest reporter', () => {
    const file = write('baseline.json', base);
    const head = threeRuns({ build: { cpu: 120 }, hog: { memory: 80 * MiB }, lint: { cpu: 30 } });
    const { comparison, summary } = compareWithBaseline([file], head);
    expect(comparison.regressed).toBe(true);
    expect(summary).toMatch(/^ringfence compare \(baseline → this run\): REGRESSED/);
    expect(() => compareWithBaseline([path.join(dir, 'nope.json')], head)).toThrow(/nope\.json: ENOENT/);
  });
});

describe('Markdown', () => {
  function tokens(c: Comparison) {
    return marked.lexer(renderMarkdown(c)).filter((t) => t.type !== 'space');
  }

  it('opens with a one-line verdict, then the regressions table sorted by size, improvements, and the collapsed full table', () => {
    const b = threeRuns({ build: { cpu: 120 }, 'hog|x': { memory: 40 * MiB }, lint: { cpu: 100 } });
    const h = threeRuns({ build: { cpu: 180 }, 'hog|x': { memory: 80 * MiB }, lint: { cpu: 50 } });
    const c = compareSides(side(b), side(h));
    const toks = tokens(c);
    expect(toks[0]?.type).toBe('heading');
    expect((toks[0] as Tokens.Heading).text).toMatch(
      /^❌ ringfence compare: 2 regressions — largest: memory peak \+100% in `hog\\\|x`/,
    );
    const tables = toks.filter((t): t is Tokens.Table => t.type === 'table');
    expect(tables).toHaveLength(3);
    const [regressions, improvements, all] = tables as [Tokens.Table, Tokens.Table, Tokens.Table];
    expect(regressions.header.map((cell) => cell.text)).toEqual([
      'test',
      'figure',
      'before',
      'after',
      'Δ',
      'Δ%',
      'significance',
    ]);
    // the pipe in the id is escaped: still one cell, and the rows are largest first
    expect(regressions.rows.map((row) => [row[0]?.text, row[1]?.text, row[5]?.text])).toEqual([
      ['`hog|x`', 'memory peak', '+100%'],
      ['`build`', 'CPU', '+50.0%'],
    ]);
    expect(improvements.rows.map((row) => row[0]?.text)).toEqual(['`lint`']);
    expect(all.rows).toHaveLength(3);
    // the full table sits inside <details>: an html token before it and after it
    const at = toks.indexOf(all);
    expect(toks[at - 1]?.raw).toMatch(/<details><summary>All 3 tests<\/summary>/);
    expect(toks[at + 1]?.raw).toMatch(/<\/details>/);
    expect(marked.parse(renderMarkdown(c), { async: false })).toMatch(/<table>[\s\S]*<td>.*hog\|x/);
  });

  it('says so in one line when nothing regressed', () => {
    const c = compareSides(side(threeRuns({ a: {} })), side(threeRuns({ a: {} })));
    const toks = tokens(c);
    expect((toks[0] as Tokens.Heading).text).toBe('✅ ringfence compare: no resource regressions in 1 tests');
    expect(toks.filter((t) => t.type === 'table')).toHaveLength(1);
  });
});

describe('ringfence compare (the CLI)', () => {
  it('exits 1 on a regression, 0 on itself, and writes the Markdown, HTML and JSON', () => {
    const b = write('cli-base.json', threeRuns({ build: {}, hog: { memory: 40 * MiB } }));
    const h = write('cli-head.json', threeRuns({ build: {}, hog: { memory: 80 * MiB } }));
    const md = path.join(dir, 'cmp.md');
    const html = path.join(dir, 'cmp.html');
    const json = path.join(dir, 'cmp.json');
    const out = ringfence('compare', b, h, '--markdown', md, '--html', html, '--json', json);
    expect(out.status, out.stderr).toBe(1);
    expect(out.stdout.split('\n')[1]).toMatch(/^REGRESSED hog: memory peak/);
    expect(fs.readFileSync(md, 'utf8')).toMatch(/^### ❌/);
    expect(fs.readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/);
    expect((JSON.parse(fs.readFileSync(json, 'utf8')) as Comparison).schema).toBe('ringfence.comparison/1');
    expect(ringfence('compare', b, b).status).toBe(0);
  });

  it('takes a comma-separated list or a directory per side', () => {
    const sub = path.join(dir, 'base-dir');
    fs.mkdirSync(sub);
    const one = (memory: number, name: string) => write(name, report([entry('hog', { memory })]));
    one(40 * MiB, 'base-dir/a.json');
    one(41 * MiB, 'base-dir/b.json');
    const h1 = one(80 * MiB, 'h1.json');
    const h2 = one(81 * MiB, 'h2.json');
    const out = ringfence('compare', sub, `${h1},${h2}`);
    expect(out.status, out.stderr).toBe(1);
    expect(out.stdout).toMatch(
      /2 base runs, 2 head runs; significant = ranges apart or Mann-Whitney U p < 0\.05/,
    );
  });

  it('ci refuses a bad --repeat before anything runs', () => {
    const json = path.join(dir, 'repeat0.json');
    const out = ringfence('ci', 'fixtures/demo.yml', '--repeat', '0', '--json', json);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/--repeat: must be between 1 and 1000, got 0/);
    expect(fs.existsSync(json)).toBe(false);
    badInputs('ci --repeat', 1);
  });

  it.each([
    ['an unreadable side', ['missing.json', 'cli-base.json'], /missing\.json: ENOENT/],
    [
      'an unknown figure',
      ['cli-base.json', 'cli-base.json', '--threshold', 'gpu=5%'],
      /--threshold: unknown figure "gpu"/,
    ],
    [
      'a threshold without %',
      ['cli-base.json', 'cli-base.json', '--threshold', 'cpu=10'],
      /--threshold: cpu: expected a percentage/,
    ],
    [
      'a bad floor',
      ['cli-base.json', 'cli-base.json', '--min-delta', 'memory=12zz'],
      /--min-delta memory: invalid size "12zz"/,
    ],
    [
      'a zero floor with junk after it',
      ['cli-base.json', 'cli-base.json', '--min-delta', 'cpu=0garbage'],
      /--min-delta cpu: invalid duration "0garbage"/,
    ],
    ['a missing argument', ['cli-base.json'], /missing required argument 'head'/],
  ])('exits 2 on %s, naming it, and writes no report', (_what, args, message) => {
    const md = path.join(dir, 'refused.md');
    const out = ringfence(
      'compare',
      ...args.map((a) => (a.endsWith('.json') ? path.join(dir, a) : a)),
      '--markdown',
      md,
    );
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(fs.existsSync(md)).toBe(false);
    badInputs('compare flag or input', 1);
  });
});
