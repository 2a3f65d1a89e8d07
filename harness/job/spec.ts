// JobSpec: what a job is, validated once, with every default in this one file. Every entry point
// (CLI run, CLI ci, the Vitest pool, the library) builds a JobSpecInput and calls resolveJobSpec,
// so a bad value is refused the same way everywhere: InputError naming the field (the CLI flag name
// without dashes) and the reason, before anything runs.
import { strictFromEnv } from './enforce.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CgroupLimits } from '../cgroup/types.js';
import { outputPatternProblem } from '../fs/outputs.js';
import { isWithin, protectionFor } from './protect.js';
import { resolveServices } from '../services/spec.js';
import { parseAllowRule, type AllowRule } from '../net/allow.js';
import type { FsMode, JobSpec, JobSpecInput, NetworkInput, NetworkMode, Volume } from './spec-types.js';
import { InputError, parseCpus, parseCpuset, parseDuration, parseInteger, parseSize } from './units.js';

export type {
  FsMode,
  JobSpec,
  JobSpecInput,
  NetworkInput,
  NetworkMode,
  StdinMode,
  Volume,
} from './spec-types.js';

export const FS_MODES: readonly FsMode[] = ['overlay', 'read-only', 'host'];

export const DEFAULTS = {
  hostname: 'ringfence',
  network: 'none' as NetworkMode,
  fs: 'overlay' as FsMode,
  outputLimitBytes: 1024 * 1024,
  /**
   * ringfence's own init (and on v1 its launcher, moved in; on v2 it clones init in and stays out)
   * counts against the pids cap, so a cap must leave room for a job.
   */
  minPidsLimit: 3,
} as const;

/** CPUs this process may run on (affinity-aware). */
export function availableCpus(): number {
  return os.availableParallelism();
}

/** `none`, `host`, or an allow-list (`allow:a,b` or `{ allow: [a, b] }`), each entry judged. */
function resolveNetwork(input: NetworkInput | unknown): { network: NetworkMode; allow: AllowRule[] } {
  if (input === 'none' || input === 'host') return { network: input, allow: [] };
  let entries: unknown[] | null = null;
  if (typeof input === 'string' && input.startsWith('allow:')) entries = input.slice(6).split(',');
  else if (typeof input === 'object' && input !== null && 'allow' in input && Array.isArray(input.allow))
    entries = input.allow as unknown[];
  if (entries === null)
    throw new InputError(
      'network',
      `must be none, host or allow:HOST[:PORT],… ({ allow: [...] }), got ${JSON.stringify(input)}`,
    );
  const allow = entries.map((entry) => {
    const rule =
      typeof entry === 'string'
        ? parseAllowRule(entry)
        : `an entry must be text, got ${JSON.stringify(entry)}`;
    if (typeof rule === 'string') throw new InputError('network', rule);
    return rule;
  });
  return { network: 'allow', allow };
}

/**
 * `auto`, the disk caps `ci` and the Vitest pool default to: these, where the host can make a capped
 * filesystem; where it cannot (rootless, no loop devices) the job runs uncapped without a warning on
 * every run, and `ringfence doctor` says so. An explicit size is warned about (and refused by --strict).
 */
export const AUTO_DISK_BYTES = 1024 ** 3;
export const AUTO_FILES = 100_000;

/** An option that `none` (or leaving it out) lifts. */
function noneOr<T>(value: string | number | undefined, parse: (v: string | number) => T): T | null {
  return value === undefined || value === 'none' ? null : parse(value);
}

function isResolved(input: JobSpecInput | JobSpec): input is JobSpec {
  return 'limits' in input && Array.isArray(input.command) && 'timeoutMs' in input;
}

export function resolveJobSpec(input: JobSpecInput | JobSpec): JobSpec {
  if (isResolved(input)) return input;
  const command = resolveCommand(input.command);
  const limits: CgroupLimits = {};
  if (input.memory !== undefined) limits.memoryBytes = parseSize('memory', input.memory);
  if (input.memorySwap !== undefined) {
    if (input.memorySwap === -1 || input.memorySwap === '-1') limits.memorySwapBytes = -1;
    else {
      const swap = parseSize('memory-swap', input.memorySwap);
      if (limits.memoryBytes === undefined) throw new InputError('memory-swap', 'needs --memory as well');
      if (swap < limits.memoryBytes)
        throw new InputError('memory-swap', 'must be at least --memory (it is memory plus swap)');
      limits.memorySwapBytes = swap;
    }
  }
  if (input.cpus !== undefined) limits.cpus = parseCpus('cpus', input.cpus, availableCpus());
  if (input.cpuShares !== undefined)
    limits.cpuShares = parseInteger('cpu-shares', input.cpuShares, 2, 262144);
  if (input.cpusetCpus !== undefined)
    limits.cpusetCpus = parseCpuset('cpuset-cpus', input.cpusetCpus, os.cpus().length); // os.cpus() reads /proc: only when asked
  if (input.pidsLimit !== undefined) {
    limits.pidsLimit = parseInteger('pids-limit', input.pidsLimit, DEFAULTS.minPidsLimit, 4_194_304);
  }
  if (input.blkioWeight !== undefined)
    limits.blkioWeight = parseInteger('blkio-weight', input.blkioWeight, 10, 1000);

  const { network, allow } = resolveNetwork(input.network ?? DEFAULTS.network);
  const hostname = input.hostname ?? DEFAULTS.hostname;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(hostname)) {
    throw new InputError(
      'hostname',
      `invalid hostname ${JSON.stringify(hostname)} (letters, digits, '.', '-'; at most 63)`,
    );
  }
  const workdir = path.resolve(input.workdir ?? process.cwd());
  const stdin = input.stdin ?? 'ignore';
  if (!['inherit', 'ignore', 'pipe'].includes(stdin))
    throw new InputError('stdin', `must be inherit, ignore or pipe`);

  const env: Record<string, string> = {};
  // keys, then a get each: process.env answers every access through the C++ environment, and this
  // copy, on every job's path, is cheaper than Object.entries
  const source = input.env ?? process.env;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, input.extraEnv ?? {});
  for (const key of Object.keys(env)) {
    if (key === '' || key.includes('=') || key.includes('\0') || env[key]?.includes('\0')) {
      throw new InputError('env', `invalid variable ${JSON.stringify(key)}`);
    }
  }
  // the job's /tmp is private: point TMPDIR at it so tools don't write into a host path they can't see
  env.TMPDIR = '/tmp';

  const keepFds = [...(input.keepFds ?? [])];
  for (const fd of keepFds)
    if (!Number.isInteger(fd) || fd < 3)
      throw new InputError('keep-fd', `must be an fd number of 3 or more, got ${fd}`);

  const fsMode = resolveFsMode(input);
  const tmpSizeBytes = input.tmpSize === undefined ? null : parseSize('tmp-size', input.tmpSize);
  const volumes = (input.volumes ?? []).map(parseVolume);
  if (fsMode !== 'overlay' && volumes.some((v) => v.overlay))
    throw new InputError('volume', `SRC:DST:overlay needs --fs overlay, not --fs ${fsMode}`);
  // a volume that would make the harness's own files writable to the job is refused here, by name
  protectionFor(volumes);
  const outputs =
    input.outputs === undefined ? null : resolveOutputs(input.outputs, fsMode, workdir, volumes);

  return {
    name: input.name ?? command.join(' '),
    command,
    workdir,
    env,
    limits,
    timeoutMs: input.timeout === undefined ? null : parseDuration('timeout', input.timeout),
    cpuTimeMs: input.cpuTime === undefined ? null : parseDuration('cpu-time', input.cpuTime),
    network,
    allow,
    hostname,
    user: input.user === undefined ? null : parseUser(input.user),
    userns: input.userns ?? false,
    strict: input.strict ?? strictFromEnv(),
    cgroupns: input.cgroupns ?? false,
    fs: fsMode,
    readOnly: fsMode === 'read-only',
    allowGitWrite: input.allowGitWrite ?? false,
    allowToolingWrite: input.allowToolingWrite ?? false,
    outputs,
    guardedPaths: (input.guardedPaths ?? []).map((p) => path.resolve(workdir, p)),
    keepLayer: input.keepLayer === undefined ? null : resolveKeepLayer(input.keepLayer, fsMode),
    tmpSizeBytes,
    diskBytes: noneOr(input.disk, (v) => (v === 'auto' ? AUTO_DISK_BYTES : parseSize('disk', v))),
    files: noneOr(input.files, (v) => (v === 'auto' ? AUTO_FILES : parseInteger('files', v, 1, 2 ** 32 - 1))),
    diskAuto: input.disk === 'auto' || input.files === 'auto',
    volumes,
    nofile: input.nofile === undefined ? null : parseInteger('nofile', input.nofile, 16, 1 << 20),
    stdin,
    outputLimitBytes:
      input.outputLimit === undefined
        ? DEFAULTS.outputLimitBytes
        : parseSize('output-limit', input.outputLimit),
    passthrough: input.passthrough ?? false,
    keepFds,
    cgroupParent: input.cgroupParent ?? process.env.RINGFENCE_CGROUP_PARENT ?? null,
    services: resolveServices(input.services ?? [], network, resolveJobSpec),
  };
}

/**
 * `keep-layer`: checked before the job runs, so a bad target costs nothing — the overlay must be on,
 * the parent must exist, and a directory target must be absent or empty (its contents would mix with
 * the layer's).
 */
function resolveKeepLayer(target: string, mode: FsMode): { path: string; format: 'dir' | 'tar' } {
  if (mode !== 'overlay')
    throw new InputError(
      'keep-layer',
      `needs --fs overlay (the layer is the overlay's upper layer), not --fs ${mode}`,
    );
  if (target.trim() === '') throw new InputError('keep-layer', 'is empty');
  const abs = path.resolve(target);
  const format = abs.endsWith('.tar') ? 'tar' : 'dir';
  const parent = path.dirname(abs);
  if (!fs.statSync(parent, { throwIfNoEntry: false })?.isDirectory())
    throw new InputError('keep-layer', `${JSON.stringify(parent)} is not a directory`);
  const there = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (format === 'tar' && there && !there.isFile())
    throw new InputError('keep-layer', `${JSON.stringify(abs)} exists and is not a file`);
  if (format === 'dir' && there && !(there.isDirectory() && fs.readdirSync(abs).length === 0))
    throw new InputError('keep-layer', `${JSON.stringify(abs)} exists and is not an empty directory`);
  return { path: abs, format };
}

/**
 * `outputs`: patterns relative to the workdir, checked before the job runs — the overlay must be on,
 * and the workdir must be one it can cover (not `/`, not shown by a volume).
 */
function resolveOutputs(
  patterns: readonly string[],
  mode: FsMode,
  workdir: string,
  volumes: readonly Volume[],
): string[] {
  if (mode !== 'overlay')
    throw new InputError('output', `needs --fs overlay (the workdir is seen through one), not --fs ${mode}`);
  if (workdir === '/') throw new InputError('output', 'needs a workdir other than /');
  // (a volume that is an overlay itself keeps the workdir's writes in its layer: the Vitest pool's root)
  const over = volumes.find((v) => !v.overlay && isWithin(workdir, v.target));
  if (over)
    throw new InputError(
      'output',
      `the workdir lies in the volume ${over.source}:${over.target}, which would show it writable`,
    );
  return patterns.map((p) => {
    const problem = outputPatternProblem(p);
    if (problem) throw new InputError('output', `${JSON.stringify(p)} ${problem}`);
    return p.replace(/\/+$/, '');
  });
}

/** `fs`, with `readOnly` as its alias for `read-only`. */
function resolveFsMode(input: JobSpecInput): FsMode {
  const asked = input.fs;
  if (asked !== undefined && !FS_MODES.includes(asked))
    throw new InputError('fs', `must be overlay, read-only or host, got ${JSON.stringify(asked)}`);
  if (input.readOnly === true) {
    if (asked !== undefined && asked !== 'read-only')
      throw new InputError('read-only', `is --fs read-only, which contradicts --fs ${asked}`);
    return 'read-only';
  }
  return asked ?? DEFAULTS.fs;
}

function resolveCommand(command: readonly string[] | string): string[] {
  if (typeof command === 'string') {
    if (command.trim() === '') throw new InputError('command', 'is empty');
    return ['/bin/sh', '-c', command];
  }
  if (command.length === 0 || command[0] === '')
    throw new InputError('command', 'is empty: give the program to run after --');
  if (command.some((arg) => typeof arg !== 'string' || arg.includes('\0')))
    throw new InputError('command', 'arguments must be strings without NUL');
  return [...command];
}

function parseVolume(text: string): Volume {
  const parts = text.split(':');
  const [source, target, mode] = parts;
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    !source ||
    !target ||
    (mode !== undefined && mode !== 'ro' && mode !== 'rw' && mode !== 'overlay')
  ) {
    throw new InputError(
      'volume',
      `invalid ${JSON.stringify(text)} (expected SRC:DST, SRC:DST:ro or SRC:DST:overlay)`,
    );
  }
  if (!path.isAbsolute(target))
    throw new InputError('volume', `target ${JSON.stringify(target)} must be an absolute path`);
  // `..`, `.`, `//` or a trailing `/` would let a target leave the place it names (its mount point
  // is made inside the job's /tmp, never beyond it): one spelling per path
  if (path.posix.normalize(target) !== target || (target.endsWith('/') && target !== '/'))
    throw new InputError(
      'volume',
      `target ${JSON.stringify(target)} must be a normalized path (no ., .., // or trailing /)`,
    );
  const absSource = path.resolve(source);
  if (!fs.existsSync(absSource))
    throw new InputError('volume', `source ${JSON.stringify(absSource)} does not exist`);
  if (mode === 'overlay') return { source: absSource, target, readOnly: false, overlay: true };
  return { source: absSource, target, readOnly: mode === 'ro' };
}

/** `uid[:gid]` or names from /etc/passwd and /etc/group, as Docker's --user. */
function parseUser(text: string): { uid: number; gid: number } {
  const [userPart = '', groupPart] = text.split(':');
  const passwd = readDb('/etc/passwd');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const row = passwd.find((entry) => entry[2] === userPart);
    gid = row?.[3] === undefined ? undefined : Number(row[3]);
  } else {
    const row = passwd.find((entry) => entry[0] === userPart);
    if (!row) throw new InputError('user', `no user ${JSON.stringify(userPart)} in /etc/passwd`);
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const row = readDb('/etc/group').find((entry) => entry[0] === groupPart);
      if (!row) throw new InputError('user', `no group ${JSON.stringify(groupPart)} in /etc/group`);
      gid = Number(row[2]);
    }
  }
  if (!Number.isSafeInteger(uid) || uid > 0xfffffffe)
    throw new InputError('user', `invalid uid in ${JSON.stringify(text)}`);
  return { uid, gid: gid ?? uid };
}

function readDb(file: string): string[][] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}
