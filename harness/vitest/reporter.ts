// The Vitest reporter that writes what each test file's sandbox used, in the same JSON results schema
// as `ringfence ci` (so `merge` and `compare` read both) and as JUnit with each file's ringfence.*
// figures, and names each test file that wrote in the project (what was not written back) or outside
// it, discarded (`fs: 'overlay'`, the pool's default), and each output refused.
// Add it beside Vitest's own reporters:
//
//   reporters: ['default', new RingfenceReporter({ json: 'ringfence.json', junit: 'ringfence.xml' })]
import os from 'node:os';
import path from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { compareWithBaseline, loadSide, type Side } from '../../reporters/compare/index.js';
import { gitInfo, hostInfo, writeResultsFile } from '../../reporters/json.js';
import { writeJUnitFile } from '../../reporters/junit.js';
import { RESULTS_SCHEMA, type JobEntry, type RunReport, type TestCaseEntry } from '../../reporters/types.js';
import { pollutionSummary, refusedSummary } from '../fs/pollution.js';
import { VERSION } from '../version.js';
import { fileResults, killedMessage, type FileRecord } from './results.js';
import { recordedShardPlan, shardRefusal } from './shard-record.js';

export interface RingfenceReporterOptions {
  /** Write the JSON results here (relative to Vitest's root, as Vitest's own outputFile). */
  json?: string;
  /** Write JUnit XML here: a <testcase> per test, each file's ringfence.* figures on the testsuite. */
  junit?: string;
  /**
   * Earlier results (JSON or ringfence JUnit; several files for several runs) to compare this run
   * with: the comparison's summary is printed at the end. Also from RINGFENCE_BASELINE (comma-separated).
   */
  baseline?: string | string[];
}

export class RingfenceReporter implements Reporter {
  private startedAt = new Date();
  private root = process.cwd();
  private shard: RunReport['shard'] = null;

  constructor(private readonly options: RingfenceReporterOptions = {}) {}

  private baseline: Side | null = null;

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    const shard = vitest.config.shard;
    this.shard = shard ? { index: shard.index, total: shard.count } : null;
    const files = [this.options.baseline ?? process.env.RINGFENCE_BASELINE?.split(',') ?? []].flat();
    // read now: an unreadable baseline is refused before any test runs (the error names the file),
    // and a baseline that is also this run's json output is read before it is overwritten
    if (files.length) this.baseline = loadSide(files.map((file) => path.resolve(this.root, file)));
  }

  onTestRunStart(): void {
    this.startedAt = new Date();
  }

  async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    if (shardRefusal() !== null) {
      process.stdout.write('\nringfence: no results written: the sequencer could not plan this shard\n');
      return;
    }
    const finishedAt = new Date();
    const records = await fileResults();
    // the ringfence sequencer's plan, when it made this shard's (only then does `merge` check it)
    const plan = this.shard ? recordedShardPlan() : null;
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
        tests: testsOf(module, record),
        ...(record && record.sharedWith > 1 ? { sandboxShared: record.sharedWith } : {}),
        ...(outcome === 'skipped' ? { skipReason: 'skipped by Vitest' } : {}),
        ...durationOf(module),
      };
    });
    const report: RunReport = {
      schema: RESULTS_SCHEMA,
      ringfence: { version: VERSION },
      host: hostInfo(
        jobs.find((job) => job.result)?.result?.diagnostics.cgroupVersion ?? null,
        jobs.find((job) => job.result?.enforcement)?.result?.enforcement,
      ),
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      wallMs: finishedAt.getTime() - this.startedAt.getTime(),
      git: gitInfo(process.cwd()),
      manifest: null,
      shard: this.shard,
      limits: { defaults: {}, concurrency: os.availableParallelism() },
      interrupted: false,
      ...(plan ? { plan } : {}),
      jobs,
    };
    // the files that wrote in the project (but for what is written back) or outside it (--fs overlay,
    // the pool's default): discarded, and named; and outputs refused, with why
    const polluters = jobs.flatMap((job) => {
      const summary = pollutionSummary(job.result?.filesystem);
      const refused = refusedSummary(job.result?.filesystem);
      return [
        ...(summary ? [`ringfence: ${job.id} ${summary}\n`] : []),
        ...(refused ? [`ringfence: ${job.id}: ${refused}\n`] : []),
      ];
    });
    if (polluters.length) process.stdout.write(`\n${polluters.join('')}`);
    const shared = new Set(jobs.filter((job) => job.sandboxShared).map((job) => job.result));
    if (shared.size > 0) {
      const files = jobs.filter((job) => job.sandboxShared).length;
      process.stdout.write(
        `\nringfence: isolate: false — ${files} files ran in ${shared.size} sandbox${shared.size === 1 ? '' : 'es'}: each file's figures (CPU, memory peak, wall) are its sandbox's, shared with the files beside it: per sandbox, not per file (isolate: true gives each file its own)\n`,
      );
    }
    if (this.options.json) writeResultsFile(path.resolve(this.root, this.options.json), report);
    if (this.options.junit) writeJUnitFile(path.resolve(this.root, this.options.junit), report);
    if (this.baseline) process.stdout.write(`\n${compareWithBaseline(this.baseline, report).summary}`);
  }
}

/**
 * Vitest's own time for the file: its environment, setup, import and tests (a worker's start is not
 * in it). A balanced shard plan falls back on it where the file has no sandbox `result`.
 */
function durationOf(module: TestModule): { durationMs?: number } {
  const d = module.diagnostic();
  const ms =
    d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration;
  return Number.isFinite(ms) && ms >= 0 ? { durationMs: Math.round(ms) } : {};
}

/**
 * The file's tests as Vitest saw them. When the sandbox ended the file (OOM kill, timeout, crash),
 * every test that had not finished failed of that, with the same message Vitest prints for the file.
 */
function testsOf(module: TestModule, record: FileRecord | undefined): TestCaseEntry[] {
  const killed = record && !record.stoppedByVitest && record.result.status !== 'passed';
  const killMessage = killed ? killedMessage(module.relativeModuleId, record.result) : undefined;
  return [...module.children.allTests()].map((test) => {
    const result = test.result();
    const durationMs = test.diagnostic()?.duration ?? 0;
    switch (result.state) {
      case 'passed':
        return { name: test.fullName, outcome: 'passed', durationMs };
      case 'skipped':
        return { name: test.fullName, outcome: 'skipped', durationMs, message: result.note ?? 'skipped' };
      case 'failed':
        return {
          name: test.fullName,
          outcome: 'failed',
          durationMs,
          message: result.errors[0]?.message ?? 'failed',
        };
      case 'pending':
        // still running when the file ended: it ran for as long as the file's sandbox did
        return {
          name: test.fullName,
          outcome: 'failed',
          durationMs: killed ? record.result.wallMs : durationMs,
          message: killMessage ?? 'did not finish',
        };
    }
  });
}

export default RingfenceReporter;
