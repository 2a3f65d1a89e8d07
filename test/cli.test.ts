// The CLI's acceptance behaviour, run as a user would (the built dist, through node), with the
// exit statuses Docker and GNU timeout users expect.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeSandbox,
  FIXTURES,
  leftovers,
  NO_LEFTOVERS,
  pidAlive,
  ringfence,
} from './support/sandbox.js';

describe('ringfence CLI: bad input is refused with 125 before anything runs', () => {
  it.each([
    [['--memory', '12zz'], /--memory: invalid size "12zz"/],
    [['--timeout', '5x'], /--timeout: invalid duration "5x"/],
    [['--cpus', '99'], /--cpus: range of CPUs is from 0.01 to/],
    [['--pids-limit', 'many'], /--pids-limit: expected a whole number/],
    [['--network', 'bridge'], /--network.*bridge.*Allowed choices are none, host/],
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
  ])('%j', async (flags, message) => {
    const marker = path.join(os.tmpdir(), `rf-never-${process.pid}`);
    const out = ringfence('run', ...flags, '--', 'touch', marker);
    expect(out.status).toBe(125);
    expect(out.stderr).toMatch(message);
    expect(fs.existsSync(marker)).toBe(false); // refused before anything ran
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('a run without a command is refused', () => {
    const out = ringfence('run');
    expect(out.status).toBe(125);
    expect(out.stderr).toMatch(/missing required argument 'command'/);
  });
});

describeSandbox('ringfence CLI: acceptance', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('run --memory 64m -- node fixtures/memory-hog.js 200 exits 137 and --json says oom', () => {
    const out = ringfence('run', '--memory', '64m', '--', 'node', 'fixtures/memory-hog.js', '200');
    expect(out.status).toBe(137);
    expect(out.stderr).toMatch(/oom: killed: memory limit 64 MiB reached/);
    const json = ringfence('run', '--memory', '64m', '--json', '--', 'node', 'fixtures/memory-hog.js', '200');
    expect(json.status).toBe(137);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'oom',
      memory: { limitBytes: 64 * 1024 * 1024 },
    });
  });

  it('run --timeout 1s -- sh fixtures/daemonize.sh exits 124 within 2.5 s, wallMs < 1200, nothing left', () => {
    const out = ringfence('run', '--timeout', '1s', '--json', '--', 'sh', 'fixtures/daemonize.sh');
    expect(out.status).toBe(124);
    expect(out.ms).toBeLessThan(2500);
    const result = JSON.parse(out.stdout) as {
      wallMs: number;
      diagnostics: { processTree: { pid: number }[] };
    };
    expect(result.wallMs).toBeLessThan(1200);
    expect(result.diagnostics.processTree.length).toBeGreaterThanOrEqual(4);
    for (const p of result.diagnostics.processTree) expect(pidAlive(p.pid)).toBe(false);
  });

  it('run --pids-limit 32 --timeout 10s -- sh fixtures/fork-bomb.sh ends with the host unaffected', () => {
    const out = ringfence(
      'run',
      '--pids-limit',
      '32',
      '--timeout',
      '10s',
      '--json',
      '--',
      'sh',
      'fixtures/fork-bomb.sh',
    );
    expect([0, 124]).toContain(out.status);
    const result = JSON.parse(out.stdout) as { pids: { peak: number; limit: number; refused: number } };
    expect(result.pids).toMatchObject({ peak: 32, limit: 32 });
    expect(result.pids.refused).toBeGreaterThan(0);
    expect(ringfence('run', '--', 'true').status).toBe(0); // the host can still start processes
  });

  it('run -- hostname prints a hostname other than the host one', () => {
    const out = ringfence('run', '--', 'hostname');
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe('ringfence');
    expect(out.stdout.trim()).not.toBe(os.hostname());
  });

  it("passes the job's own exit status and a missing program exits 125", () => {
    expect(ringfence('run', '--', 'sh', '-c', 'exit 42').status).toBe(42);
    const missing = ringfence('run', '--', 'no-such-program-xyz');
    expect(missing.status).toBe(125);
    expect(missing.stderr).toMatch(/exec no-such-program-xyz: ENOENT/);
  });

  it('doctor exits 0 and reports cgroup v1 with memory, cpu, cpuacct, pids, freezer', () => {
    const out = ringfence('doctor');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^ok\s+cgroup version\s+v1/m);
    for (const controller of ['memory', 'cpu', 'cpuacct', 'pids', 'freezer']) {
      expect(out.stdout).toMatch(new RegExp(`^ok\\s+cgroup ${controller}\\s`, 'm'));
    }
    expect(out.stdout).toMatch(/^ok\s+trial job/m);
    // the trial job's own filesystem: / overlaid, nothing bound read-only in its place
    expect(out.stdout).toMatch(
      /^ok\s+overlay \(--fs overlay\)\s+writes outside the workdir are the job's own/m,
    );
  });

  it('fixtures: probe reports from inside', () => {
    const out = ringfence('run', '--', 'node', path.join(FIXTURES, 'probe.js'));
    expect(JSON.parse(out.stdout)).toMatchObject({ hostname: 'ringfence', interfaces: ['lo'] });
  });
});
