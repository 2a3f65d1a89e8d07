// Every job option, declared once: its library key, its CLI flag and manifest key, the kind of value
// it takes, its help text, its default and where it applies. As nsjail derives its flags from
// config.proto, `ringfence run`'s flags (cli/run.ts), the manifest's schema and mapping
// (manifest/schema.ts, manifest/fields.ts), the Vitest pool's option check (vitest/pool-options.ts) and docs/options.md
// (scripts/options-table.ts) are derived from this table: adding an option is one entry here plus
// its implementation (resolveJobSpec's check, and what the sandbox does with it). Data only: the
// values are judged by resolveJobSpec, the same way for every entry point.
import type { ManifestJob } from '../manifest/types.js';
import type { JobSpecInput } from './spec.js';

/** The library's name of an option: a JobSpecInput key, or ManifestJob's `retries` (manifest only). */
export type OptionKey = keyof JobSpecInput | keyof Pick<ManifestJob, 'retries'>;

/**
 * The value an option takes, which sets its manifest schema and its docs: `size` 512m, 1.5g (units
 * b, k, m, g, t; a bare number is bytes); `duration` 500ms, 30s, 2m, 1h (a bare number is seconds);
 * `whole` a whole number; `number`; `text`; `boolean` a CLI flag without a value, true or false in a
 * manifest; `choice` one of `choices`; `path` (in a manifest: relative to its directory); `list` a
 * repeatable flag, a list in a manifest; `map` a repeatable KEY=VALUE flag, a map in a manifest.
 */
export type OptionKind =
  'size' | 'duration' | 'whole' | 'number' | 'text' | 'boolean' | 'choice' | 'path' | 'list' | 'map';

/**
 * How an entry point turns what was written into the JobSpecInput value: `copy` as written (a
 * manifest's `text` as a string), `path` resolved against the manifest's directory, `special` by
 * code of its own in that entry point (named there by this option's key or flag).
 */
export type OptionMapping = 'copy' | 'path' | 'special';

export interface JobOption {
  /** The library's key (runJob, Harness, and the Vitest pool's option of the same name). */
  readonly key: OptionKey;
  /** kebab-case: the CLI flag without dashes, the manifest key (unless `manifest.key`), the name InputError gives. */
  readonly flag: string;
  /** The CLI's one-letter flag. */
  readonly short?: string;
  /** The CLI's value placeholder (`<size>`); none for a boolean. */
  readonly value?: string;
  readonly kind: OptionKind;
  /** The values a `choice` takes (the CLI refuses any other before the job is judged). */
  readonly choices?: readonly string[];
  /**
   * A `choice` that also takes a list in a form of its own: on the CLI `FORM:ITEM,ITEM,…` beside
   * `choices` (anything else is refused before the job is judged); in a manifest, the Vitest pool and
   * the library `{ FORM: [ITEM, …] }` (the library takes the CLI's text too). `item` names an item.
   */
  readonly listForm?: { readonly form: string; readonly item: string };
  /** What the manifest's refusal says it expected ("expected …, got …"), where not the kind's own phrase. */
  readonly expects?: string;
  /** What it does: the CLI's help text, verbatim. */
  readonly help: string;
  /** What it does at more length, for docs/options.md (Markdown, links relative to docs/); default: `help`. */
  readonly doc?: string;
  /** The default, as the docs state it. */
  readonly default: string;
  /** A value it takes, as the CLI writes it (docs, and the tests that every entry point maps it). */
  readonly example: string;
  /** A flag of `ringfence run`, and how its value reaches the spec; absent: no such flag. */
  readonly cli?: OptionMapping;
  /**
   * A manifest key: `options` for a job, `defaults` and a service; `job` for a job's own only.
   * `before` names the key the manifest lists it before when that is not this table's order (the
   * manifest's "known keys" and the results' `limits.defaults` keep the order they have always had).
   */
  readonly manifest?: {
    readonly key?: string;
    readonly scope: 'options' | 'job';
    readonly map: OptionMapping;
    readonly before?: string;
    /** What `ringfence ci` gives a job that sets none (in defaults or its own). */
    readonly ciDefault?: string | number;
  };
  /** A Vitest pool option under `key` (or its own `key`), with the pool's own default where it sets one. */
  readonly pool?: { readonly default?: string | number | boolean; readonly key?: string };
  /** `false`: not an option of runJob or Harness (absent: it is, under `key`). */
  readonly library?: false;
}

/** In `ringfence run --help`'s order, which the pool's list follows, and the manifest's but for each `before`. */
export const JOB_OPTIONS = [
  {
    key: 'memory',
    flag: 'memory',
    short: 'm',
    value: '<size>',
    kind: 'size',
    help: 'hard memory cap, e.g. 512m, 1g (swap off unless --memory-swap)',
    doc: 'hard memory cap; swap is off for the job unless `--memory-swap`',
    default: 'no cap',
    example: '512m',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: { default: '1g' },
  },
  {
    key: 'memorySwap',
    flag: 'memory-swap',
    value: '<size>',
    kind: 'size',
    help: 'memory plus swap, e.g. 1g; -1 for unlimited swap',
    doc: 'memory plus swap (as Docker), `-1` for unlimited swap',
    default: 'swap off under a memory cap',
    example: '1g',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'cpus',
    flag: 'cpus',
    value: '<n>',
    kind: 'number',
    expects: 'a number of CPUs such as 1.5',
    help: 'CPU quota in CPUs, e.g. 0.5, 2',
    doc: 'CPU quota in CPUs (`0.5` = 50 ms per 100 ms), 0.01 up to the CPUs available',
    default: 'no quota',
    example: '0.5',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: {},
  },
  {
    key: 'cpuShares',
    flag: 'cpu-shares',
    value: '<n>',
    kind: 'whole',
    help: 'relative CPU weight (2-262144, default 1024)',
    doc: 'relative CPU weight, 2–262144 (v2: converted to `cpu.weight`); see [priorities](hosts.md#priorities-between-jobs)',
    default: '1024',
    example: '512',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'cpusetCpus',
    flag: 'cpuset-cpus',
    value: '<list>',
    kind: 'text',
    expects: 'a CPU list such as 0-1 or 0,2',
    help: 'CPUs the job may run on, e.g. 0-1 or 0,2',
    doc: 'CPUs the job may run on: `0-1`, `0,2`',
    default: 'every CPU',
    example: '0',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'pidsLimit',
    flag: 'pids-limit',
    value: '<n>',
    kind: 'whole',
    help: "cap on tasks (processes and threads), ringfence's launcher and init included",
    doc: "cap on tasks (processes *and threads*); ringfence's init counts too (on v1 its launcher as well), so at least 3",
    default: 'no cap',
    example: '64',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: { default: 256 },
  },
  {
    key: 'blkioWeight',
    flag: 'blkio-weight',
    value: '<n>',
    kind: 'whole',
    help: 'block-I/O weight 10-1000, where the controller exists',
    doc: 'block-I/O weight 10–1000 where the I/O scheduler supports it',
    default: "the kernel's",
    example: '100',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'timeout',
    flag: 'timeout',
    value: '<duration>',
    kind: 'duration',
    help: 'wall-clock limit, e.g. 30s, 500ms, 2m; exit 124 when hit',
    doc: 'wall-clock limit; exit 124',
    default: 'none',
    example: '30s',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: { default: '5m' },
  },
  {
    key: 'cpuTime',
    flag: 'cpu-time',
    value: '<duration>',
    kind: 'duration',
    help: 'CPU-time limit over all processes of the job; exit 124 when hit',
    doc: 'CPU-time limit over every process of the job (read from the cgroup every 25 ms); exit 124',
    default: 'none',
    example: '10s',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'network',
    flag: 'network',
    value: '<mode>',
    kind: 'choice',
    choices: ['none', 'host'],
    listForm: { form: 'allow', item: 'HOST[:PORT]' },
    help: 'none: own network namespace with only lo; host: the host network; allow:HOST[:PORT],...: as none, plus a proxy that reaches only these hosts (*.name wildcards; no port: 80 and 443)',
    doc: "`none` (default): a network namespace with only `lo`; `host`: the host's network; `allow:HOST[:PORT],…` (manifest and pool: `{ allow: [...] }`): as `none`, plus a way out through ringfence's proxy that reaches only the listed hosts and ports, each connection reported. See [network.md](network.md)",
    default: 'none',
    example: 'host',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: { default: 'none' },
  },
  {
    key: 'hostname',
    flag: 'hostname',
    short: 'h',
    value: '<name>',
    kind: 'text',
    expects: 'a host name',
    help: 'hostname inside (default ringfence)',
    doc: 'hostname inside (default `ringfence`)',
    default: 'ringfence',
    example: 'box',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: { default: 'ringfence' },
  },
  {
    key: 'user',
    flag: 'user',
    short: 'u',
    value: '<uid[:gid]>',
    kind: 'text',
    expects: 'uid[:gid] or name[:group]',
    help: 'run the job as this user (number or name)',
    doc: 'run as this user (numbers or names from /etc/passwd, /etc/group); no capabilities left',
    default: "this process's user",
    example: '1000:1000',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'userns',
    flag: 'userns',
    kind: 'boolean',
    help: 'also a user namespace: root inside is uid 100000 outside',
    doc: 'also a user namespace: as root, root inside is uid 100000 outside (range 65536); when not root it is the default, and root inside is you',
    default: 'off as root, on otherwise',
    example: 'true',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: { default: false },
  },
  {
    key: 'cgroupns',
    flag: 'cgroupns',
    kind: 'boolean',
    help: 'also a cgroup namespace',
    doc: 'also a cgroup namespace',
    default: 'off',
    example: 'true',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'strict',
    flag: 'strict',
    kind: 'boolean',
    help: 'refuse the job (exit 125) when this host cannot enforce a cap or the namespaces, instead of warning (also RINGFENCE_STRICT=1)',
    doc: 'refuse the job (exit 125) when this host cannot enforce a cap or the namespaces, instead of a warning (also `RINGFENCE_STRICT=1`)',
    default: 'RINGFENCE_STRICT',
    example: 'true',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy', before: 'cgroupns' },
    pool: {},
  },
  {
    key: 'fs',
    flag: 'fs',
    value: '<mode>',
    kind: 'choice',
    choices: ['overlay', 'read-only', 'host'],
    help: "the host's files outside the workdir: overlay (default: writes succeed inside, are discarded and reported), read-only (writes fail, EROFS), host (writes reach the host)",
    doc: "the host's files outside the workdir, `/tmp` and volumes: `overlay` (default) through a copy-on-write overlay whose writes are discarded and reported; `read-only`, writes fail with `EROFS`; `host`, writes reach the host. See [host-files.md](host-files.md)",
    default: 'overlay',
    example: 'read-only',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: {},
  },
  {
    key: 'readOnly',
    flag: 'read-only',
    kind: 'boolean',
    help: 'the same as --fs read-only',
    doc: "the same as `--fs read-only` (Docker's flag); the workdir is read-only too, `/tmp`, `/dev`, `/proc` and volumes keep their modes",
    default: 'off',
    example: 'true',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'allowGitWrite',
    flag: 'allow-git-write',
    kind: 'boolean',
    help: "with --fs overlay, let the job write the workdir's .git (read-only by default)",
    doc: "under `--fs overlay`, let the job write the workdir's `.git` (read-only by default: a hook written there runs on the host at your next commit)",
    default: 'off',
    example: 'true',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
    pool: {},
  },
  {
    key: 'allowToolingWrite',
    flag: 'allow-tooling-write',
    kind: 'boolean',
    help: "with --fs overlay, let the job write the workdir's node_modules/.bin and git hook directories (read-only by default)",
    doc: "under `--fs overlay`, let the job write the workdir's `node_modules/.bin`, `.husky`, `.githooks` and a `core.hooksPath` inside it (read-only by default: the host runs them next). See [project-files.md](project-files.md)",
    default: 'off',
    example: 'true',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'outputs',
    flag: 'output',
    value: '<path>',
    kind: 'list',
    expects: 'a path or glob relative to cwd',
    help: 'with --fs overlay, see the workdir through the overlay too and write back only this path or glob, relative to it, after the job (repeatable)',
    doc: 'under `--fs overlay`, see the workdir through the overlay too and write back only these paths or globs (`*`, `**`, `?`, relative to it) after the job; the rest it wrote there is reported and discarded. See [project-files.md](project-files.md)',
    default:
      'none: the workdir is writable (under an explicit --disk or --files: overlaid and written back whole)',
    example: 'dist',
    // no flag at all keeps the workdir writable, where the CLI's empty list would write nothing back
    cli: 'special',
    manifest: { key: 'outputs', scope: 'options', map: 'copy' },
    // the pool always sees the project through the overlay: `writable` adds to what Vitest writes
    pool: { key: 'writable' },
  },
  {
    key: 'keepLayer',
    flag: 'keep-layer',
    value: '<dir|file.tar>',
    kind: 'path',
    expects: 'a directory or a .tar file',
    help: 'with --fs overlay, keep what the job wrote outside its workdir as a layer (a new or empty directory, or a tar file; OCI whiteouts) instead of discarding it',
    doc: 'under `--fs overlay`, keep what the job wrote outside its workdir as an OCI-style layer instead of discarding it. See [host-files.md](host-files.md#keeping-a-jobs-layer)',
    default: 'discarded',
    example: 'layer.tar',
    cli: 'copy',
    // a job's own: one target per job (defaults would give every job the same one)
    manifest: { scope: 'job', map: 'path' },
  },
  {
    key: 'tmpSize',
    flag: 'tmp-size',
    value: '<size>',
    kind: 'size',
    help: 'make /tmp a tmpfs of this size instead of the scratch directory',
    doc: "`/tmp` becomes a tmpfs of this size (charged to the job's memory) instead of the scratch dir",
    default: 'the scratch directory',
    example: '64m',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'disk',
    flag: 'disk',
    value: '<size>',
    kind: 'size',
    expects: 'a size such as 1g, auto or none',
    help: 'cap on the bytes the job leaves in its /tmp, overlay layers and workdir (ENOSPC past it), e.g. 1g; auto: 1g where the host can cap it, the workdir left live; none lifts it',
    doc: 'cap on the bytes the job leaves in its `/tmp`, its overlay layers and its workdir (an explicit size sees a writable workdir through the overlay and writes back what the job left there, none of it when the job reached the cap; `auto` leaves a writable workdir live and uncapped); a write past it fails with `ENOSPC`. A disk-backed filesystem of its own, not charged to `--memory`; `auto`: 1g where the host can make one (root with loop devices), else no cap and no warning (`doctor` says it); `none` lifts it. See [limits.md](limits.md)',
    default: 'none (`ci` and the Vitest pool: auto)',
    example: '100m',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy', ciDefault: 'auto' },
    pool: { default: 'auto' },
  },
  {
    key: 'files',
    flag: 'files',
    value: '<n>',
    kind: 'whole',
    expects: 'a whole number of files, auto or none',
    help: 'cap on the files and directories the job creates where --disk applies; auto: 100000 where the host can cap it; none lifts it',
    doc: 'cap on the files and directories the job creates where `--disk` applies (its inodes; `ENOSPC` past it); `auto`: 100000 where the host can, as for `--disk`; `none` lifts it. See [limits.md](limits.md)',
    default: 'none (`ci` and the Vitest pool: auto)',
    example: '1000',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy', ciDefault: 'auto' },
    pool: { default: 'auto' },
  },
  {
    key: 'volumes',
    flag: 'volume',
    short: 'v',
    value: '<src:dst[:ro]>',
    kind: 'list',
    expects: 'SRC:DST[:ro]',
    help: 'bind mount (repeatable)',
    doc: 'bind mount, repeatable',
    default: 'none',
    example: '/tmp:/mnt:ro',
    cli: 'copy',
    // SRC relative to the manifest's directory, DST as written
    manifest: { key: 'volumes', scope: 'options', map: 'special' },
  },
  {
    key: 'services',
    flag: 'service',
    value: '<yaml>',
    kind: 'list',
    help: "a service the job needs, in its own sandbox on the job's network (repeatable): '{name: redis, command: redis-server, ready: {tcp: 6379}}' (the manifest's service fields)",
    doc: "a service the job needs, in a sandbox of its own on the job's network (repeatable): `'{name: redis, command: redis-server, ready: {tcp: 6379}}'`. See [services.md](services.md)",
    default: 'none',
    example: '{name: db, command: sleep 9}',
    // the CLI parses each as YAML; a manifest job names the manifest's `services:`
    cli: 'special',
    manifest: { key: 'services', scope: 'job', map: 'special' },
    pool: {},
  },
  {
    key: 'workdir',
    flag: 'workdir',
    short: 'w',
    value: '<dir>',
    kind: 'path',
    expects: 'a directory (relative to the manifest)',
    help: 'working directory inside (default: the current directory)',
    doc: 'working directory inside (default: the current directory)',
    default: "the current directory (a manifest's: its directory)",
    example: 'fixtures',
    cli: 'copy',
    manifest: { key: 'cwd', scope: 'options', map: 'path', before: 'memory' },
  },
  {
    key: 'extraEnv',
    flag: 'env',
    short: 'e',
    value: '<KEY=VALUE>',
    kind: 'map',
    help: 'set a variable; KEY alone passes it from here (repeatable)',
    doc: 'set a variable (`KEY` alone passes it from here), repeatable',
    default: 'none',
    example: 'RF_EXAMPLE=1',
    // the CLI folds them into `env`, passing a bare KEY's value from here; a manifest's are merged over defaults'
    cli: 'special',
    manifest: { scope: 'options', map: 'special', before: 'memory' },
  },
  {
    key: 'env',
    flag: 'clean-env',
    kind: 'boolean',
    help: 'start from an empty environment (PATH kept) instead of this one',
    doc: 'start from an empty environment (PATH kept) instead of this one',
    default: "this process's environment",
    example: 'true',
    cli: 'special',
  },
  {
    key: 'nofile',
    flag: 'nofile',
    value: '<n>',
    kind: 'whole',
    help: 'open-file limit (RLIMIT_NOFILE) for the job',
    doc: 'RLIMIT_NOFILE for the job (default: inherited)',
    default: 'inherited',
    example: '256',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'outputLimit',
    flag: 'output-limit',
    value: '<size>',
    kind: 'size',
    help: 'cap on captured stdout and on stderr, each (default 1m)',
    doc: 'captured stdout and stderr, each (default 1m; the rest is counted and marked as truncated)',
    default: '1m',
    example: '2m',
    cli: 'copy',
    manifest: { scope: 'options', map: 'copy' },
  },
  {
    key: 'cgroupParent',
    flag: 'cgroup-parent',
    value: '<path>',
    kind: 'text',
    help: 'create cgroups beneath this delegated cgroup (also RINGFENCE_CGROUP_PARENT)',
    doc: 'create cgroups beneath this delegated cgroup (also `RINGFENCE_CGROUP_PARENT`); see [hosts.md](hosts.md#the-placement-rule)',
    default: 'RINGFENCE_CGROUP_PARENT',
    example: '/ringfence',
    cli: 'copy',
  },
  {
    key: 'stdin',
    flag: 'stdin',
    kind: 'choice',
    choices: ['inherit', 'ignore', 'pipe'],
    help: "the job's stdin: this process's, none, or a pipe the caller writes",
    default: 'ignore (`run`: inherit)',
    example: 'pipe',
  },
  {
    key: 'passthrough',
    flag: 'passthrough',
    kind: 'boolean',
    help: "copy the job's output live to this process's stdout and stderr while capturing it",
    default: 'off (`run`: on)',
    example: 'true',
  },
  {
    key: 'keepFds',
    flag: 'keep-fd',
    kind: 'list',
    help: 'inherited fds the job keeps besides 0, 1, 2 (they must be open in this process)',
    default: 'none',
    example: '3',
  },
  {
    key: 'guardedPaths',
    flag: 'guarded-path',
    kind: 'list',
    help: 'files of the project the job must not change (the manifest that runs it, a Vitest config and what it imports): read-only where the workdir is writable, never written back',
    default: 'none (ci: the manifest; the Vitest pool: its configs and what they import)',
    example: 'ci.yml',
  },
  {
    key: 'retries',
    flag: 'retries',
    kind: 'whole',
    help: 'extra attempts after a failure (0-10); a job that fails then passes is reported flaky',
    default: '0',
    example: '2',
    manifest: { scope: 'options', map: 'special' },
    library: false,
  },
] as const satisfies readonly JobOption[];

// Every JobSpecInput key is an option here, but the job's own command and name: a key added to
// JobSpecInput without an entry is a type error naming it.
type Undeclared = Exclude<keyof JobSpecInput, (typeof JOB_OPTIONS)[number]['key'] | 'command' | 'name'>;
type Declared<T extends never> = T;
export type EveryJobSpecKeyDeclared = Declared<Undeclared>;

type PoolEntry = Extract<(typeof JOB_OPTIONS)[number], { pool: object }>;
/** The Vitest pool's options, by its names (vitest/pool-options.ts checks its RingfenceVitestOptions against them). */
export type PoolOptionKey = PoolEntry extends infer E
  ? E extends { pool: { key: infer K extends string } }
    ? K
    : E extends { key: infer K }
      ? K
      : never
  : never;

/** The pool's name of an option: its own where it has one (`writable` for `outputs`), else `key`. */
export function poolName(option: JobOption): string {
  return option.pool?.key ?? option.key;
}

/** `-m, --memory <size>`: what commander takes. */
export function cliFlags(option: JobOption): string {
  return `${option.short ? `-${option.short}, ` : ''}--${option.flag}${option.value ? ` ${option.value}` : ''}`;
}

/** The property commander stores a flag's value under (`--allow-git-write` → `allowGitWrite`). */
export function cliAttribute(option: JobOption): string {
  return option.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The manifest key, where the option has one. */
export function manifestKey(option: JobOption): string | undefined {
  return option.manifest ? (option.manifest.key ?? option.flag) : undefined;
}

/** The options a manifest takes, in the order it lists them (each `before` moved ahead of its key). */
export function manifestOptions(): JobOption[] {
  const options: readonly JobOption[] = JOB_OPTIONS;
  const listed = options.filter((option) => option.manifest);
  const moved = listed.filter((option) => option.manifest?.before !== undefined);
  const ordered = listed.flatMap((option) =>
    option.manifest?.before !== undefined
      ? []
      : [...moved.filter((m) => m.manifest?.before === manifestKey(option)), option],
  );
  if (ordered.length !== listed.length)
    throw new Error('job-options: a manifest `before` names no manifest key');
  return ordered;
}

/** The options of `ringfence run`, in its help's order. */
export function cliOptions(): JobOption[] {
  return (JOB_OPTIONS as readonly JobOption[]).filter((option) => option.cli !== undefined);
}

/** The Vitest pool's options, in the order its message lists them. */
export function poolOptions(): JobOption[] {
  return (JOB_OPTIONS as readonly JobOption[]).filter((option) => option.pool !== undefined);
}
