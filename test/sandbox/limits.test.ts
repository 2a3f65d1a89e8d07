// Every cap holds and is reported: real jobs under real cgroups, checked against the kernel's counters.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it, onTestFinished } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import type { RunReport } from '../../reporters/types.js';
import {
  FIXTURES,
  NO_LEFTOVERS,
  describeSandbox,
  leftovers,
  pidAlive,
  ringfence,
} from '../support/sandbox.js';

const MiB = 1024 * 1024;
const fixture = (name: string): string => path.join(FIXTURES, name);

describeSandbox('caps and accounting', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('memory: a hog past the cap is OOM-killed and reported as oom by the kernel counter', async () => {
    const result = await runJob({ command: ['node', fixture('memory-hog.js'), '200'], memory: '64m' });
    expect(result.status).toBe('oom');
    expect(result.memory.oomKills).toBeGreaterThanOrEqual(1);
    expect(result.memory.limitBytes).toBe(64 * MiB);
    expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * MiB);
    expect(result.memory.peakBytes).toBeGreaterThan(60 * MiB);
    expect(result.reason).toMatch(/memory limit 64 MiB reached \(OOM kill, peak/);
  });

  it('memory: 100 MiB touched is reported as a peak of 100–115 MiB', async () => {
    const result = await runJob({ command: ['node', fixture('memory-hog.js'), '100'], memory: '512m' });
    expect(result.status, result.reason).toBe('passed');
    expect(result.memory.peakBytes! / MiB).toBeGreaterThanOrEqual(100);
    expect(result.memory.peakBytes! / MiB).toBeLessThanOrEqual(115);
    expect(result.memory.oomKills).toBe(0);
    expect(result.memory.maxRssBytes! / MiB).toBeGreaterThan(100); // one process's RSS, runtime included
  });

  it('pids: a fork bomb under --pids-limit 32 is held at the cap and ends', async () => {
    const result = await runJob({ command: ['sh', fixture('fork-bomb.sh')], pidsLimit: 32, timeout: '10s' });
    expect(['passed', 'failed', 'timeout']).toContain(result.status);
    expect(result.pids.limit).toBe(32);
    expect(result.pids.peak).toBe(32);
    expect(result.stderr).toMatch(/fork|Resource temporarily unavailable/i);
    // how often the cap said no, from the kernel's pids.events: said even when the job exits 0
    expect(result.pids.refused).toBeGreaterThan(0);
  });

  it('pids: a job that passes after hitting its cap says so on the CLI, in JSON and JUnit', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-pids-refused-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    // 40 sleeps started under a cap of 32 (node's own threads count too): some forks refused, and
    // the job still exits 0, as a test suite whose worker pool came up short would
    const manifest = path.join(dir, 'ci.yml');
    const script =
      "const { spawn } = require('child_process'); for (let i = 0; i < 40; i++) { try { spawn('sleep', ['0.3']).on('error', () => {}); } catch {} } setTimeout(() => process.exit(0), 500);";
    fs.writeFileSync(
      manifest,
      `jobs:\n  - name: capped\n    pids-limit: 32\n    command: [node, -e, ${JSON.stringify(script)}]\n`,
    );
    const json = path.join(dir, 'r.json');
    const xml = path.join(dir, 'r.xml');
    const out = ringfence('ci', manifest, '--json', json, '--junit', xml);
    expect(out.status, out.stderr).toBe(0);
    const refused =
      (JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport).jobs[0]?.result?.pids.refused ?? 0;
    expect(refused).toBeGreaterThan(0);
    expect(out.stdout + out.stderr).toMatch(
      new RegExp(`PASS +capped \\(.*, ${refused} forks? refused at --pids-limit 32\\)`),
    );
    expect(fs.readFileSync(xml, 'utf8')).toContain(
      `<property name="ringfence.capped.pids.refused" value="${refused}"/>`,
    );
  });

  it('cpu: --cpus 0.5 for 2 s of wall gives 0.9–1.1 s of CPU', async () => {
    const result = await runJob({
      command: ['node', fixture('cpu-spin.js'), '100'],
      cpus: 0.5,
      timeout: '2s',
    });
    expect(result.status).toBe('timeout');
    expect(result.wallMs).toBeGreaterThanOrEqual(2000);
    expect(result.cpu.totalMs).toBeGreaterThanOrEqual(900);
    expect(result.cpu.totalMs).toBeLessThanOrEqual(1100);
  });

  it("cpu: a 1 s spinner's CPU is reported within 5% of what the process measured itself", async () => {
    const result = await runJob({ command: ['node', fixture('cpu-spin.js'), '1'] });
    expect(result.status, result.reason).toBe('passed');
    const self = JSON.parse(result.stdout) as { totalMs: number };
    expect(self.totalMs).toBeGreaterThanOrEqual(1000);
    expect(Math.abs(result.cpu.totalMs - self.totalMs) / self.totalMs).toBeLessThanOrEqual(0.05);
    expect(result.cpu.userMs + result.cpu.systemMs).toBeGreaterThan(result.cpu.totalMs * 0.9);
  });

  it('--cpu-time ends a spinner once the cgroup has used that much CPU', async () => {
    const result = await runJob({
      command: ['node', fixture('cpu-spin.js'), '30'],
      cpuTime: '500ms',
      timeout: '20s',
    });
    expect(result.status).toBe('timeout');
    expect(result.termination).toBe('cpu-timeout');
    expect(result.cpu.totalMs).toBeGreaterThanOrEqual(500);
    expect(result.cpu.totalMs).toBeLessThan(650);
    expect(result.reason).toMatch(/CPU-time limit 500ms/);
  });

  it('timeout: a daemonized, SIGTERM-ignoring tree is killed within 200 ms of the deadline, nothing left', async () => {
    const result = await runJob({ command: ['sh', fixture('daemonize.sh')], timeout: '1s' });
    expect(result.status).toBe('timeout');
    expect(result.termination).toBe('wall-timeout');
    expect(result.wallMs).toBeGreaterThanOrEqual(1000);
    expect(result.wallMs).toBeLessThan(1200);
    const tree = result.diagnostics.processTree ?? [];
    const sleepers = tree.filter((p) => p.cmdline === 'sleep 1000');
    expect(sleepers.length).toBe(3); // the job's own sleep and the two the daemon left
    expect(tree.every((p) => p.state === 'S' || p.state === 'D' || p.state === 'R')).toBe(true);
    for (const p of tree) expect(pidAlive(p.pid), `pid ${p.pid} (${p.cmdline})`).toBe(false);
  });

  it('when the main process exits, what it left running in the sandbox is killed', async () => {
    const result = await runJob({ command: ['sh', '-c', 'sleep 100 & sleep 100 & echo started'] });
    expect(result.status).toBe('passed');
    expect(result.wallMs).toBeLessThan(1000);
  });
});
