// The Vitest pool as a user meets it: fixtures/vitest-demo run by Vitest's CLI with `pool: ringfence()`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunReport } from '../reporters/types.js';
import { expect, it, onTestFinished } from 'vitest';
import { JUNIT_XSD, NO_LEFTOVERS, describeSandbox, leftovers } from './support/sandbox.js';
import { makeProject, runVitestIn } from './support/project.js';
import { DEMO, vitestRun } from './support/vitest.js';

describeSandbox('ringfence Vitest pool', () => {
  it('v8 coverage comes back from sandboxed files exactly as from the forks pool', () => {
    const args = [
      '--coverage',
      '--coverage.provider=v8',
      '--coverage.reporter=text',
      '--coverage.include=sum.ts',
      'pass.test.ts',
    ];
    const coverageLine = (output: string): string | undefined =>
      /^\s*sum\.ts\s*\|.*$/m.exec(output)?.[0].trim();
    const ours = vitestRun(args);
    const forks = vitestRun([...args, '--pool', 'forks']);
    expect(ours.status, ours.output).toBe(0);
    expect(coverageLine(ours.output)).toMatch(/sum\.ts\s*\|\s*50\s*\|\s*100\s*\|\s*50\s*\|\s*50\s*\|\s*6/);
    expect(coverageLine(ours.output)).toBe(coverageLine(forks.output));
  });

  it('--shard splits the files between runs', () => {
    const files = ['pass.test.ts', 'host.test.ts'];
    const ran = [1, 2].map((i) => vitestRun(['--shard', `${i}/2`, ...files]).output);
    for (const output of ran) expect(output).toMatch(/Test Files\s+1 passed \(1\)/);
    expect(
      ran
        .join('\n')
        .match(/✓ (pass|host)\.test\.ts/g)
        ?.sort(),
    ).toEqual(['✓ host.test.ts', '✓ pass.test.ts']);
  });

  it("a Node unpacked under the host's /tmp runs the workers, though each file has a /tmp of its own", () => {
    // as a CI image that unpacks Node into /tmp: the worker's binary is bound back in, read-only
    const dir = fs.mkdtempSync('/tmp/rf-vitest-node-');
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const node = path.join(dir, 'bin', 'node');
    fs.mkdirSync(path.dirname(node));
    fs.copyFileSync(fs.realpathSync(process.execPath), node);
    fs.chmodSync(node, 0o755);
    const run = vitestRun(['pass.test.ts'], {}, DEMO, node);
    expect(run.output).not.toMatch(/could not start/);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/Test Files\s+1 passed \(1\)/);
  });

  it("a file's Node gets Vitest's execArgv and no V8 heap flag of the pool's own", () => {
    // any --max-old-space-size makes each Node start slower (harness/vitest/pool.ts): the pool adds none,
    // and a user's own (Vitest's --execArgv) still reaches the sandboxed worker
    const plain = vitestRun(['host.test.ts']);
    expect(plain.status, plain.output).toBe(0);
    expect(plain.output).toMatch(/V8 heap flags: none \(heap limit \d+ MiB\)/);
    const capped = vitestRun(['host.test.ts', '--execArgv=--max-old-space-size=200']);
    expect(capped.status, capped.output).toBe(0);
    const limit = /V8 heap flags: --max-old-space-size=200 \(heap limit (\d+) MiB\)/.exec(capped.output);
    expect(limit, capped.output).not.toBeNull();
    // the old space's 200 MiB and the young generation's few
    expect(Number(limit?.[1])).toBeGreaterThanOrEqual(200);
    expect(Number(limit?.[1])).toBeLessThan(300);
  });

  it('the reporter compares the run with a baseline and prints the summary; a missing baseline is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-vitest-baseline-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const base = path.join(dir, 'base.json');
    const first = vitestRun(['pass.test.ts'], { RINGFENCE_VITEST_JSON: base });
    expect(first.status, first.output).toBe(0);
    const second = vitestRun(['pass.test.ts'], {
      RINGFENCE_VITEST_JSON: path.join(dir, 'head.json'),
      RINGFENCE_BASELINE: base,
    });
    expect(second.status, second.output).toBe(0);
    expect(second.output).toMatch(
      /ringfence compare \(baseline → this run\): .*\(1 test; 1 base run, 1 head run/,
    );
    const missing = path.join(dir, 'missing.json');
    const refused = vitestRun(['pass.test.ts'], { RINGFENCE_BASELINE: missing });
    expect(refused.status).toBe(1);
    expect(refused.output).toContain(`cannot read results file ${missing}`);
    expect(refused.output).not.toMatch(/✓ pass\.test\.ts/); // refused before any test ran
  });

  it('a test file that writes /root/.leak passes, the file is not on the host, and the reporter names the file', () => {
    expect(fs.existsSync('/root/.leak')).toBe(false);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-vitest-pollution-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const json = path.join(dir, 'results.json');
    const out = vitestRun([], { RINGFENCE_VITEST_JSON: json }, path.join(DEMO, 'pollution'));
    expect(out.status, out.output).toBe(0);
    expect(fs.existsSync('/root/.leak')).toBe(false);
    expect(out.output).toContain(
      'ringfence: leak-root.test.ts wrote 1 path outside its workdir: /root/.leak\n',
    );
    expect(out.output).not.toMatch(/ringfence: clean\.test\.ts wrote/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    const changes = Object.fromEntries(report.jobs.map((j) => [j.id, j.result?.filesystem?.changes]));
    expect(changes).toEqual({
      'clean.test.ts': [],
      'leak-root.test.ts': [{ path: '/root/.leak', kind: 'added', bytes: 13, type: 'file' }],
    });
  });

  it('services: each test file gets its own Redis; two files in parallel on 127.0.0.1:6379 never see each other', () => {
    // the two files meet at a barrier in their project, a directory the config lists as `writable`:
    // bound in live, shared by both while they run. The project is a user's own under /var/tmp, run
    // from its directory: a checkout under the host's /tmp (a CI clone may be) would be hidden by the
    // sandbox's private /tmp and seen through an overlay of its own, where no directory is live
    const fixture = path.join(DEMO, 'services');
    const project = makeProject(
      'vitest-services',
      null,
      Object.fromEntries(
        ['a.test.ts', 'b.test.ts', 'redis.ts', 'vitest.config.ts'].map((f) => [
          f,
          fs.readFileSync(path.join(fixture, f), 'utf8'),
        ]),
      ),
    );
    onTestFinished(() => fs.rmSync(project, { recursive: true, force: true }));
    const barrier = path.join(project, 'barrier');
    fs.mkdirSync(barrier);
    const json = path.join(barrier, 'results.json');
    const out = runVitestIn(project, [], { RINGFENCE_VITEST_JSON: json, RINGFENCE_BARRIER_DIR: barrier });
    expect(out.status, out.output).toBe(0);
    expect(out.output).toMatch(/Test Files\s+2 passed \(2\)/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    for (const job of report.jobs) {
      const [redis] = job.result?.services ?? [];
      expect(redis?.name).toBe('redis');
      expect(redis?.outcome).toBe('ended');
      expect(redis?.result?.memory.peakBytes).toBeGreaterThan(0);
    }
    expect(fs.readdirSync(barrier).sort()).toEqual(['ready.a', 'ready.b', 'results.json']);
  });

  it('isolate: false: the files that shared a sandbox are marked so, and the run says figures are per sandbox', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-vitest-shared-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const json = path.join(dir, 'results.json');
    const out = vitestRun(['--no-isolate', '--maxWorkers=1', 'pass.test.ts', 'host.test.ts'], {
      RINGFENCE_VITEST_JSON: json,
    });
    expect(out.status, out.output).toBe(0);
    expect(out.output).toContain(
      "ringfence: isolate: false — 2 files ran in 1 sandbox: each file's figures (CPU, memory peak, wall) are its sandbox's",
    );
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    expect(report.jobs.map((j) => [j.id, j.sandboxShared]).sort()).toEqual([
      ['host.test.ts', 2],
      ['pass.test.ts', 2],
    ]);
    // one sandbox: the same result for both
    expect(new Set(report.jobs.map((j) => j.result?.startedAt)).size).toBe(1);
    // and isolated (the demo's default), none is marked
    const isolated = vitestRun(['pass.test.ts', 'host.test.ts'], { RINGFENCE_VITEST_JSON: json });
    expect(isolated.status, isolated.output).toBe(0);
    expect(
      (JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport).jobs.every(
        (j) => j.sandboxShared === undefined,
      ),
    ).toBe(true);
    expect(isolated.output).not.toContain('isolate: false');
  });

  it('runs every demo file sandboxed: leak, hang and runaway fail with their cause, the rest pass', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-vitest-demo-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const json = path.join(dir, 'results.json');
    const xml = path.join(dir, 'junit.xml');
    const started = performance.now();
    const out = vitestRun([], { RINGFENCE_VITEST_JSON: json, RINGFENCE_VITEST_JUNIT: xml });
    const seconds = (performance.now() - started) / 1000;
    const output = out.output;
    expect(out.status, output).toBe(1);
    expect(seconds).toBeLessThan(60); // bounded: nothing hangs
    expect(output).toMatch(
      /ringfence: leak\.test\.ts was killed: memory limit 256 MiB reached \(OOM kill, peak \d+ MiB\)/,
    );
    expect(output).toMatch(/ringfence: hang\.test\.ts was killed: exceeded wall-clock timeout 3s/);
    expect(output).toMatch(
      /ringfence: runaway\.test\.ts was killed: exceeded wall-clock timeout 3s; killed \d+ processes/,
    );
    expect(output).toMatch(/Test Files\s+3 failed \| 2 passed \(5\)/);
    // host.test.ts asserts from inside that it sees no host process, only lo, its own hostname
    expect(output).toMatch(/✓ host\.test\.ts/);

    // the reporter: each file's outcome and what its sandbox used, as JSON results and valid JUnit
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    const byFile = Object.fromEntries(report.jobs.map((job) => [job.id, job]));
    expect(Object.fromEntries(report.jobs.map((job) => [job.id, job.outcome]))).toEqual({
      'hang.test.ts': 'timeout',
      'host.test.ts': 'passed',
      'leak.test.ts': 'oom',
      'pass.test.ts': 'passed',
      'runaway.test.ts': 'timeout',
    });
    expect(byFile['leak.test.ts']?.result?.memory.peakBytes).toBe(256 * 1024 * 1024);
    for (const job of report.jobs) expect(job.result?.memory.peakBytes).toBeGreaterThan(1024 * 1024);
    const lint = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, xml], { encoding: 'utf8' });
    expect(lint.status, lint.stderr).toBe(0);
    const junit = fs.readFileSync(xml, 'utf8');
    for (const file of Object.keys(byFile)) expect(junit).toContain(`ringfence.${file}.memory.peak_bytes`);
    // a <testcase> per Vitest test, named as Vitest names it; a killed file's test fails of the kill
    expect(byFile['pass.test.ts']?.tests?.map((test) => [test.name, test.outcome])).toEqual([
      ['sum > adds', 'passed'],
      ['sum > adds negative numbers', 'passed'],
    ]);
    expect(junit).toMatch(/<testcase classname="pass\.test\.ts" name="sum > adds" time="[\d.]+"\/>/);
    expect(junit).toMatch(/<testcase classname="pass\.test\.ts" name="sum > adds negative numbers"/);
    expect(junit).toMatch(
      /<testcase classname="leak\.test\.ts" name="leaks" time="[\d.]+">\s*<failure message="ringfence: leak\.test\.ts was killed: memory limit 256 MiB reached \(OOM kill, peak \d+ MiB\)" type="oom"/,
    );
    expect(junit).toMatch(
      /<testcase classname="hang\.test\.ts" name="hangs"[^>]*>\s*<failure [^>]*type="timeout"/,
    );
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 120_000);
});
