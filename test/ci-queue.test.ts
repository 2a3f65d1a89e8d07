// Queue mode as machines of a CI farm run it, here as processes on one Redis (started by the test):
// three workers share a run, one is SIGKILLed mid-job and its job runs again on another, a fourth
// joins late and takes only what is left, one more after the end runs nothing; `merge --queue` gives
// every job exactly once with the worker that ran it. Bad input — an unreachable Redis, a run id of
// another manifest, an unknown run — is one line and exit 125 before any job runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunReport } from '../reporters/types.js';
import {
  cmdlineOf,
  instanceDirsOf,
  pidsUnder,
  ringfenceAsync,
  waitFor,
  type CliRun,
} from './faults/helpers.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { describeSandbox, leftovers, NO_LEFTOVERS, ringfence } from './support/sandbox.js';

const JOBS = 15;
let dir: string;
let redis: TestRedis;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-queue-test-'));
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Jobs that each leave a start marker (mktemp: one file per start) and sleep a length all their own. */
function writeManifest(sub: string, jobs = JOBS): string {
  const at = path.join(dir, sub);
  fs.mkdirSync(at);
  const body = Array.from({ length: jobs }, (_, i) => {
    const name = `q-${String(i).padStart(2, '0')}`;
    return `  - name: ${name}\n    command: mktemp started-${name}.XXXXXX >/dev/null; sleep 1.0${String(i).padStart(2, '0')}\n`;
  }).join('');
  const file = path.join(at, 'queue.yml');
  fs.writeFileSync(file, `name: queue\njobs:\n${body}`);
  return file;
}

/** How many times each job started, by the markers it left. */
function starts(sub: string): Map<string, number> {
  const count = new Map<string, number>();
  for (const name of fs.readdirSync(path.join(dir, sub))) {
    const job = /^started-(q-\d\d)\./.exec(name)?.[1];
    if (job) count.set(job, (count.get(job) ?? 0) + 1);
  }
  return count;
}

const read = (file: string): RunReport => JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport;

describeSandbox('ringfence ci --queue', () => {
  it('three workers, one SIGKILLed mid-job: every job once, a late worker takes only what is left', async () => {
    const manifest = writeManifest('run');
    const args = ['ci', manifest, '--queue', redis.url, '--run-id', 'farm-1', '--concurrency', '1'];
    const worker = (...extra: string[]): Promise<CliRun> =>
      ringfenceAsync([...args, '--stall-timeout', '2s', ...extra]);
    let victim = -1;
    const victimRun = ringfenceAsync([...args, '--stall-timeout', '2s'], (pid) => (victim = pid));
    const others = [worker(), worker()];
    // the victim is mid-job: a `sleep 1.0NN` of one job runs in its cgroups
    const killedJob = await waitFor('the victim to run a job', 30_000, () => {
      const line = pidsUnder(instanceDirsOf(victim))
        .map(cmdlineOf)
        .find((cmd) => /^sleep 1\.0\d\d$/.test(cmd));
      return line ? `q-${line.slice(-2)}` : undefined;
    });
    process.kill(victim, 'SIGKILL');
    expect((await victimRun).signal).toBe('SIGKILL');

    const startedBeforeLate = new Set(starts('run').keys());
    let latePid = -1;
    const late = ringfenceAsync(
      [
        'ci',
        manifest,
        '--queue',
        redis.url,
        '--run-id',
        'farm-1',
        '--concurrency',
        '1',
        '--stall-timeout',
        '2s',
      ],
      (pid) => (latePid = pid),
    );
    const ended = await Promise.all([...others, late]);
    for (const run of ended) expect(run.status, run.stderr).toBe(0);

    const merged = path.join(dir, 'farm-1.json');
    const merge = ringfence('merge', '--queue', redis.url, '--run-id', 'farm-1', '--json', merged);
    expect(merge.status, merge.stderr).toBe(0);
    const report = read(merged);
    const ids = report.jobs.map((job) => job.id);
    expect(ids).toHaveLength(JOBS);
    expect(new Set(ids).size).toBe(JOBS); // none doubled
    expect(report.jobs.every((job) => job.outcome === 'passed')).toBe(true); // none lost
    // the killed job ran again elsewhere, and only it started twice
    const byJob = new Map(report.jobs.map((job) => [job.id, job]));
    expect(byJob.get(killedJob)?.worker).not.toMatch(new RegExp(`/${victim}$`));
    expect(report.jobs.some((job) => job.worker?.endsWith(`/${victim}`))).toBe(false);
    const counted = starts('run');
    expect(counted.get(killedJob)).toBe(2);
    for (const id of ids.filter((id) => id !== killedJob)) expect(counted.get(id), id).toBe(1);
    // the late worker took jobs, and none that had started before it came
    const lateJobs = report.jobs.filter((job) => job.worker?.endsWith(`/${latePid}`)).map((job) => job.id);
    expect(lateJobs.length).toBeGreaterThan(0);
    for (const id of lateJobs) expect(startedBeforeLate.has(id) && id !== killedJob, id).toBe(false);
    expect(ended[2]?.stderr).toContain(`${lateJobs.length} ran here`);

    // a worker of a finished run runs nothing and says how the run ended
    const after = ringfence('ci', manifest, '--queue', redis.url, '--run-id', 'farm-1');
    expect(after.status, after.stderr).toBe(0);
    expect(after.stderr).toMatch(/15 passed.*; 0 ran here/);
    expect(starts('run')).toEqual(counted);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 120_000);

  it('SIGINT: the worker exits 130 at once, and its running job runs on another', async () => {
    const manifest = writeManifest('interrupted', 2);
    const args = [
      'ci',
      manifest,
      '--queue',
      redis.url,
      '--run-id',
      'farm-4',
      '--concurrency',
      '1',
      '--stall-timeout',
      '2s',
    ];
    let first = -1;
    const stopped = ringfenceAsync(args, (pid) => (first = pid));
    const running = await waitFor('a job to run', 30_000, () => {
      const line = pidsUnder(instanceDirsOf(first))
        .map(cmdlineOf)
        .find((cmd) => /^sleep 1\.0\d\d$/.test(cmd));
      return line ? `q-${line.slice(-2)}` : undefined;
    });
    const sent = performance.now();
    process.kill(first, 'SIGINT');
    const ended = await stopped;
    expect(ended.status, ended.stderr).toBe(130);
    expect(performance.now() - sent).toBeLessThan(2000);
    expect(ended.stderr).toContain('the jobs running here go back to the queue');

    const second = await ringfenceAsync(args);
    expect(second.status, second.stderr).toBe(0);
    const merged = path.join(dir, 'farm-4.json');
    expect(ringfence('merge', '--queue', redis.url, '--run-id', 'farm-4', '--json', merged).status).toBe(0);
    const entry = read(merged).jobs.find((job) => job.id === running);
    expect(entry?.outcome).toBe('passed');
    expect(entry?.worker).toMatch(new RegExp(`/${second.pid}$`));
    expect(starts('interrupted').get(running)).toBe(2);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  });

  it('skips what needs a job that failed, once, and every worker exits 1', async () => {
    const at = path.join(dir, 'failing');
    fs.mkdirSync(at);
    const manifest = path.join(at, 'failing.yml');
    fs.writeFileSync(
      manifest,
      'name: failing\njobs:\n  - name: bad\n    command: "false"\n' +
        '  - name: after\n    command: "true"\n    needs: [bad]\n  - name: last\n    command: "true"\n    needs: [after]\n' +
        '  - name: fine\n    command: "true"\n',
    );
    const args = ['ci', manifest, '--queue', redis.url, '--run-id', 'farm-3', '--concurrency', '1'];
    const runs = await Promise.all([ringfenceAsync(args), ringfenceAsync(args)]);
    for (const run of runs) expect(run.status, run.stderr).toBe(1);
    // one SKIP line for each skipped job, from whichever worker stored it
    const skips = runs.flatMap((run) => run.stderr.split('\n').filter((line) => line.startsWith('SKIP')));
    expect(skips.sort()).toEqual([
      'SKIP    after: needs bad, which ended failed',
      'SKIP    last: needs after, which was skipped',
    ]);
    const merged = path.join(dir, 'farm-3.json');
    expect(ringfence('merge', '--queue', redis.url, '--run-id', 'farm-3', '--json', merged).status).toBe(1);
    expect(read(merged).jobs.map((job) => `${job.id}:${job.outcome}`)).toEqual([
      'bad:failed',
      'after:skipped',
      'last:skipped',
      'fine:passed',
    ]);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  });

  it('refuses an unreachable Redis, a run id of another manifest and an unknown run: one line, exit 125', async () => {
    // a port nothing listens on: the one a stopped Redis had
    const gone = await startRedis();
    await gone.stop();
    const manifest = writeManifest('refused', 3);
    const json = path.join(dir, 'refused.json');
    const oneLine = (out: { stderr: string }): void =>
      expect(out.stderr.trimEnd().split('\n'), out.stderr).toHaveLength(1);

    const unreachable = ringfence('ci', manifest, '--queue', gone.url, '--run-id', 'x', '--json', json);
    expect(unreachable.status).toBe(125);
    oneLine(unreachable);
    expect(unreachable.stderr).toContain(`${gone.url}: cannot reach Redis: ECONNREFUSED`);

    // farm-2 is a run of a 2-job manifest: the 3-job one may not join it
    const two = writeManifest('two', 2);
    const first = ringfence('ci', two, '--queue', redis.url, '--run-id', 'farm-2', '--json', json);
    fs.rmSync(json, { force: true });
    expect(first.status, first.stderr).toBe(0);
    const before = starts('refused');
    const other = ringfence('ci', manifest, '--queue', redis.url, '--run-id', 'farm-2', '--json', json);
    expect(other.status).toBe(125);
    oneLine(other);
    expect(other.stderr).toMatch(/--run-id farm-2: .* another manifest/);
    expect(fs.existsSync(json)).toBe(false);
    expect(starts('refused')).toEqual(before);
    expect(before.size).toBe(0);

    for (const out of [
      ringfence('merge', '--queue', redis.url, '--run-id', 'never-ran'),
      ringfence('merge', '--queue', gone.url, '--run-id', 'farm-2'),
    ]) {
      expect(out.status).toBe(125);
      oneLine(out);
    }
    // without --run-id it is a flag error, ci's and merge's 2
    expect(ringfence('ci', manifest, '--queue', redis.url).status).toBe(2);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 60_000);
});
