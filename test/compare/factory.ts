// Made-up RunReports for the compare tests: one entry per job with the figures given, everything else
// as a real run writes it (they pass the results schema, so they can be written and read back).
import { runReport } from '../support/reports.js';
import type { JobResult } from '../../harness/job/result.js';
import type { JobEntry, JobOutcome, RunReport } from '../../reporters/types.js';

export const MiB = 1024 ** 2;

export interface Figures {
  cpu?: number;
  wall?: number;
  memory?: number | null;
  pids?: number | null;
  /** bytes written to storage (read: none) */
  written?: number;
  /** bytes left in the --disk capped /tmp and layers; absent: no cap */
  disk?: number;
  outcome?: JobOutcome;
  suite?: string;
  /** paths written outside the workdir (`--fs overlay`); null: `--fs host`; absent: no report */
  wrote?: string[] | null;
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
    ...(f.disk === undefined
      ? {}
      : { disk: { bytes: f.disk, files: 3, limitBytes: 1024 * MiB, limitFiles: 100_000, capReached: null } }),
    io: { readBytes: 0, writeBytes: f.written ?? 0, source: 'task', cgroup: null },
    limits: { timeoutMs: 20_000, cpuTimeMs: null, cpus: null },
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    error: null,
    diagnostics: { cgroupVersion: 1, processTree: null },
    ...(f.wrote === undefined
      ? {}
      : {
          filesystem: {
            mode: f.wrote === null ? ('host' as const) : ('overlay' as const),
            changes:
              f.wrote?.map((p) => ({ path: p, kind: 'added' as const, bytes: 2, type: 'file' as const })) ??
              null,
            truncated: 0,
          },
        }),
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
  return runReport(jobs, { manifest: { file: '/repo/ci.yml', name: 'demo' } });
}

/** A repeated run: `perRepeat[i]` are the jobs of repeat i. */
export function repeated(perRepeat: Record<string, Figures>[]): RunReport {
  return report(
    perRepeat.flatMap((jobs, i) =>
      Object.entries(jobs).map(([id, f]) => entry(id, f, perRepeat.length > 1 ? i : undefined)),
    ),
  );
}
