// Vitest's own outputs under the pool's overlaid project (issue 29): a suite that writes snapshots
// (fixtures/project-snapshots: toMatchSnapshot, toThrowErrorMatchingSnapshot, toMatchFileSnapshot,
// a nested file) run with -u through the pool and through --pool forks gives the same results and the
// same files; an obsolete snapshot file is removed; coverage lands in coverage/; and a .snap that is
// not pure data — code the next run would execute — is never written back.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { RunReport } from '../reporters/types.js';
import { makeProject, runVitestIn, treeOf } from './support/project.js';
import { FIXTURES, describeSandbox } from './support/sandbox.js';
import { attack, expectNoLeftovers } from './support/tally.js';

const FIXTURE = path.join(FIXTURES, 'project-snapshots');
const HEADER = '// Vitest Snapshot v1, https://vitest.dev/guide/snapshot.html\n\n';

/** The project's files as Vitest left them, less the reporter's results (timings differ). */
function filesOf(project: string): Record<string, string> {
  const tree = treeOf(project);
  delete tree['ringfence-results.json'];
  return tree;
}

/** Vitest's summary lines: which files passed, how many tests, what happened to snapshots. */
function summary(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim().replace(/\s+\d+ms$/, ''))
    .filter((line) =>
      /^(✓|×|❯) |^(Snapshots|Test Files|Tests)\s|^\d+ (files? )?(removed|written|updated)/.test(line),
    )
    .sort();
}

describeSandbox('ringfence Vitest pool: snapshots and coverage reach the project', () => {
  const projects: string[] = [];
  const project = (): string => {
    const dir = makeProject('snapshots', FIXTURE);
    projects.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of projects) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('-u writes the same snapshot files and file snapshots as --pool forks, with the same results', async () => {
    const ours = project();
    const forks = project();
    const pool = runVitestIn(ours, ['-u']);
    const plain = runVitestIn(forks, ['-u', '--pool', 'forks']);
    expect(pool.status, pool.output).toBe(0);
    expect(plain.status, plain.output).toBe(0);
    expect(pool.output).toMatch(/Snapshots\s+9 written/);
    expect(summary(pool.output)).toEqual(summary(plain.output));
    const written = filesOf(ours);
    expect(Object.keys(written)).toEqual(
      expect.arrayContaining([
        '__snapshots__/snap.test.mjs.snap',
        '__snapshots__/error.test.mjs.snap',
        'nested/__snapshots__/deep.test.mjs.snap',
        'out/x.txt',
        'out/deep/shape.json',
      ]),
    );
    expect(written).toEqual(filesOf(forks));
    // what each file wrote back is in its result
    const report = JSON.parse(
      fs.readFileSync(path.join(ours, 'ringfence-results.json'), 'utf8'),
    ) as RunReport;
    const file = report.jobs.find((j) => j.id === 'file.test.mjs');
    expect(file?.result?.filesystem?.outputs?.written.map((c) => path.relative(ours, c.path)).sort()).toEqual(
      ['out/deep/shape.json', 'out/x.txt'],
    );
    // and the next run, through the pool, passes on them without writing anything
    const again = runVitestIn(ours, []);
    expect(again.status, again.output).toBe(0);
    expect(again.output).not.toMatch(/Snapshots\s+\d+ (written|updated)/);
    expect(filesOf(ours)).toEqual(written);
    await expectNoLeftovers();
  }, 180_000);

  it('-u removes an obsolete snapshot file and an obsolete entry, as --pool forks does', async () => {
    const ours = project();
    const forks = project();
    for (const dir of [ours, forks]) {
      runVitestIn(dir, ['-u', '--pool', 'forks']);
      fs.writeFileSync(
        path.join(dir, '__snapshots__', 'plain.test.mjs.snap'),
        `${HEADER}exports[\`gone 1\`] = \`1\`;\n`,
      );
      fs.appendFileSync(
        path.join(dir, '__snapshots__', 'snap.test.mjs.snap'),
        `\nexports[\`stale 1\`] = \`2\`;\n`,
      );
    }
    const pool = runVitestIn(ours, ['-u']);
    const plain = runVitestIn(forks, ['-u', '--pool', 'forks']);
    expect(pool.status, pool.output).toBe(0);
    expect(pool.output).toMatch(/1 files? removed/);
    expect(summary(pool.output)).toEqual(summary(plain.output));
    expect(fs.existsSync(path.join(ours, '__snapshots__', 'plain.test.mjs.snap'))).toBe(false);
    expect(fs.readFileSync(path.join(ours, '__snapshots__', 'snap.test.mjs.snap'), 'utf8')).not.toContain(
      'stale 1',
    );
    expect(filesOf(ours)).toEqual(filesOf(forks));
    await expectNoLeftovers();
  }, 180_000);

  it('coverage lands in coverage/, where Vitest puts it', async () => {
    const ours = project();
    const run = runVitestIn(ours, ['-u', '--coverage']);
    expect(run.status, run.output).toBe(0);
    const summaryFile = path.join(ours, 'coverage', 'coverage-summary.json');
    const total = (JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { total: { lines: { pct: number } } })
      .total;
    expect(total.lines.pct).toBe(100);
    await expectNoLeftovers();
  }, 180_000);

  it('a .snap that is code, not data, is never written back; the refusal is reported', async () => {
    const ours = project();
    const marker = path.join(ours, 'pwned-snap');
    // @vitest/snapshot runs a .snap with new Function: this one would write the marker in the next run
    const payload = `${HEADER}exports[\`x 1\`] = \`1\`;\nprocess.getBuiltinModule('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`;
    fs.writeFileSync(
      path.join(ours, 'evil.test.mjs'),
      [
        "import fs from 'node:fs';",
        "import { it } from 'vitest';",
        `it('plants its own snapshot file', () => {`,
        "  fs.mkdirSync('__snapshots__', { recursive: true });",
        `  fs.writeFileSync('__snapshots__/evil.test.mjs.snap', ${JSON.stringify(payload)});`,
        '});',
      ].join('\n'),
    );
    const run = runVitestIn(ours, ['evil.test']);
    expect(run.status, run.output).toBe(0);
    expect(fs.existsSync(path.join(ours, '__snapshots__', 'evil.test.mjs.snap'))).toBe(false);
    expect(run.output).toMatch(
      /ringfence: evil\.test\.mjs: not written back: __snapshots__\/evil\.test\.mjs\.snap \(not a snapshot file Vitest writes/,
    );
    expect(run.output).toContain(
      'ringfence: evil.test.mjs wrote 1 path in the project: __snapshots__/evil.test.mjs.snap',
    );
    expect(fs.existsSync(marker)).toBe(false);
    await expectNoLeftovers();
    attack('a Vitest file plants code in its own .snap file', 'contained');
  }, 180_000);
});
