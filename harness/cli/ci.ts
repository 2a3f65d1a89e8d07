// `ringfence ci MANIFEST`: a manifest of jobs, run in parallel sandboxes on the piscina pool, with a
// live view and JSON / JUnit reports. Exit 0 all passed, 1 any failed, 2 manifest invalid, 130
// interrupted. An invalid manifest or flag is refused before anything runs and writes no report.
import type { Command } from 'commander';
import path from 'node:path';
import { Harness } from '../pool.js';
import { loadManifest } from '../manifest/load.js';
import { closureOfNeeds, parseShard, shard as shardJobs } from '../manifest/graph.js';
import { ManifestError, type Manifest, type ManifestJob } from '../manifest/types.js';
import { runScheduled } from '../ci/scheduler.js';
import { createProgress } from '../ci/progress.js';
import { VERSION } from '../version.js';
import { parseInteger, InputError } from '../units.js';
import { gitInfo, hostInfo, writeResultsFile } from '../../reporters/json.js';
import { writeJUnitFile } from '../../reporters/junit.js';
import { RESULTS_SCHEMA, type JobEntry, type RunReport } from '../../reporters/types.js';

export const EXIT_MANIFEST_INVALID = 2;
export const EXIT_INTERRUPTED = 130;

interface CiFlags {
  concurrency?: string;
  json?: string;
  junit?: string;
  shard?: string;
  only?: string[];
  failFast?: boolean;
}

export function ciCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('ci')
    .description('run a manifest of jobs in parallel sandboxes, with JSON and JUnit reports')
    .argument('<manifest>', 'YAML or JSON manifest (see fixtures/demo.yml)')
    .option('--concurrency <n>', 'jobs at once (default: the CPUs this process may use)')
    .option('--json <file>', 'write the results (the versioned JSON schema) to file')
    .option('--junit <file>', 'write a JUnit XML report to file')
    .option(
      '--shard <i/n>',
      'run only the i-th of n deterministic shards (a job and its needs stay together)',
    )
    .option('--only <name...>', 'run only these jobs (and what they need)')
    .option('--fail-fast', 'stop at the first job that fails: abort running jobs, start no more')
    .action(async (manifestFile: string, flags: CiFlags) => setExit(await ci(manifestFile, flags)));
}

interface Plan {
  manifest: Manifest;
  jobs: ManifestJob[];
  shard: { index: number; total: number } | null;
  concurrency: number | undefined;
}

function plan(manifestFile: string, flags: CiFlags): Plan {
  const manifest = loadManifest(path.resolve(manifestFile));
  let jobs = manifest.jobs;
  const shard = flags.shard === undefined ? null : parseShard(flags.shard);
  if (flags.only?.length) jobs = closureOfNeeds(manifest.jobs, flags.only, manifest.file);
  if (shard) jobs = shardJobs(jobs, shard.index, shard.total);
  const concurrency =
    flags.concurrency === undefined ? undefined : parseInteger('concurrency', flags.concurrency, 1, 1024);
  return { manifest, jobs, shard, concurrency };
}

async function ci(manifestFile: string, flags: CiFlags): Promise<number> {
  let p: Plan;
  try {
    p = plan(manifestFile, flags);
  } catch (error) {
    if (error instanceof ManifestError || error instanceof InputError) {
      process.stderr.write(
        `ringfence ci: ${error instanceof InputError ? `--${error.field}: ${error.reason}` : error.message}\n`,
      );
      return EXIT_MANIFEST_INVALID;
    }
    throw error;
  }
  let harness: Harness;
  try {
    harness = new Harness(p.concurrency === undefined ? {} : { concurrency: p.concurrency });
  } catch (error) {
    process.stderr.write(`ringfence ci: ${(error as Error).message}\n`);
    return 1;
  }
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = createProgress(p.jobs.length, process.stderr);
  const startedAt = new Date();
  let entries: JobEntry[];
  try {
    entries = await runScheduled(p.jobs, {
      harness,
      suite: p.manifest.name,
      signal: interrupt.signal,
      failFast: flags.failFast ?? false,
      onEvent: (event) => progress.onEvent(event),
    });
  } finally {
    progress.stop();
    await harness.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const finishedAt = new Date();
  const report: RunReport = {
    schema: RESULTS_SCHEMA,
    ringfence: { version: VERSION },
    host: hostInfo(entries.find((e) => e.result)?.result?.diagnostics.cgroupVersion ?? null),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallMs: finishedAt.getTime() - startedAt.getTime(),
    git: gitInfo(path.dirname(p.manifest.file)),
    manifest: { file: p.manifest.file, name: p.manifest.name },
    shard: p.shard,
    limits: { defaults: { ...p.manifest.defaults }, concurrency: harness.concurrency },
    interrupted: interrupt.signal.aborted,
    jobs: entries,
  };
  try {
    if (flags.json) writeResultsFile(path.resolve(flags.json), report);
    if (flags.junit) writeJUnitFile(path.resolve(flags.junit), report);
  } catch (error) {
    process.stderr.write(`ringfence ci: ${(error as Error).message}\n`);
    return 1;
  }
  const count = (outcomes: string[]): number => entries.filter((e) => outcomes.includes(e.outcome)).length;
  const failed = count(['failed', 'timeout', 'oom', 'signaled', 'error']);
  process.stderr.write(
    `ringfence ci: ${count(['passed'])} passed, ${count(['flaky'])} flaky, ${failed} failed, ` +
      `${count(['skipped'])} skipped, ${count(['aborted'])} aborted in ${(report.wallMs / 1000).toFixed(1)}s\n`,
  );
  if (interrupt.signal.aborted) return EXIT_INTERRUPTED;
  return failed + count(['skipped', 'aborted']) > 0 ? 1 : 0;
}
