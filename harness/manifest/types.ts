// A CI manifest once loaded and validated: what `ringfence ci` runs. Every job's spec has passed
// resolveJobSpec, `needs` name existing jobs and form no cycle — nothing is left to fail at run time.
import type { JobSpecInput } from '../job/spec-types.js';

export interface ManifestJob {
  /** Unique within the manifest; the stable id reports and `compare` match on. */
  name: string;
  /** defaults merged with the job's own fields, in JobSpecInput form (sizes/durations as written). */
  spec: JobSpecInput;
  /** Names of jobs that must pass (or be flaky) first. */
  needs: string[];
  /** Extra attempts after a failure; a job that fails then passes is reported flaky. */
  retries: number;
}

export interface Manifest {
  /** The file it was read from (absolute). */
  file: string;
  /** The testsuite name in JUnit: the manifest's `name`, else the file's base name without extension. */
  name: string;
  /** The `defaults` block as written (JobSpecInput form), for the report's "limits in force". */
  defaults: Partial<JobSpecInput>;
  jobs: ManifestJob[];
}

/** A refusal naming the file, the job and the field (and the line, for YAML). Exit status 2. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly job?: string,
    readonly field?: string,
    readonly line?: number,
  ) {
    const where = [
      line === undefined ? file : `${file}:${line}`,
      job === undefined ? null : `job ${JSON.stringify(job)}`,
      field === undefined ? null : `field ${JSON.stringify(field)}`,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${where}: ${reason}`);
    this.name = 'ManifestError';
  }
}
