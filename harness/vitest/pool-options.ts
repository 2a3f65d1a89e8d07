// The Vitest pool's options (`ringfence({ memory: '512m', … })`): their type, which must agree with
// the one declaration of every job option (harness/job/options.ts), their check when the config
// loads, and the job options every test file's sandbox gets from them.
import type { ServiceInput } from '../services/spec.js';
import { poolName, poolOptions, type PoolOptionKey } from '../job/options.js';
import { resolveJobSpec, type FsMode, type JobSpecInput } from '../job/spec.js';
import { InputError } from '../job/units.js';

export interface RingfenceVitestOptions {
  /** Memory cap per test file (default 1g): a file that outgrows it is OOM-killed, and its verdict says so. */
  memory?: string;
  cpus?: string | number;
  /** Tasks per file: a Node worker already has about 11 threads (default 256). */
  pidsLimit?: number;
  /** Wall-clock limit per test file (default 5m). */
  timeout?: string;
  network?: 'none' | 'host' | { allow: readonly string[] };
  hostname?: string;
  /** A user namespace for each file's sandbox: what lets a non-root user run it (default false). */
  userns?: boolean;
  /** Bytes a test file may leave in its /tmp, layers and (seen through the overlay) the project (default 1g; `none` lifts it). */
  disk?: string | number;
  /** Files and directories it may create there (default 100000; `none` lifts it). */
  files?: string | number;
  /** Fail every file (instead of warning) when this host cannot enforce a cap or the namespaces (default: RINGFENCE_STRICT). */
  strict?: boolean;
  /**
   * The host's files outside the project: `overlay` (default; a test file's writes there are
   * discarded and reported), `read-only` or `host`.
   */
  fs?: FsMode;
  /**
   * With `fs: 'overlay'` the project is seen through the overlay too: what a test file writes there
   * is discarded (and reported), but for its snapshot files and `toMatchFileSnapshot` targets and
   * these paths (relative to the working directory; globs with `*`, `**`), which are written back
   * once its sandbox has ended (docs/project-files.md). A protected path (package.json,
   * node_modules, a config …) only when named exactly.
   */
  writable?: string[];
  /** With `fs: 'overlay'`, let test files write the project's `.git` (written back; discarded by default). */
  allowGitWrite?: boolean;
  /**
   * Services every test file gets its own instances of (a Redis, a Postgres), in its sandbox's
   * network namespace: `[{ name: 'redis', command: 'redis-server', ready: { tcp: 6379 } }]`.
   */
  services?: ServiceInput[];
}

const POOL_OPTIONS = poolOptions();
const OPTION_NAMES = POOL_OPTIONS.map(poolName);
/** Fails to compile, naming them, when there are keys: RingfenceVitestOptions and the declaration must agree. */
type NoneOf<T extends never> = T;
type PoolKey =
  | keyof RingfenceVitestOptions
  | NoneOf<
      | Exclude<PoolOptionKey, keyof RingfenceVitestOptions>
      | Exclude<keyof RingfenceVitestOptions, PoolOptionKey>
    >;

/**
 * Refuses a bad option when the config is loaded, before any file runs, naming the option as the
 * config spells it (`pidsLimit`, not the CLI's `pids-limit`). The values are checked by the one job
 * spec validation every entry point uses.
 */
export function validateOptions(options: RingfenceVitestOptions): void {
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key))
      throw new Error(`ringfence(): unknown option "${key}" (known: ${OPTION_NAMES.join(', ')})`);
  }
  try {
    resolveJobSpec({ ...jobOptions(options), command: ['node'] });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    // the pool's name of the option the spec names by its flag (`output` is the pool's `writable`)
    const declared = POOL_OPTIONS.find((candidate) => candidate.flag === error.field);
    const option = declared
      ? poolName(declared)
      : error.field.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    throw new Error(`ringfence({ ${option} }): ${error.reason}`);
  }
}

/** The job options every file's sandbox gets from the pool's options and their declared defaults. */
export function jobOptions(options: RingfenceVitestOptions): JobSpecInput {
  const input: Record<string, unknown> = { command: [] };
  for (const option of POOL_OPTIONS) {
    const value = options[poolName(option) as PoolKey] ?? option.pool?.default;
    if (value !== undefined) input[option.key] = value;
  }
  // the project through the overlay, only Vitest's own outputs and `writable` written back
  if ((options.fs ?? 'overlay') === 'overlay') input.outputs = options.writable ?? [];
  else delete input.outputs;
  return input as unknown as JobSpecInput;
}
