// A RunReport around given jobs, for tests of what reads or renders reports (JUnit, merge, compare):
// the run's own fields are fixed, plausible values; `over` replaces any of them.
import type { JobEntry, RunReport } from '../../reporters/types.js';
import { RESULTS_SCHEMA } from '../../reporters/types.js';

export function runReport(jobs: JobEntry[], over: Partial<RunReport> = {}): RunReport {
  return {
    schema: RESULTS_SCHEMA,
    ringfence: { version: '0.1.0' },
    host: { hostname: 'ci-runner-7', kernel: '6.8.0-45-generic', arch: 'x64', cpus: 16, cgroupVersion: 2 },
    startedAt: '2025-03-01T10:00:00.000Z',
    finishedAt: '2025-03-01T10:01:30.000Z',
    wallMs: 90_000,
    git: { commit: '0123456789abcdef0123456789abcdef01234567', branch: 'main' },
    manifest: { file: 'ringfence.yaml', name: 'backend' },
    shard: null,
    limits: { defaults: { memory: '512m', timeout: '60s' }, concurrency: 4 },
    interrupted: false,
    jobs,
    ...over,
  };
}
