// Fault: the harness itself is SIGKILLed mid-run (no exit handler, no cleanup of its own). Its jobs
// must die with it — the launcher and the job's init both arm PR_SET_PDEATHSIG — and the next start
// of ringfence must sweep the instance cgroups and scratch dirs the dead harness left.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, describeSandbox, pidAlive, ringfence } from '../support/sandbox.js';
import { expectNoLeftovers, fault } from '../support/tally.js';
import {
  cmdlineOf,
  instanceDirsOf,
  pidsUnder,
  ringfenceAsync,
  scratchDirsOf,
  waitFor,
  type CliRun,
} from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-fault-kill-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeSandbox('fault: the harness is SIGKILLed mid-run', () => {
  it('its jobs die with it, and the next start sweeps its cgroups and scratch dirs', async () => {
    const manifest = path.join(dir, 'kill.yml');
    // a plain sleeper and a daemonizer (setsid, double fork, ignores SIGTERM): both must die
    fs.writeFileSync(
      manifest,
      [
        'defaults:',
        `  cwd: ${JSON.stringify(ROOT)}`,
        '  timeout: 60s',
        '  memory: 128m',
        'jobs:',
        '  - name: sleeper',
        '    command: [sleep, "61.5"]',
        '  - name: daemon',
        '    command: [sh, fixtures/daemonize.sh]',
        '',
      ].join('\n'),
    );
    let harnessPid = -1;
    const run: Promise<CliRun> = ringfenceAsync(['ci', manifest, '--concurrency', '2'], (pid) => {
      harnessPid = pid;
    });
    let jobPids: number[] = [];
    try {
      // both jobs are running: the sleeper, and the daemon's three `sleep 1000`
      jobPids = await waitFor('both jobs to run', 20_000, () => {
        const pids = pidsUnder(instanceDirsOf(harnessPid));
        const lines = pids.map(cmdlineOf);
        const ready =
          lines.includes('sleep 61.5') && lines.filter((line) => line === 'sleep 1000').length >= 3;
        return ready ? pids : undefined;
      });
    } finally {
      process.kill(harnessPid, 'SIGKILL');
    }
    const ended = await run;
    expect(ended.signal).toBe('SIGKILL');

    // every process that was in the dead harness's cgroups (jobs, launchers, inits, spares) dies
    await waitFor('the jobs to die', 5000, () => jobPids.every((pid) => !pidAlive(pid)));
    expect(jobPids.filter(pidAlive)).toEqual([]);

    // what it left: instance parents (one per hierarchy) and scratch dirs — no one removed them yet
    const stale = instanceDirsOf(harnessPid);
    expect(stale.length).toBeGreaterThan(0);
    expect(scratchDirsOf(harnessPid).length).toBeGreaterThan(0);
    expect(pidsUnder(stale)).toEqual([]);

    // the next start of ringfence (a fresh process) sweeps them before its own job runs
    const next = ringfence('run', '-q', '--', '/bin/true');
    expect(next.status, next.stderr).toBe(0);
    expect(instanceDirsOf(harnessPid)).toEqual([]);
    expect(scratchDirsOf(harnessPid)).toEqual([]);
    fault('harness SIGKILLed mid-run: jobs die with it, next start sweeps', 'survived');
    await expectNoLeftovers({ strict: true });
  }, 40_000);
});
