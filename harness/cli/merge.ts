// `ringfence merge A.json B.json … [--json out] [--junit out]`: joins the results of shards (or of
// any runs) into one report. Exit 2 when an input is unreadable, naming the file.
import type { Command } from 'commander';
import path from 'node:path';
import { readResultsFile, writeResultsFile } from '../../reporters/json.js';
import { writeJUnitFile } from '../../reporters/junit.js';
import { mergeReports } from '../../reporters/merge.js';

export function mergeCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('merge')
    .description('join results files (e.g. of shards) into one')
    .argument('<results...>', 'JSON results files written by ringfence ci --json')
    .option('--json <file>', 'write the merged results here')
    .option('--junit <file>', 'write a JUnit XML report of the merged results here')
    .action((files: string[], flags: { json?: string; junit?: string }) => {
      let merged;
      try {
        merged = mergeReports(files.map((file) => readResultsFile(path.resolve(file))));
      } catch (error) {
        process.stderr.write(`ringfence merge: ${(error as Error).message}\n`);
        return setExit(2);
      }
      if (flags.json) writeResultsFile(path.resolve(flags.json), merged);
      if (flags.junit) writeJUnitFile(path.resolve(flags.junit), merged);
      const bad = merged.jobs.filter((job) => job.outcome !== 'passed' && job.outcome !== 'flaky').length;
      process.stderr.write(
        `ringfence merge: ${merged.jobs.length} jobs from ${files.length} files, ${bad} not passed\n`,
      );
      setExit(bad > 0 ? 1 : 0);
    });
}
