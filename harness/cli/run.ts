// `ringfence run [flags] -- cmd args…`: one job, Docker's flag names, the job's exit status (124 on a
// timeout, 137 on an OOM kill, 125 when ringfence could not start it).
import { Command, InvalidArgumentError, Option } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { refusedForksText } from '../job/format.js';
import { netLine } from '../../reporters/net.js';
import { diskCapText } from '../job/disk-figures.js';
import { keptSummary, pollutionSummary, readOnlySummary, refusedSummary } from '../fs/pollution.js';
import { exitStatusFor, type JobResult } from '../job/result.js';
import { runJob } from '../run-job.js';
import { Sandbox } from '../launch/spares.js';
import type { RunningJob } from '../job/run-options.js';
import { cliAttribute, cliFlags, cliOptions, type JobOption } from '../job/options.js';
import { resolveJobSpec, type JobSpecInput } from '../job/spec.js';
import { InputError } from '../job/units.js';

/** What commander parsed: the declared options under their attribute names, and run's own. */
export interface RunFlags {
  service: string[];
  env: string[];
  cleanEnv?: boolean;
  keepLayer?: string;
  json?: string | boolean;
  quiet?: boolean;
  verbose?: boolean;
  [attribute: string]: unknown;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A `choice` with a `listForm`: one of the choices, or `FORM:…` (its items judged with the spec). */
function choiceOrList(declared: JobOption): (value: string) => string {
  const form = `${declared.listForm?.form}:`;
  return (value) => {
    if (declared.choices?.includes(value) || value.startsWith(form)) return value;
    throw new InvalidArgumentError(
      `Allowed choices are ${[...(declared.choices ?? []), `${form}${declared.listForm?.item},…`].join(', ')}.`,
    );
  };
}

/** A commander Option for each declared option of `run`, in the declaration's order. */
function declaredOptions(): Option[] {
  return cliOptions().map((declared) => {
    const option = new Option(cliFlags(declared), declared.help);
    if (declared.choices && declared.listForm) option.argParser(choiceOrList(declared));
    else if (declared.choices) option.choices(declared.choices);
    if (declared.kind === 'list' || declared.kind === 'map') option.argParser(collect).default([]);
    return option;
  });
}

export function runCommand(program: Command, setExit: (code: number) => void): void {
  runFlags(program).action(async (command: string[], flags: RunFlags) => setExit(await run(command, flags)));
}

/** The `run` command with its arguments and flags, without its action (a test parses with it). */
export function runFlags(program: Command): Command {
  const command = program
    .command('run')
    .description('run one command in a fresh sandbox')
    .usage('[flags] -- <command> [args...]')
    // -h is Docker's --hostname; help stays on --help
    .helpOption('--help', 'show the flags')
    .argument('<command...>', 'the program and its arguments (after --)');
  for (const option of declaredOptions()) command.addOption(option);
  command
    .option(
      '--json [file]',
      "write the result as JSON to file, or to stdout (the job's stdout then goes to stderr); use --json=FILE",
    )
    .option('-q, --quiet', 'no summary line on stderr')
    // no -v: that is Docker's --volume
    .option(
      '--verbose',
      'also say what is as expected for this host (the overlay layout in a user namespace)',
    )
    .passThroughOptions();
  return command;
}

async function run(command: string[], flags: RunFlags): Promise<number> {
  let input: JobSpecInput;
  try {
    input = toSpecInput(command, flags);
    if (flags.service.length > 0) {
      // the manifest's parser (YAML, zod) only when asked for: `run` starts without it
      const { serviceFromText } = await import('../manifest/services.js');
      input.services = flags.service.map((text) => serviceFromText(text, process.cwd()));
    }
    resolveJobSpec(input); // refuse bad values before anything is created
  } catch (error) {
    if (error instanceof InputError) {
      process.stderr.write(`ringfence: --${error.field}: ${error.reason}\n`);
      return 125;
    }
    throw error;
  }
  const jsonToStdout = flags.json === true;
  const jsonFile = typeof flags.json === 'string' ? path.resolve(flags.json) : null;
  const controller = new AbortController();
  let job: RunningJob | null = null;
  let signalsSeen = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalsSeen += 1;
    // first signal: pass it on and let the job end itself; a second one ends it through the freezer
    if (signalsSeen === 1 && job) job.signal(signal);
    else controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: JobResult;
  try {
    result = await runJob(input, {
      signal: controller.signal,
      prepareNext: false,
      stdout: jsonToStdout ? process.stderr : process.stdout,
      stderr: process.stderr,
      onStart: (running) => (job = running),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await Sandbox.settle();
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (jsonFile) {
    try {
      writeAtomically(jsonFile, json);
    } catch (error) {
      process.stderr.write(
        `ringfence: --json: cannot write ${jsonFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`,
      );
      return 125;
    }
  }
  if (jsonToStdout) process.stdout.write(json);
  if (!flags.quiet) {
    const refused = readOnlySummary(result.filesystem, flags.verbose === true);
    if (refused) process.stderr.write(`ringfence: ${refused}\n`);
    const wrote = pollutionSummary(result.filesystem);
    if (wrote) process.stderr.write(`ringfence: ${wrote}\n`);
    const notBack = refusedSummary(result.filesystem);
    if (notBack) process.stderr.write(`ringfence: ${notBack}\n`);
    const forks = refusedForksText(result.pids);
    if (forks) process.stderr.write(`ringfence: ${forks} (pids.events)\n`);
    const net = result.network ? netLine(result.network) : null;
    if (net) process.stderr.write(`ringfence: ${net}\n`);
    // a job that went on after ENOSPC and passed: the reason does not carry it then
    const disk = result.status === 'passed' ? diskCapText(result.disk) : null;
    if (disk) process.stderr.write(`ringfence: ${disk}\n`);
  }
  // said even with --quiet: the user asked for a file and must learn where it is, or why it is not
  if (flags.keepLayer !== undefined) process.stderr.write(`ringfence: ${keptSummary(result.filesystem)}\n`);
  if (!flags.quiet && result.status !== 'passed')
    process.stderr.write(`ringfence: ${result.status}: ${result.reason}\n`);
  const signo = result.signal ? os.constants.signals[result.signal as NodeJS.Signals] : undefined;
  return exitStatusFor(result, signo);
}

/** The job's input from the parsed flags (services aside: run() parses those, loading the manifest's parser). */
export function toSpecInput(command: string[], flags: RunFlags): JobSpecInput {
  const env: Record<string, string> = {};
  if (flags.cleanEnv) env.PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  else for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const entry of flags.env) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw new InputError('env', `invalid ${JSON.stringify(entry)} (expected KEY=VALUE or KEY)`);
    if (eq < 0) {
      const value = process.env[entry];
      if (value !== undefined) env[entry] = value;
    } else env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const input: JobSpecInput = { command, env, stdin: 'inherit', passthrough: true };
  for (const option of cliOptions()) {
    const value = flags[cliAttribute(option)];
    if (option.cli === 'copy' && value !== undefined)
      (input as unknown as Record<string, unknown>)[option.key] = value;
  }
  // no --output at all keeps the workdir writable; an empty list would mean "write nothing back"
  const outputs = flags.output as string[];
  if (outputs.length > 0) input.outputs = outputs;
  return input;
}

/** temp file + rename: a crash never leaves half a report. */
export function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}
