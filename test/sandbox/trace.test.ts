// RunOptions.trace: where a job's milliseconds go (issue "Speed"). The launcher's phases come on its
// status pipe on CLOCK_MONOTONIC — the clock of Node's process.hrtime — so they interleave with the
// harness's own in one ordered list; checked on a real job.
import { afterEach, describe, expect, it } from 'vitest';
import { parseLauncherReports } from '../../harness/launch/status.js';
import { untouched } from '../../harness/fs/pollution.js';
import { runJob } from '../../harness/run-job.js';
import { NO_LEFTOVERS, describeSandbox, leftovers } from '../support/sandbox.js';

describe('trace lines', () => {
  it('are read with their phase and time; a malformed one is dropped', () => {
    expect(parseLauncherReports('trace\tclone\t123456789\ntrace\tBAD PHASE\t1\ntrace\texec\tx\n')).toEqual([
      { kind: 'trace', phase: 'clone', ns: 123456789n },
    ]);
  });
});

describe('the layers line', () => {
  it('is read once: only the first counts (the launcher writes it before the job exists)', () => {
    expect(parseLauncherReports('layers\t12\nlayers\t99\nlayers\tx\nlayers\t1\t2\n')).toEqual([
      { kind: 'layers', inodes: 12 },
    ]);
  });

  it('spares the walk only when the count after the job is the one from before it', () => {
    const reports = parseLauncherReports('layers\t12\n');
    expect(untouched(reports, 12)).toBe(true);
    expect(untouched(reports, 13)).toBe(false);
    expect(untouched(reports, null)).toBe(false); // layers on disk: no count
    expect(untouched([], 12)).toBe(false); // an older launcher, or one that could not count
  });
});

describeSandbox('a traced job', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it("lays the launcher's phases between the harness's, in the order they happen", async () => {
    const result = await runJob({ command: ['true'] }, { trace: true, prepareNext: false });
    expect(result.status, result.reason).toBe('passed');
    const phases = (result.trace ?? []).map((t) => t.phase);
    const order = [
      'start',
      'scratch',
      'release',
      'gate',
      'clone',
      'init',
      'staged',
      'root',
      'proc-dev-tmp',
      'mounts',
      'exec',
      'job-exit',
      'reaped',
      'exited',
      'stats',
    ];
    // every phase there, in this order (cgroup and spawn come between start and release)
    expect(phases.filter((p) => order.includes(p))).toEqual(order);
    const ms = (result.trace ?? []).map((t) => t.ms);
    expect(ms).toEqual([...ms].sort((a, b) => a - b));
    expect(ms[0]).toBe(0);
    // the launcher's part fits inside what the harness measured around it
    const at = (phase: string): number => result.trace?.find((t) => t.phase === phase)?.ms ?? NaN;
    expect(at('release')).toBeLessThanOrEqual(at('gate'));
    expect(at('reaped')).toBeLessThanOrEqual(at('exited'));
    // off by default
    expect((await runJob({ command: ['true'] })).trace).toBeUndefined();
  });

  it("reads the job's counters on the launcher's last line, before its exit, and they hold all the job did", async () => {
    // spins until it has used 300 ms of CPU itself, after touching 64 MiB
    const burn = 'Buffer.alloc(64 << 20, 1); while (process.cpuUsage().user < 300e3);';
    const result = await runJob(
      { command: [process.execPath, '-e', burn], memory: '256m' },
      { trace: true, prepareNext: false },
    );
    expect(result.status, result.reason).toBe('passed');
    const phases = (result.trace ?? []).map((t) => t.phase);
    // init reaped (with a PID namespace, the whole job gone) → counters read → the launcher's exit seen
    expect(phases.indexOf('reaped')).toBeGreaterThan(-1);
    expect(phases.indexOf('stats (early)')).toBeGreaterThan(phases.indexOf('reaped'));
    expect(phases.indexOf('stats (early)')).toBeLessThan(phases.indexOf('exited'));
    expect(result.cpu.totalMs).toBeGreaterThanOrEqual(300);
    expect(result.memory.peakBytes).toBeGreaterThanOrEqual(64 * 2 ** 20);
  });

  it('counts a deadline from the gate, armed before the next spare is made, and traces the kill', async () => {
    const result = await runJob({ command: ['sleep', '60'], timeout: '300ms' }, { trace: true });
    expect(result.status, result.reason).toBe('timeout');
    const trace = result.trace ?? [];
    const phases = trace.map((t) => t.phase);
    const order = [
      'release',
      'deadlines armed',
      'next spare',
      'wall-timeout',
      'frozen',
      'snapshot',
      'killed',
      'exited',
    ];
    // the timer is set before the spare's synchronous work, which would otherwise lengthen the timeout
    expect(phases.filter((p) => order.includes(p))).toEqual(order);
    const at = (phase: string): number => trace.find((t) => t.phase === phase)?.ms ?? NaN;
    expect(at('wall-timeout') - at('deadlines armed')).toBeGreaterThanOrEqual(300 - 1);
    // a killed job's counters are read on the launcher's last line too, not after its exit
    expect(at('stats (early)')).toBeLessThan(at('exited'));
    // the snapshot was taken while frozen: the sleep is in it, as the kernel's /proc had it
    const sleep = result.diagnostics.processTree?.find((p) => p.cmdline === 'sleep 60');
    expect(sleep).toBeDefined();
    expect(sleep?.rssBytes).toBeGreaterThan(0);
    expect(sleep?.ppid).toBeGreaterThan(0);
    // its pid in the job's own PID namespace, not the host's
    expect(sleep?.nsPid).toBeGreaterThanOrEqual(1);
    expect(sleep?.nsPid).not.toBe(sleep?.pid);
  });
});
