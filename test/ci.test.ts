// `ringfence ci` and `merge` as a CI engineer runs them: the demo manifest, bad manifests, an
// interrupted run, and shards merged back together.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../reporters/types.js';
import {
  CLI,
  describeSandbox,
  JUNIT_XSD,
  leftovers,
  NO_LEFTOVERS,
  ringfence,
  ROOT,
} from './support/sandbox.js';

const XSD = JUNIT_XSD;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-ci-test-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeManifest(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function xpath(file: string, expr: string): string {
  const out = spawnSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' });
  return out.stdout.trim();
}

describe('ringfence ci: invalid manifests exit 2 naming the job and field, and write no report', () => {
  it.each([
    [
      'cycle',
      'jobs:\n  - name: a\n    command: "true"\n    needs: b\n  - name: b\n    command: "true"\n    needs: a\n',
      /a → b → a|b → a → b/,
    ],
    ['unknown need', 'jobs:\n  - name: a\n    command: "true"\n    needs: nope\n', /job "a".*needs.*nope/],
    [
      'bad size',
      'jobs:\n  - name: leaky\n    command: "true"\n    memory: 12zz\n',
      /:4.*job "leaky".*field "memory".*12zz/,
    ],
  ])('%s', (name, text, message) => {
    const file = writeManifest(`${name.replace(' ', '-')}.yml`, text);
    const json = path.join(dir, `${name}.json`);
    const out = ringfence('ci', file, '--json', json, '--junit', `${json}.xml`);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(fs.existsSync(json)).toBe(false);
    expect(fs.existsSync(`${json}.xml`)).toBe(false);
  });
});

describeSandbox('ringfence ci', () => {
  it('runs the demo manifest: exit 1, valid JUnit with oom and timeout failures, flaky and skipped jobs', async () => {
    const json = path.join(dir, 'demo.json');
    const xml = path.join(dir, 'demo.xml');
    const out = ringfence('ci', 'fixtures/demo.yml', '--json', json, '--junit', xml);
    expect(out.status, out.stderr).toBe(1);
    const lint = spawnSync('xmllint', ['--noout', '--schema', XSD, xml], { encoding: 'utf8' });
    expect(lint.status, lint.stderr).toBe(0);
    expect(xpath(xml, 'string(//testcase[@name="memory-leak"]/failure/@type)')).toBe('oom');
    // junit-10.xsd allows <properties> only on <testsuite>: each job's figures are named ringfence.<job>.*
    const peak = Number(
      xpath(
        xml,
        'string(//testsuite/properties/property[@name="ringfence.memory-leak.memory.peak_bytes"]/@value)',
      ),
    );
    expect(peak).toBeGreaterThan(60 * 1024 * 1024);
    expect(peak).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(xpath(xml, 'string(//testcase[@name="hang"]/failure/@type)')).toBe('timeout');
    expect(xpath(xml, 'string(//testcase[@name="deploy"]/skipped/@message)')).toMatch(/needs memory-leak/);

    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    const outcome = Object.fromEntries(report.jobs.map((job) => [job.id, job.outcome]));
    expect(outcome).toEqual({
      build: 'passed',
      'unit-tests': 'passed',
      package: 'passed',
      lint: 'passed',
      'flaky-network-test': 'flaky',
      'memory-leak': 'oom',
      hang: 'timeout',
      'fork-bomb': 'timeout',
      deploy: 'skipped',
    });
    // held at the cap, and the kernel counted the forks it refused there
    expect(report.jobs.find((job) => job.id === 'fork-bomb')?.result?.pids).toMatchObject({
      peak: 32,
      limit: 32,
    });
    expect(report.jobs.find((job) => job.id === 'fork-bomb')?.result?.pids.refused).toBeGreaterThan(0);
    expect(report.jobs.find((job) => job.id === 'flaky-network-test')?.attempts.length).toBe(2);
    expect(report.schema).toBe('ringfence.results/1');
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  });

  it('SIGINT mid-run exits 130 within 2 s, marks unfinished jobs aborted, leaves nothing behind', async () => {
    const manifest = writeManifest(
      'slow.yml',
      'jobs:\n' +
        Array.from(
          { length: 6 },
          (_, i) => `  - name: sleeper-${i}\n    command: touch started-${i}; sleep 30\n`,
        ).join(''),
    );
    const json = path.join(dir, 'interrupted.json');
    const child = spawn(process.execPath, [CLI, 'ci', manifest, '--concurrency', '2', '--json', json], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    // not a fixed delay (a loaded machine may not have the CLI's handler in place by then): the two
    // jobs the concurrency allows say they run, in their workdir (the manifest's directory)
    const started = (): string[] => fs.readdirSync(dir).filter((n) => n.startsWith('started-'));
    const deadline = performance.now() + 60_000;
    while (started().length < 2 && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(started()).toHaveLength(2);
    const sent = performance.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    expect(performance.now() - sent).toBeLessThan(2000);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    expect(report.interrupted).toBe(true);
    expect(report.jobs.every((job) => job.outcome === 'aborted')).toBe(true);
    expect(report.jobs.filter((job) => job.result !== null).length).toBe(2); // the two that had started
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  });

  it('--shard 1/2 and 2/2 run every job once; merge equals the unsharded set', () => {
    const manifest = writeManifest(
      'sharded.yml',
      'jobs:\n' +
        ['a', 'b', 'c', 'd', 'e'].map((n) => `  - name: ${n}\n    command: "true"\n`).join('') +
        '  - name: f\n    command: "true"\n    needs: [a]\n',
    );
    const files = [1, 2].map((i) => path.join(dir, `shard-${i}.json`));
    for (const [i, file] of files.entries()) {
      const out = ringfence('ci', manifest, '--shard', `${i + 1}/2`, '--json', file);
      expect(out.status, out.stderr).toBe(0);
    }
    const ids = files.map((file) =>
      (JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport).jobs.map((job) => job.id),
    );
    expect([...ids[0]!, ...ids[1]!].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(ids.some((shard) => shard.includes('a') && shard.includes('f'))).toBe(true); // f needs a: together
    const merged = path.join(dir, 'merged.json');
    const xml = path.join(dir, 'merged.xml');
    const merge = ringfence('merge', ...files, '--json', merged, '--junit', xml);
    expect(merge.status, merge.stderr).toBe(0);
    const all = path.join(dir, 'all.json');
    const unsharded = ringfence('ci', manifest, '--json', all);
    expect(unsharded.status, unsharded.stderr).toBe(0);
    const jobsOf = (file: string): string[] =>
      (JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport).jobs
        .map((job) => `${job.id}:${job.outcome}`)
        .sort();
    expect(jobsOf(merged)).toEqual(jobsOf(all));
    expect(spawnSync('xmllint', ['--noout', '--schema', XSD, xml]).status).toBe(0);
  });

  it('merge refuses an unreadable results file with exit 2, naming it', () => {
    const bad = path.join(dir, 'garbage.json');
    fs.writeFileSync(bad, '{"schema": "ringfence.results/1", "jobs": [');
    const out = ringfence('merge', bad);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain(bad);
  });
});
