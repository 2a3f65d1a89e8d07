// Made-up RunReports for the compare tests: one entry per job with the figures given, everything else
// as a real run writes it (they pass the results schema, so they can be written and read back).
import type { JobResult } from '../../harness/result.js';
import { RESULTS_SCHEMA, type JobEntry, type JobOutcome, type RunReport } from '../../reporters/types.js';

export const MiB = 1024 ** 2;

export interface Figures {
  cpu?: number;
  wall?: number;
  memory?: number | null;
  pids?: number | null;
  outcome?: JobOutcome;
  suite?: string;
}

export function jobResult(name: string, f: Figures): JobResult {
  const status =
    f.outcome === undefined || f.outcome === 'flaky' || f.outcome === 'skipped' ? 'passed' : f.outcome;
  return {
    name,
    command: ['node', `${name}.js`],
    status,
    exitCode: status === 'passed' ? 0 : null,
    signal: null,
    reason: status === 'passed' ? 'exited 0' : status,
    termination: null,
    startedAt: '2025-03-01T10:00:00.000Z',
    wallMs: f.wall ?? 100,
    cpu: { userMs: (f.cpu ?? 50) * 0.8, systemMs: (f.cpu ?? 50) * 0.2, totalMs: f.cpu ?? 50 },
    memory: {
      peakBytes: f.memory === undefined ? 30 * MiB : f.memory,
      limitBytes: 256 * MiB,
      oomKills: status === 'oom' ? 1 : 0,
      failcnt: 0,
      maxRssBytes: null,
    },
    pids: { peak: f.pids === undefined ? 8 : f.pids, limit: 64 },
    io: { readBytes: 0, writeBytes: 0 },
    limits: { timeoutMs: 20_000, cpuTimeMs: null, cpus: null },
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    error: null,
    diagnostics: { cgroupVersion: 1, processTree: null },
  };
}

export function entry(id: string, f: Figures = {}, repeat?: number): JobEntry {
  const result = f.outcome === 'skipped' ? null : jobResult(id, f);
  return {
    id,
    suite: f.suite ?? 'demo',
    outcome: f.outcome ?? 'passed',
    result,
    attempts: result ? [result] : [],
    ...(f.outcome === 'skipped' ? { skipReason: 'needs build, which ended failed' } : {}),
    ...(repeat === undefined ? {} : { repeat }),
  };
}

export function report(jobs: JobEntry[]): RunReport {
  return {
    schema: RESULTS_SCHEMA,
    ringfence: { version: '0.1.0' },
    host: { hostname: 'ci', kernel: '6.1.0', arch: 'x64', cpus: 2, cgroupVersion: 1 },
    startedAt: '2025-03-01T10:00:00.000Z',
    finishedAt: '2025-03-01T10:00:05.000Z',
    wallMs: 5000,
    git: null,
    manifest: { file: '/repo/ci.yml', name: 'demo' },
    shard: null,
    limits: { defaults: {}, concurrency: 2 },
    interrupted: false,
    jobs,
  };
}

/** A repeated run: `perRepeat[i]` are the jobs of repeat i. */
export function repeated(perRepeat: Record<string, Figures>[]): RunReport {
  return report(
    perRepeat.flatMap((jobs, i) =>
      Object.entries(jobs).map(([id, f]) => entry(id, f, perRepeat.length > 1 ? i : undefined)),
    ),
  );
}
