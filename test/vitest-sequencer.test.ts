// The balanced Vitest sequencer through Vitest's own CLI: a small generated suite whose two slow
// files Vitest's own `--shard` (a hash of each path) puts in one shard; a first run writes the
// ringfence reporter's results, then `vitest run --shard i/2` with the sequencer reading them splits
// the slow files, every file running in exactly one shard — with the forks pool (Vitest's own time
// for each file) and with the ringfence pool (each sandbox's wall time). A history that cannot be
// used stops the run before any test file starts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../reporters/types.js';
import { describeSandbox, leftovers, NO_LEFTOVERS, ringfence, ROOT } from './support/sandbox.js';
import { cleanEnv } from './support/vitest.js';

const SLOW_MS = 900;
const FAST_MS = 30;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `${n}.test.js`);
// Vitest's own split: files sorted by the sha1 of "/<path from the root>", the first half to shard 1.
// The slow files are the first two in that order, so Vitest's own split puts them together.
const SLOW = [...NAMES]
  .sort((a, b) => {
    const ha = createHash('sha1').update(`/${a}`).digest('hex');
    const hb = createHash('sha1').update(`/${b}`).digest('hex');
    return ha < hb ? -1 : 1;
  })
  .slice(0, 2);

let dir: string;
beforeAll(() => {
  // under /var/tmp, as a user's project (the host's /tmp is hidden by a sandbox's private one)
  dir = fs.mkdtempSync(path.join('/var/tmp', 'rf-sequencer-test-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A project of six files (two slow) whose config uses the sequencer, the reporter and maybe the pool. */
function project(name: string, pool: boolean): string {
  const root = path.join(dir, name);
  fs.mkdirSync(root);
  for (const file of NAMES) {
    const ms = SLOW.includes(file) ? SLOW_MS : FAST_MS;
    fs.writeFileSync(
      path.join(root, file),
      `import { writeFileSync } from 'node:fs';\n` +
        `test('${file}', async () => {\n` +
        `  writeFileSync(new URL('./${file}.ran', import.meta.url), '');\n` +
        `  await new Promise((resolve) => setTimeout(resolve, ${ms}));\n});\n`,
    );
  }
  const dist = (file: string): string => JSON.stringify(path.join(ROOT, 'dist', 'harness', 'vitest', file));
  fs.writeFileSync(
    path.join(root, 'vitest.config.mjs'),
    `import { balancedSequencer } from ${dist('sequencer.js')};\n` +
      `import { RingfenceReporter } from ${dist('reporter.js')};\n` +
      (pool ? `import { ringfence } from ${dist('pool.js')};\n` : '') +
      `export default {\n  test: {\n    globals: true,\n    include: ['*.test.js'],\n    maxWorkers: 2,\n` +
      // the pool sees the project through an overlay: the .ran markers are written back as outputs
      (pool
        ? `    pool: ringfence({ writable: ['*.ran'] }),\n    isolate: true,\n`
        : `    pool: 'forks',\n`) +
      `    sequence: { sequencer: balancedSequencer() },\n` +
      `    reporters: ['default', new RingfenceReporter({ json: process.env.OUT })],\n  },\n};\n`,
  );
  return root;
}

function run(
  root: string,
  out: string,
  args: string[],
  balance?: string,
): { status: number | null; output: string } {
  const env: Record<string, string> = { OUT: out };
  if (balance) env.RINGFENCE_BALANCE = balance;
  // from the project, as a user runs it: the pool's workdir (and `writable`) is the cwd
  const child = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      path.join(root, 'vitest.config.mjs'),
      ...args,
    ],
    { cwd: root, encoding: 'utf8', timeout: 120_000, env: cleanEnv(env) },
  );
  return { status: child.status, output: child.stdout + child.stderr };
}

const read = (file: string): RunReport => JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport;
const ranIn = (root: string): string[] =>
  fs
    .readdirSync(root)
    .filter((name) => name.endsWith('.ran'))
    .map((name) => name.slice(0, -'.ran'.length))
    .sort();
const clearMarks = (root: string): void => {
  for (const name of fs.readdirSync(root)) if (name.endsWith('.ran')) fs.rmSync(path.join(root, name));
};

/** The history run, then both shards balanced by it: each file in one shard, the slow ones apart. */
function balancedShards(root: string, history: (report: RunReport) => void): void {
  const first = run(root, 'history.json', []);
  expect(first.status, first.output).toBe(0);
  history(read(path.join(root, 'history.json')));
  clearMarks(root);

  const reports = [1, 2].map((i) => {
    const out = run(root, `shard-${i}.json`, ['--shard', `${i}/2`], 'history.json');
    expect(out.status, out.output).toBe(0);
    return read(path.join(root, `shard-${i}.json`));
  });
  const files = reports.map((report) => report.jobs.map((job) => job.id).sort());
  expect([...files[0]!, ...files[1]!].sort()).toEqual([...NAMES].sort());
  expect(ranIn(root)).toEqual([...NAMES].sort()); // each ran, and only once: the lists are disjoint
  for (const slow of SLOW) expect(files.filter((list) => list.includes(slow))).toHaveLength(1);
  expect(files.findIndex((list) => list.includes(SLOW[0]!))).not.toBe(
    files.findIndex((list) => list.includes(SLOW[1]!)),
  );
  for (const [i, report] of reports.entries()) {
    expect(report.shard).toEqual({ index: i + 1, total: 2 });
    expect(report.plan?.method).toBe('balanced');
    expect(report.plan?.digest).toBe(reports[0]?.plan?.digest);
    expect([...(report.plan?.shards[i]?.jobs ?? [])].sort()).toEqual(files[i]);
  }
  const merged = ringfence('merge', ...[1, 2].map((i) => path.join(root, `shard-${i}.json`)));
  expect(merged.status, merged.stderr).toBe(0);
  const missing = ringfence('merge', path.join(root, 'shard-1.json'));
  expect(missing.status).not.toBe(0);
  for (const file of files[1]!) expect(missing.stderr).toContain(`"${file}"`);
}

describe('balancedSequencer with the forks pool', () => {
  it("splits `vitest run --shard` by Vitest's own time for each file", () => {
    const root = project('forks', false);
    balancedShards(root, (history) => {
      // no sandbox figures without the pool: the reporter's durationMs is what the plan reads
      for (const job of history.jobs) {
        expect(job.result).toBeNull();
        expect(job.durationMs).toBeGreaterThanOrEqual(SLOW.includes(job.id) ? SLOW_MS : FAST_MS);
      }
    });
  });

  it('stops the run before any file starts when the history cannot be used, naming the file', () => {
    const root = project('refused', false);
    fs.writeFileSync(path.join(root, 'broken.json'), '{"schema": "ringfence.results/1", "jobs": [');
    const out = run(root, 'never.json', ['--shard', '1/2'], 'broken.json');
    expect(out.status).not.toBe(0);
    expect(out.output).toMatch(/ringfence sequencer: history: results file .*broken\.json is not valid JSON/);
    expect(ranIn(root)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'never.json'))).toBe(false);
  });
});

describeSandbox('balancedSequencer with the ringfence pool', () => {
  it("splits `vitest run --shard` by each file's sandbox wall time", async () => {
    const root = project('pool', true);
    balancedShards(root, (history) => {
      for (const job of history.jobs)
        expect(job.result?.wallMs).toBeGreaterThanOrEqual(SLOW.includes(job.id) ? SLOW_MS : FAST_MS);
    });
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  });
});
