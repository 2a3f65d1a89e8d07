// `ringfence merge A.json B.json … [--json out] [--junit out]`: joins the results of shards (or of
// any runs) into one report. Exit 2 when an input is unreadable, naming the file.
// `ringfence merge --queue redis://HOST:PORT --run-id ID`: the whole results of a queue run, each job
// with the worker that ran it; exit 125 when Redis cannot be reached or holds no such run, 2 when
// the run has jobs without a result yet.
import type { Command } from 'commander';
import path from 'node:path';
import { readResultsFile, writeResultsFile } from '../../reporters/json.js';
import { writeJUnitFile } from '../../reporters/junit.js';
import { mergeReports } from '../../reporters/merge.js';
import type { RunReport } from '../../reporters/types.js';
import { InputError } from '../job/units.js';
import { parseQueueUrl, parseRunId } from '../ci/queue.js';

interface MergeFlags {
  json?: string;
  junit?: string;
  queue?: string;
  runId?: string;
}

/** A refusal with its own exit status (125: the queue cannot be used). */
class Refused extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function mergeFiles(files: string[], flags: MergeFlags): RunReport {
  if (flags.runId !== undefined) throw new InputError('run-id', 'names a queue run: give --queue too');
  if (files.length === 0) throw new Error('nothing to merge: give results files, or --queue and --run-id');
  return mergeReports(files.map((file) => readResultsFile(path.resolve(file))));
}

async function mergeQueueRun(files: string[], flags: MergeFlags): Promise<RunReport> {
  if (files.length) throw new InputError('queue', 'reads a queue run: give no results files with it');
  if (flags.runId === undefined) throw new InputError('queue', 'needs --run-id ID');
  const target = parseQueueUrl(flags.queue as string);
  const runId = parseRunId(flags.runId);
  const { mergeQueue } = await import('./ci-queue.js');
  const got = await mergeQueue(target, runId);
  if ('message' in got) throw new Refused(got.message, got.code);
  return got.report;
}

export function mergeCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('merge')
    .description('join results files (e.g. of shards) into one')
    .argument('[results...]', 'JSON results files written by ringfence ci --json')
    .option('--json <file>', 'write the merged results here')
    .option('--junit <file>', 'write a JUnit XML report of the merged results here')
    .option('--queue <redis://host:port>', 'the results of a queue run in this Redis (with --run-id)')
    .option('--run-id <id>', 'the queue run to read')
    .action(async (files: string[], flags: MergeFlags) => {
      let merged;
      try {
        merged = flags.queue === undefined ? mergeFiles(files, flags) : await mergeQueueRun(files, flags);
      } catch (error) {
        const code = error instanceof Refused ? error.code : 2;
        const message =
          error instanceof InputError ? `--${error.field}: ${error.reason}` : (error as Error).message;
        process.stderr.write(`ringfence merge: ${message}\n`);
        return setExit(code);
      }
      if (flags.json) writeResultsFile(path.resolve(flags.json), merged);
      if (flags.junit) writeJUnitFile(path.resolve(flags.junit), merged);
      const bad = merged.jobs.filter((job) => job.outcome !== 'passed' && job.outcome !== 'flaky').length;
      process.stderr.write(
        `ringfence merge: ${merged.jobs.length} jobs from ${flags.queue === undefined ? `${files.length} files` : `run ${flags.runId}`}, ${bad} not passed\n`,
      );
      setExit(bad > 0 ? 1 : 0);
    });
}
