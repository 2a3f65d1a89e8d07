#!/usr/bin/env node
// ringfence's command line: `run` (one job) and `doctor` (what this host can do). Usage errors exit
// 125 like Docker, before anything runs.
import { Command, CommanderError } from 'commander';
import { runCommand } from './run.js';
import { doctorCommand } from './doctor.js';
import { ciCommand } from './ci.js';
import { mergeCommand } from './merge.js';
import { compareCommand } from './compare.js';
import { VERSION } from '../version.js';

export const EXIT_USAGE = 125;

export async function main(argv: string[]): Promise<number> {
  const program = new Command('ringfence')
    .description('Run jobs in throw-away Linux sandboxes with hard caps, and report what each one used.')
    .version(VERSION)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  let exitCode = 0;
  runCommand(program, (code) => (exitCode = code));
  doctorCommand(program, (code) => (exitCode = code));
  ciCommand(program, (code) => (exitCode = code));
  mergeCommand(program, (code) => (exitCode = code));
  compareCommand(program, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0; ci, merge and compare document 2 for bad input
      if (error.exitCode === 0) return 0;
      return ['ci', 'merge', 'compare'].includes(argv[2] ?? '') ? 2 : EXIT_USAGE;
    }
    throw error;
  }
  return exitCode;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `ringfence: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT_USAGE;
  },
);
