// runJob, the library's and every entry point's way to run one job: a job with services gets them
// around it (harness/services/run.ts: each service a sandbox of its own, one network namespace for
// all), any other goes straight into its sandbox (harness/job/run.ts); a job under `--network
// allow:…` gets its namespace and way out around both (harness/net/run.ts). Services and the
// allow-list sit above the one job path and use it; the job path knows nothing of them.
import type { JobResult } from './job/result.js';
import { runInSandbox } from './job/run.js';
import type { RunOptions } from './job/run-options.js';
import { runWithServices } from './services/run.js';
import { runWithAllowList } from './net/run.js';
import { resolveJobSpec, type JobSpec, type JobSpecInput } from './job/spec.js';

/** Runs one job in a fresh sandbox and resolves with what happened; rejects only on invalid input. */
export async function runJob(input: JobSpecInput | JobSpec, options: RunOptions = {}): Promise<JobResult> {
  const spec = resolveJobSpec(input);
  return spec.network === 'allow' ? runWithAllowList(spec, options, runResolved) : runResolved(spec, options);
}

function runResolved(spec: JobSpec, options: RunOptions): Promise<JobResult> {
  return spec.services.length > 0 ? runWithServices(spec, options) : runInSandbox(spec, options);
}
