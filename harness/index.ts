// The library API: run a job in a sandbox and get what it used.
export { runJob } from './run-job.js';
export { Sandbox } from './launch/spares.js';
export type { RunOptions, RunningJob } from './job/run-options.js';
export {
  resolveJobSpec,
  DEFAULTS,
  type JobSpec,
  type JobSpecInput,
  type NetworkMode,
  type StdinMode,
  type Volume,
} from './job/spec.js';
export {
  exitStatusFor,
  type JobResult,
  type JobStatus,
  type JobError,
  type ProcessInfo,
  type Termination,
} from './job/result.js';
export { InputError, parseSize, parseDuration, parseCpus } from './job/units.js';
export { CgroupError, type CgroupLimits, type CgroupStats } from './cgroup/types.js';
export { runChecks, type Check } from './doctor.js';
export { Harness, type HarnessOptions, type ProgressEvent } from './parallel/harness.js';
