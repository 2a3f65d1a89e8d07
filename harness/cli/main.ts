#!/usr/bin/env node
// ringfence's command line: `run` (one job), `ci` (a manifest), `merge`, `compare` and `doctor`.
// Usage errors exit 125 like Docker (2 for ci, merge and compare), before anything runs.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';

export const EXIT_USAGE = 125;

/** What main() would return; an EPIPE on stdout ends the process with it. */
let exitCodeSoFar = 0;

type Register = (program: Command, setExit: (code: number) => void) => void;

/**
 * Each subcommand's module, loaded only when it is the one asked for: `ci` alone pulls in piscina,
 * YAML, zod and the JUnit builder, whose loading `run` would pay at every start for nothing.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./run.js')).runCommand,
  ci: async () => (await import('./ci.js')).ciCommand,
  merge: async () => (await import('./merge.js')).mergeCommand,
  compare: async () => (await import('./compare.js')).compareCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
};

export async function main(argv: string[]): Promise<number> {
  // `ringfence doctor | head`: a reader that stops early is not an error worth a stack trace
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(exitCodeSoFar);
    throw error;
  });
  const program = new Command('ringfence')
    .description('Run jobs in throw-away Linux sandboxes with hard caps, and report what each one used.')
    .version(VERSION)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  let exitCode = 0;
  const asked = argv[2] ?? '';
  // every command for the top-level help and for an unknown command's message
  const only = Object.hasOwn(COMMANDS, asked) ? COMMANDS[asked] : undefined;
  const none = asked === '--version' || asked === '-V'; // the version needs no command at all
  for (const load of only ? [only] : none ? [] : Object.values(COMMANDS))
    (await load())(program, (code) => (exitCode = exitCodeSoFar = code));
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
