// The Vitest reporter that writes what each test file's sandbox used, in the same JSON results schema
// as `ringfence ci` (so `merge` and `compare` read both) and as JUnit with each file's ringfence.*
// figures. Add it beside Vitest's own reporters:
//
//   reporters: ['default', new RingfenceReporter({ json: 'ringfence.json', junit: 'ringfence.xml' })]
import os from 'node:os';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { gitInfo, hostInfo, writeResultsFile } from '../../reporters/json.js';
import { writeJUnitFile } from '../../reporters/junit.js';
import { RESULTS_SCHEMA, type JobEntry, type RunReport } from '../../reporters/types.js';
import { VERSION } from '../version.js';
import { fileResults } from './results.js';

export interface RingfenceReporterOptions {
  /** Write the JSON results here. */
  json?: string;
  /** Write JUnit XML here. */
  junit?: string;
}

export class RingfenceReporter implements Reporter {
  private startedAt = new Date();

  constructor(private readonly options: RingfenceReporterOptions = {}) {}

  onTestRunStart(): void {
    this.startedAt = new Date();
  }

  async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    const finishedAt = new Date();
    const records = await fileResults();
    const jobs: JobEntry[] = testModules.map((module) => {
      const record = records.get(module.moduleId);
      const result = record?.result ?? null;
      const state = module.state();
      // the sandbox's own verdict (oom, timeout, a crash) when it ended the file; else Vitest's
      const outcome: JobEntry['outcome'] =
        result && !record?.stoppedByVitest && result.status !== 'passed'
          ? result.status
          : state === 'passed'
            ? 'passed'
            : state === 'skipped'
              ? 'skipped'
              : 'failed';
      return {
        id: module.relativeModuleId,
        suite: module.project.name || 'vitest',
        outcome,
        result,
        attempts: result ? [result] : [],
        ...(outcome === 'skipped' ? { skipReason: 'skipped by Vitest' } : {}),
      };
    });
    const report: RunReport = {
      schema: RESULTS_SCHEMA,
      ringfence: { version: VERSION },
      host: hostInfo(jobs.find((job) => job.result)?.result?.diagnostics.cgroupVersion ?? null),
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      wallMs: finishedAt.getTime() - this.startedAt.getTime(),
      git: gitInfo(process.cwd()),
      manifest: null,
      shard: null,
      limits: { defaults: {}, concurrency: os.availableParallelism() },
      interrupted: false,
      jobs,
    };
    if (this.options.json) writeResultsFile(path.resolve(this.options.json), report);
    if (this.options.junit) writeJUnitFile(path.resolve(this.options.junit), report);
  }
}

export default RingfenceReporter;
