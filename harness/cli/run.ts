// `ringfence run [flags] -- cmd args…`: one job, Docker's flag names, the job's exit status (124 on a
// timeout, 137 on an OOM kill, 125 when ringfence could not start it).
import { Command, Option } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { refusedForksText } from '../format.js';
import { keptSummary, pollutionSummary, readOnlySummary } from '../fs/pollution.js';
import { exitStatusFor, type JobResult } from '../result.js';
import { runJob } from '../job.js';
import { Sandbox, type RunningJob } from '../sandbox.js';
import { resolveJobSpec, type FsMode, type JobSpecInput, type NetworkMode } from '../spec.js';
import { InputError } from '../units.js';

interface RunFlags {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  timeout?: string;
  cpuTime?: string;
  network?: NetworkMode;
  hostname?: string;
  user?: string;
  userns?: boolean;
  strict?: boolean;
  cgroupns?: boolean;
  fs?: FsMode;
  readOnly?: boolean;
  allowGitWrite?: boolean;
  keepLayer?: string;
  tmpSize?: string;
  volume: string[];
  service: string[];
  workdir?: string;
  env: string[];
  cleanEnv?: boolean;
  nofile?: string;
  outputLimit?: string;
  cgroupParent?: string;
  json?: string | boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function runCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('run one command in a fresh sandbox')
    .usage('[flags] -- <command> [args...]')
    // -h is Docker's --hostname; help stays on --help
    .helpOption('--help', 'show the flags')
    .argument('<command...>', 'the program and its arguments (after --)')
    .option('-m, --memory <size>', 'hard memory cap, e.g. 512m, 1g (swap off unless --memory-swap)')
    .option('--memory-swap <size>', 'memory plus swap, e.g. 1g; -1 for unlimited swap')
    .option('--cpus <n>', 'CPU quota in CPUs, e.g. 0.5, 2')
    .option('--cpu-shares <n>', 'relative CPU weight (2-262144, default 1024)')
    .option('--cpuset-cpus <list>', 'CPUs the job may run on, e.g. 0-1 or 0,2')
    .option(
      '--pids-limit <n>',
      "cap on tasks (processes and threads), ringfence's launcher and init included",
    )
    .option('--blkio-weight <n>', 'block-I/O weight 10-1000, where the controller exists')
    .option('--timeout <duration>', 'wall-clock limit, e.g. 30s, 500ms, 2m; exit 124 when hit')
    .option('--cpu-time <duration>', 'CPU-time limit over all processes of the job; exit 124 when hit')
    .addOption(
      new Option(
        '--network <mode>',
        'none: own network namespace with only lo; host: the host network',
      ).choices(['none', 'host']),
    )
    .option('-h, --hostname <name>', 'hostname inside (default ringfence)')
    .option('-u, --user <uid[:gid]>', 'run the job as this user (number or name)')
    .option('--userns', 'also a user namespace: root inside is uid 100000 outside')
    .option('--cgroupns', 'also a cgroup namespace')
    .option(
      '--strict',
      'refuse the job (exit 125) when this host cannot enforce a cap or the namespaces, instead of warning (also RINGFENCE_STRICT=1)',
    )
    .addOption(
      new Option(
        '--fs <mode>',
        "the host's files outside the workdir: overlay (default: writes succeed inside, are discarded and reported), read-only (writes fail, EROFS), host (writes reach the host)",
      ).choices(['overlay', 'read-only', 'host']),
    )
    .option('--read-only', 'the same as --fs read-only')
    .option(
      '--allow-git-write',
      "with --fs overlay, let the job write the workdir's .git (read-only by default)",
    )
    .option(
      '--keep-layer <dir|file.tar>',
      'with --fs overlay, keep what the job wrote outside its workdir as a layer (a new or empty directory, or a tar file; OCI whiteouts) instead of discarding it',
    )
    .option('--tmp-size <size>', 'make /tmp a tmpfs of this size instead of the scratch directory')
    .option('-v, --volume <src:dst[:ro]>', 'bind mount (repeatable)', collect, [])
    .option(
      '--service <yaml>',
      "a service the job needs, in its own sandbox on the job's network (repeatable): '{name: redis, command: redis-server, ready: {tcp: 6379}}' (the manifest's service fields)",
      collect,
      [],
    )
    .option('-w, --workdir <dir>', 'working directory inside (default: the current directory)')
    .option(
      '-e, --env <KEY=VALUE>',
      'set a variable; KEY alone passes it from here (repeatable)',
      collect,
      [],
    )
    .option('--clean-env', 'start from an empty environment (PATH kept) instead of this one')
    .option('--nofile <n>', 'open-file limit (RLIMIT_NOFILE) for the job')
    .option('--output-limit <size>', 'cap on captured stdout and on stderr, each (default 1m)')
    .option(
      '--cgroup-parent <path>',
      'create cgroups beneath this delegated cgroup (also RINGFENCE_CGROUP_PARENT)',
    )
    .option(
      '--json [file]',
      "write the result as JSON to file, or to stdout (the job's stdout then goes to stderr); use --json=FILE",
    )
    .option('-q, --quiet', 'no summary line on stderr')
    .passThroughOptions()
    .action(async (command: string[], flags: RunFlags) => setExit(await run(command, flags)));
}

async function run(command: string[], flags: RunFlags): Promise<number> {
  let input: JobSpecInput;
  try {
    input = toSpecInput(command, flags);
    if (flags.service.length > 0) {
      // the manifest's parser (YAML, zod) only when asked for: `run` starts without it
      const { serviceFromText } = await import('../manifest/load.js');
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
    const refused = readOnlySummary(result.filesystem);
    if (refused) process.stderr.write(`ringfence: ${refused}\n`);
    const wrote = pollutionSummary(result.filesystem);
    if (wrote) process.stderr.write(`ringfence: ${wrote}\n`);
    const forks = refusedForksText(result.pids);
    if (forks) process.stderr.write(`ringfence: ${forks} (pids.events)\n`);
  }
  // said even with --quiet: the user asked for a file and must learn where it is, or why it is not
  if (flags.keepLayer !== undefined) process.stderr.write(`ringfence: ${keptSummary(result.filesystem)}\n`);
  if (!flags.quiet && result.status !== 'passed')
    process.stderr.write(`ringfence: ${result.status}: ${result.reason}\n`);
  const signo = result.signal ? os.constants.signals[result.signal as NodeJS.Signals] : undefined;
  return exitStatusFor(result, signo);
}

function toSpecInput(command: string[], flags: RunFlags): JobSpecInput {
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
  const input: JobSpecInput = {
    command,
    env,
    volumes: flags.volume,
    stdin: 'inherit',
    passthrough: true,
  };
  const copy = <K extends keyof JobSpecInput & keyof RunFlags>(key: K): void => {
    if (flags[key] !== undefined) (input as unknown as Record<string, unknown>)[key] = flags[key];
  };
  for (const key of [
    'memory',
    'memorySwap',
    'cpus',
    'cpuShares',
    'cpusetCpus',
    'pidsLimit',
    'blkioWeight',
    'timeout',
    'cpuTime',
    'network',
    'hostname',
    'user',
    'userns',
    'strict',
    'cgroupns',
    'fs',
    'readOnly',
    'allowGitWrite',
    'keepLayer',
    'tmpSize',
    'workdir',
    'nofile',
    'outputLimit',
    'cgroupParent',
  ] as const) {
    copy(key);
  }
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
