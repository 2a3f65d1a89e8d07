// `ringfence ci --shard i/n --balance PREVIOUS` and `merge` as a CI matrix runs them: shards planned
// from a real run's wall times, run for real, merged back; merge refusing a shard missing, a shard
// given twice and shards planned from different histories; a history that cannot be used refused
// with exit 125 before any job runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunReport } from '../reporters/types.js';
import { describeSandbox, leftovers, NO_LEFTOVERS, ringfence } from './support/sandbox.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-balance-test-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// two slow jobs that the split by count puts in one shard (it deals jobs alternately in manifest
// order), small ones, and `check` that needs `setup`. Each job leaves a marker in the manifest's
// directory (its workdir), so a test can tell whether any ran.
const JOBS: [string, number, string?][] = [
  ['big-1', 1.2],
  ['small-1', 0.05],
  ['big-2', 1.2],
  ['small-2', 0.05],
  ['setup', 0.05],
  ['small-3', 0.05],
  ['small-4', 0.05],
  ['check', 0.1, 'setup'],
  ['small-5', 0.05],
];
const NAMES = JOBS.map(([name]) => name);

function writeManifest(sub: string, extra: [string, number][] = []): string {
  const at = path.join(dir, sub);
  fs.mkdirSync(at, { recursive: true });
  const body = [...JOBS, ...extra]
    .map(
      ([name, seconds, need]) =>
        `  - name: ${name}\n    command: touch ran-${name}; sleep ${seconds}\n${need ? `    needs: [${need}]\n` : ''}`,
    )
    .join('');
  const file = path.join(at, 'balance.yml');
  fs.writeFileSync(file, `name: balance\njobs:\n${body}`);
  return file;
}

const read = (file: string): RunReport => JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport;
const markers = (sub: string): string[] =>
  fs.readdirSync(path.join(dir, sub)).filter((name) => name.startsWith('ran-'));
/** The shard (0-based) each job is listed under in a dry run's plan. */
function shardsInPlan(text: string): Map<string, number> {
  const home = new Map<string, number>();
  let current = -1;
  for (const line of text.split('\n')) {
    const header = /^shard (\d+)\/\d+:/.exec(line);
    if (header) current = Number(header[1]) - 1;
    else if (/^ {2}\S/.test(line)) home.set(line.trim().split(/\s+/)[0] as string, current);
  }
  return home;
}

describeSandbox('ringfence ci --shard i/n --balance', () => {
  let manifest: string;
  let history: string;
  const shardFiles = [1, 2].map((i) => () => path.join(dir, `balanced-${i}.json`));

  it('plans two shards from a real run, runs each, and merges them back into the whole run', async () => {
    manifest = writeManifest('run');
    history = path.join(dir, 'history.json');
    const first = ringfence('ci', manifest, '--json', history);
    expect(first.status, first.stderr).toBe(0);

    // the split by count puts both slow jobs in one shard; the balanced plan one in each
    const byCount = ringfence('ci', manifest, '--shard', '1/2', '--dry-run');
    expect(byCount.status, byCount.stderr).toBe(0);
    const countHome = shardsInPlan(byCount.stdout);
    expect(countHome.get('big-1')).toBe(countHome.get('big-2'));
    for (const file of fs.readdirSync(path.join(dir, 'run')))
      if (file.startsWith('ran-')) fs.rmSync(path.join(dir, 'run', file));
    const dry = ringfence('ci', manifest, '--shard', '1/2', '--balance', history, '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    expect(markers('run')).toEqual([]); // a dry run runs nothing
    const home = shardsInPlan(dry.stdout);
    expect([...home.keys()].sort()).toEqual([...NAMES].sort());
    expect(home.get('big-1')).not.toBe(home.get('big-2'));
    expect(home.get('check')).toBe(home.get('setup'));
    expect(dry.stdout).toMatch(/^shard 1\/2: \d+ jobs, expected \d+\.\d\d s$/m);
    const digest = /^shard plan ([0-9a-f]{12}):/.exec(dry.stdout)?.[1];
    expect(digest).toBeDefined();

    const reports = shardFiles.map((file, i) => {
      const out = ringfence('ci', manifest, '--shard', `${i + 1}/2`, '--balance', history, '--json', file());
      expect(out.status, out.stderr).toBe(0);
      return read(file());
    });
    for (const [i, report] of reports.entries()) {
      expect(report.plan?.digest.slice(0, 12)).toBe(digest);
      expect(report.plan?.method).toBe('balanced');
      expect(report.plan?.history).toEqual([history]);
      expect(report.jobs.map((job) => job.id)).toEqual(report.plan?.shards[i]?.jobs);
      expect(report.jobs.map((job) => job.id).sort()).toEqual(
        [...home]
          .filter(([, s]) => s === i)
          .map(([name]) => name)
          .sort(),
      );
    }
    expect(markers('run').sort()).toEqual(NAMES.map((name) => `ran-${name}`).sort());

    const merged = path.join(dir, 'merged.json');
    const merge = ringfence('merge', shardFiles[0]!(), shardFiles[1]!(), '--json', merged);
    expect(merge.status, merge.stderr).toBe(0);
    expect(
      read(merged)
        .jobs.map((job) => `${job.id}:${job.outcome}`)
        .sort(),
    ).toEqual(NAMES.map((name) => `${name}:passed`).sort());
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  });

  it('gives a job with no history the median, and says so in the plan', () => {
    const grown = writeManifest('grown', [['newcomer', 0.05]]);
    const dry = ringfence('ci', grown, '--shard', '2/2', '--balance', history, '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/1 without history counted at the median, \d+\.\d\d s/);
    expect(dry.stdout).toMatch(/^ {2}newcomer +\d+\.\d\d s {2}\(no history\)$/m);
    expect(markers('grown')).toEqual([]);
  });

  it('merge refuses a shard missing, a shard given twice, and shards planned from other histories', async () => {
    const [one, two] = [shardFiles[0]!(), shardFiles[1]!()];
    const onlyIn = (file: string): string[] => read(file).jobs.map((job) => job.id);
    const oneLine = (text: string): string => {
      expect(text.trimEnd().split('\n')).toHaveLength(1);
      return text;
    };

    const missing = ringfence('merge', one, '--json', path.join(dir, 'no.json'));
    expect(missing.status).not.toBe(0);
    oneLine(missing.stderr);
    expect(missing.stderr).toMatch(/ran in no shard/);
    for (const id of onlyIn(two)) expect(missing.stderr).toContain(`"${id}"`);
    expect(fs.existsSync(path.join(dir, 'no.json'))).toBe(false);

    const twice = ringfence('merge', one, two, two);
    expect(twice.status).not.toBe(0);
    oneLine(twice.stderr);
    expect(twice.stderr).toMatch(/ran in more than one shard/);
    for (const id of onlyIn(two)) expect(twice.stderr).toContain(`"${id}" (reports 2 and 3)`);

    // the same results, one small job's wall 7 ms longer: another history, so another plan
    const edited = read(history);
    const job = edited.jobs.find((entry) => entry.id === 'small-1');
    if (job?.result) job.result.wallMs += 7;
    const otherHistory = path.join(dir, 'history-2.json');
    fs.writeFileSync(otherHistory, JSON.stringify(edited));
    const otherTwo = path.join(dir, 'other-2.json');
    const run = ringfence('ci', manifest, '--shard', '2/2', '--balance', otherHistory, '--json', otherTwo);
    expect(run.status, run.stderr).toBe(0);
    expect(read(otherTwo).plan?.digest).not.toBe(read(one).plan?.digest);
    const mixed = ringfence('merge', one, otherTwo);
    expect(mixed.status).not.toBe(0);
    oneLine(mixed.stderr);
    expect(mixed.stderr).toMatch(/planned differently/);
    expect(mixed.stderr).toContain(otherHistory);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  });

  it('refuses a history it cannot use with one line and exit 125, before any job runs', () => {
    const fresh = writeManifest('refused');
    const truncated = path.join(dir, 'truncated.json');
    fs.writeFileSync(truncated, fs.readFileSync(history, 'utf8').slice(0, 300));
    const notJUnit = path.join(dir, 'not-junit.xml');
    fs.writeFileSync(notJUnit, '<html><body>a CI page</body></html>');
    const empty = path.join(dir, 'empty-dir');
    fs.mkdirSync(empty);
    const json = path.join(dir, 'refused.json');
    for (const bad of [truncated, notJUnit, path.join(dir, 'absent.json'), empty]) {
      const out = ringfence('ci', fresh, '--shard', '1/2', '--balance', bad, '--json', json);
      expect(out.status, out.stderr).toBe(125);
      expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(out.stderr).toMatch(/^ringfence ci: --balance: /);
      expect(out.stderr).toContain(bad);
      expect(fs.existsSync(json)).toBe(false);
      expect(markers('refused')).toEqual([]);
    }
    // --balance plans shards: without --shard it is a flag error (2), as every other
    const noShard = ringfence('ci', fresh, '--balance', history);
    expect(noShard.status).toBe(2);
    expect(noShard.stderr).toMatch(/--balance: .*--shard/);
    expect(markers('refused')).toEqual([]);
  });
});
