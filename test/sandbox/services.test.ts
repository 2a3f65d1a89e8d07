// Services: a job's Redis or Postgres in sandboxes of their own, sharing only the job's network
// namespace. Real servers from Debian (redis-server, postgresql: .ci/run installs them), real jobs,
// and nothing left afterwards — no service process, cgroup, scratch or namespace holder.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import type { JobResult } from '../../harness/job/result.js';
import { runJob } from '../../harness/run-job.js';
import type { RunReport } from '../../reporters/types.js';
import { JUNIT_XSD, NO_LEFTOVERS, describeSandbox, leftovers, ringfence } from '../support/sandbox.js';
import { badInputs } from '../support/tally.js';

const REDIS = ['redis-server', '--port', '6379', '--save', '', '--appendonly', 'no'];

/** This process's open fds on a network or user namespace (`net:[4026…]`, `user:[4026…]`). */
function openNetnsFds(): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith('net:') || target.startsWith('user:') ? [target] : [];
    } catch {
      return []; // the directory's own fd, closed by now
    }
  });
}

describeSandbox('services: a job with its own Redis and Postgres', () => {
  let dir = '';
  beforeAll(() => {
    for (const program of ['redis-server', 'redis-cli', 'psql'])
      expect(
        spawnSync('sh', ['-c', `command -v ${program}`]).status,
        `${program} (apt-get install redis-server postgresql)`,
      ).toBe(0);
  });
  afterEach(async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = '';
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
    // the namespace fd this process held for a job's services is closed: the namespace goes with its
    // last process
    expect(openNetnsFds()).toEqual([]);
  });

  it('fixtures/services.yml: Redis twice in parallel on one port, Postgres, a frozen Redis, a never-ready service', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-services-'));
    const json = path.join(dir, 'r.json');
    const xml = path.join(dir, 'r.xml');
    const out = ringfence(
      'ci',
      'fixtures/services.yml',
      '--concurrency',
      '2',
      '--json',
      json,
      '--junit',
      xml,
    );
    expect(out.status, out.stdout + out.stderr).toBe(1);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    const byId = Object.fromEntries(report.jobs.map((j) => [j.id, j]));
    expect(Object.fromEntries(report.jobs.map((j) => [j.id, j.outcome]))).toEqual({
      'redis-a': 'passed',
      'redis-b': 'passed',
      postgres: 'passed',
      'redis-frozen': 'passed',
      'never-ready': 'error',
    });
    // the two Redis jobs overlapped in time: same port, each its own server
    const span = (id: string): [number, number] => {
      const r = byId[id]!.result!;
      const start = Date.parse(r.startedAt);
      return [start, start + r.wallMs];
    };
    const [a, b] = [span('redis-a'), span('redis-b')];
    expect(a[0] < b[1] && b[0] < a[1], 'redis-a and redis-b ran at the same time').toBe(true);
    for (const id of ['redis-a', 'redis-b', 'postgres']) {
      const [service] = byId[id]!.result!.services!;
      expect(service!.outcome).toBe('ended');
      expect(service!.readyMs).toBeGreaterThan(0);
      expect(service!.result!.memory.peakBytes).toBeGreaterThan(0);
    }
    // the frozen Redis: its client saw the timeout and the recovery, and the window is on record
    const frozen = byId['redis-frozen']!.result!;
    expect(frozen.stdout).toMatch(
      /pong\n.*timeout\n.*pong\nthe client timed out during the pause and recovered after it/,
    );
    const pauses = frozen.services![0]!.result!.pauses!;
    expect(pauses).toHaveLength(1);
    expect(pauses[0]!.forMs).toBeGreaterThanOrEqual(3000);
    // the never-ready service: the job names it, its check and its last output, and never ran
    expect(byId['never-ready']!.result!.reason).toBe(
      'service never-ready: not ready on tcp:7777 after 2s; its last output: listening on 7777 soon',
    );
    expect(byId['never-ready']!.result!.services![0]!.outcome).toBe('not-ready');
    // JUnit: valid, with each service's figures
    const lint = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, xml], { encoding: 'utf8' });
    expect(lint.status, lint.stderr).toBe(0);
    const text = fs.readFileSync(xml, 'utf8');
    for (const [job, service] of [
      ['redis-a', 'redis'],
      ['postgres', 'postgres'],
    ])
      expect(text).toMatch(
        new RegExp(`name="ringfence\\.${job}\\.service\\.${service}\\.memory\\.peak_bytes" value="\\d+"`),
      );
    expect(text).toContain('name="ringfence.never-ready.service.never-ready.status" value="not-ready"');
  }, 120_000);

  it('a service that exits while its job runs fails the job, naming it and its code', async () => {
    const result: JobResult = await runJob({
      command: ['sleep', '30'],
      timeout: '20s',
      services: [{ name: 'flaky', command: 'echo up; sleep 0.3; exit 3', ready: { log: '^up$' } }],
    });
    expect(result.status).toBe('failed');
    expect(result.reason).toBe('service flaky exited with code 3 while the job ran; its last output: up');
    expect(result.services?.[0]?.outcome).toBe('exited');
    expect(result.wallMs).toBeLessThan(10_000);
  });

  it('a job killed by its timeout takes its services down with it, through the freezer path', async () => {
    const result = await runJob({
      command: ['sleep', '30'],
      timeout: '1s',
      services: [{ name: 'redis', command: REDIS, ready: { tcp: 6379 } }],
    });
    expect(result.status).toBe('timeout');
    const service = result.services![0]!;
    expect(service.outcome).toBe('ended');
    expect(service.result?.status).toBe('aborted');
    // leftovers (afterEach): no redis-server, launcher, cgroup or scratch
  });

  it('a ready command runs in the namespace until it exits 0; a service that cannot start fails its job', async () => {
    const ok = await runJob({
      command: ['redis-cli', 'ping'],
      services: [{ name: 'redis', command: REDIS, ready: { command: ['redis-cli', 'ping'] } }],
    });
    expect(ok.status, ok.reason).toBe('passed');
    expect(ok.stdout).toBe('PONG\n');
    const missing = await runJob({
      command: ['true'],
      services: [{ name: 'ghost', command: ['no-such-server-xyz'], ready: { tcp: 1 } }],
    });
    expect(missing.status).toBe('error');
    expect(missing.reason).toMatch(/^service ghost: .*no-such-server-xyz.*ENOENT/);
  });

  it('in user namespaces (rootless always, here --userns): the job and its services share one, each its own mounts', async () => {
    // what rootless needs (a network owned by another user namespace cannot be joined): the first
    // service's sandbox makes the user namespace, the next and the job join it before the network
    const ns = 'readlink /proc/self/ns/user /proc/self/ns/mnt';
    const server = (port: number): string[] => [
      'sh',
      '-c',
      `${ns}; exec redis-server --port ${port} --save '' --appendonly no`,
    ];
    const result = await runJob({
      command: ['sh', '-c', `${ns} && redis-cli -p 6379 ping && redis-cli -p 6380 ping`],
      userns: true,
      services: [
        { name: 'first', command: server(6379), userns: true, ready: { tcp: 6379 } },
        { name: 'second', command: server(6380), userns: true, ready: { command: 'redis-cli -p 6380 ping' } },
      ],
    });
    expect(result.status, result.reason).toBe('passed');
    const [jobUser, jobMnt, ...pongs] = result.stdout.trim().split('\n');
    expect(pongs).toEqual(['PONG', 'PONG']);
    expect(jobUser).not.toBe(fs.readlinkSync('/proc/self/ns/user'));
    const seen = (result.services ?? []).map((s) => s.result?.stdout.split('\n').slice(0, 2));
    expect(seen.map((lines) => lines?.[0])).toEqual([jobUser, jobUser]);
    expect(new Set([jobMnt, ...seen.map((lines) => lines?.[1])]).size).toBe(3);
    expect(result.services?.map((s) => s.outcome)).toEqual(['ended', 'ended']);
  });

  it('ringfence run --service: the single-job form, with the JSON naming the service', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-services-run-'));
    const json = path.join(dir, 'r.json');
    const service = `{name: redis, command: ${JSON.stringify(REDIS)}, ready: {tcp: 6379}}`;
    const out = ringfence('run', '--json', json, '--service', service, '--', 'redis-cli', 'ping');
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toBe('PONG\n');
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as JobResult;
    expect(result.services?.map((s) => [s.name, s.outcome])).toEqual([['redis', 'ended']]);
    const bad = ringfence('run', '--service', 'redis-server', '--', 'true');
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/--service: expected \{name: NAME, command: …, ready: …\}/);
  });

  it('refuses bad services before anything runs', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-services-bad-'));
    const manifest = path.join(dir, 'ci.yml');
    const cases: [string, RegExp][] = [
      [
        'services:\n  db: { command: "true" }\njobs:\n  - name: a\n    services: [dbb]\n    command: "true"\n',
        /ci\.yml:5, job "a", field "services": unknown service "dbb" \(the manifest's services: db\)/,
      ],
      [
        'services:\n  db:\n    command: "true"\n    ready: { udp: 1 }\njobs:\n  - name: a\n    services: db\n    command: "true"\n',
        /ci\.yml:4, field "services": expected one of \{tcp: PORT\}/,
      ],
      [
        'services:\n  db:\n    command: "true"\n    memory: lots\njobs:\n  - name: a\n    services: db\n    command: "true"\n',
        /ci\.yml:4, job "a", field "services\.db\.memory"/,
      ],
      [
        'services:\n  db: { command: "true" }\njobs:\n  - name: a\n    services: db\n    network: host\n    command: "true"\n',
        /field "services": need --network none/,
      ],
    ];
    for (const [text, message] of cases) {
      fs.writeFileSync(manifest, text);
      const out = ringfence('ci', manifest);
      expect(out.status, text).toBe(2);
      expect(out.stderr).toMatch(message);
    }
    await expect(
      runJob({ command: ['true'], services: [{ name: 'x', command: 'true', ready: { log: '(' } }] }),
    ).rejects.toThrow(/services\.x\.ready: log: /);
    badInputs('services', cases.length + 1);
  });

  it('needs: api (listed first) needs db, which is ready before api starts, in 20 jobs of 20', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-services-needs-'));
    // db takes a moment to open its port (a database's startup); api exits 3 at once unless db
    // answers when it starts, so the order and the readiness both show in the job's outcome
    const manifest = [
      'services:',
      '  api:',
      '    needs: db',
      "    command: redis-cli -p 6379 ping | grep -qx PONG || exit 3; exec redis-server --port 6380 --save '' --appendonly no",
      '    ready: { tcp: 6380 }',
      '  db:',
      "    command: sleep 0.3; exec redis-server --port 6379 --save '' --appendonly no",
      '    ready: { tcp: 6379 }',
      'defaults:',
      '  timeout: 60s',
      'jobs:',
      ...Array.from({ length: 20 }, (_, i) => [
        `  - name: j${i}`,
        '    services: api',
        '    command: test "$(redis-cli -p 6380 ping)" = PONG',
      ]).flat(),
    ].join('\n');
    const file = path.join(dir, 'needs.yml');
    fs.writeFileSync(file, `${manifest}\n`);
    const json = path.join(dir, 'r.json');
    const out = ringfence('ci', file, '--concurrency', '2', '--json', json);
    expect(out.status, out.stdout + out.stderr).toBe(0);
    // a working set-up prints its jobs' lines and no Node warning (as of an fd `fs` opened and
    // something else closed: the capped disks' loop devices once were)
    expect(out.stderr).not.toMatch(/Warning/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    expect(report.jobs).toHaveLength(20);
    for (const job of report.jobs) {
      expect(job.outcome, job.result?.reason).toBe('passed');
      // db came with api (the job lists api alone), before it; both were ready and ran to the end
      expect(job.result?.services?.map((s) => [s.name, s.outcome])).toEqual([
        ['db', 'ended'],
        ['api', 'ended'],
      ]);
    }
  });
});
