// The shapes of a job spec, as given and as resolved, and of its services' specs: types only, beneath
// spec.ts (which resolves a job), services/spec.ts (which resolves its services, each a job of its
// own), and the modules that read a spec (enforce.ts, protect.ts, the launcher, the sandbox). A job
// holds its services and a service holds a job spec: one module keeps that recursion without an
// import cycle. spec.ts and services/spec.ts export these again under their old names.
import type { CgroupLimits } from '../cgroup/types.js';
import type { AllowRule } from '../net/allow.js';

/** `allow`: as `none`, plus a way out through the harness's proxy to `JobSpec.allow` only. */
export type NetworkMode = 'none' | 'host' | 'allow';
/** As given: a mode, `allow:HOST[:PORT],…` (the CLI's text), or `{ allow: [...] }`. */
export type NetworkInput = 'none' | 'host' | `allow:${string}` | { readonly allow: readonly string[] };
/**
 * What the job sees of the host's files (the workdir and volumes aside): `overlay`, the host's through
 * a copy-on-write overlay whose writes are discarded after the job (and reported); `read-only`, the
 * host's with every write failing (EROFS); `host`, the host's, writable.
 */
export type FsMode = 'overlay' | 'read-only' | 'host';
export type StdinMode = 'inherit' | 'ignore' | 'pipe';

/** Loose, human form: sizes like "512m", durations like "30s" (a bare number of seconds), as in the CLI. */
export interface JobSpecInput {
  /** argv, or a string run by `/bin/sh -c`. */
  command: readonly string[] | string;
  name?: string;
  /** Working directory inside the sandbox (the filesystem is the host's). Default: the caller's cwd. */
  workdir?: string;
  /** The job's whole environment. Default: this process's environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Variables added to (or overriding) `env`. */
  extraEnv?: Readonly<Record<string, string>>;
  memory?: string | number;
  memorySwap?: string | number;
  cpus?: string | number;
  cpuShares?: string | number;
  cpusetCpus?: string;
  pidsLimit?: string | number;
  blkioWeight?: string | number;
  timeout?: string | number;
  cpuTime?: string | number;
  network?: NetworkInput;
  hostname?: string;
  /** `uid[:gid]` or `name[:group]` to run the job as. */
  user?: string;
  userns?: boolean;
  /**
   * Refuse the job (exit 125) when this host cannot enforce a cap or the namespaces it asks for,
   * instead of running it with a warning. Default: RINGFENCE_STRICT.
   */
  strict?: boolean;
  cgroupns?: boolean;
  /** What the job sees of the host's files; default `overlay`. */
  fs?: FsMode;
  /** The same as `fs: 'read-only'` (Docker's --read-only); refused beside another `fs`. */
  readOnly?: boolean;
  /** In `overlay` mode the workdir's `.git` is read-only (a hook written there would run on the host): this makes it writable. */
  allowGitWrite?: boolean;
  /**
   * In `overlay` mode the workdir's `node_modules/.bin`, git hook directories (.husky, .githooks, a
   * core.hooksPath inside it) and `guardedPaths` are read-only (the host runs them next): this
   * makes them writable (a job that runs `npm ci`).
   */
  allowToolingWrite?: boolean;
  /**
   * `overlay` mode: the workdir is seen through an overlay like the rest of the host, and only these
   * paths (relative to it; globs with `*`, `**`, `?`) are written back to it after the job
   * (harness/fs/writeback.ts). Everything else it wrote there is reported and discarded.
   */
  outputs?: readonly string[];
  /**
   * Files of the project the job must not change (the manifest that runs it, a Vitest config and
   * what it imports): read-only where the workdir is writable, never written back.
   */
  guardedPaths?: readonly string[];
  /**
   * `overlay` mode: keep what the job wrote outside its workdir as a layer instead of discarding it —
   * a directory (absent or empty) or, for a path ending in `.tar`, a tar file (replaced when the job
   * runs again). OCI layer conventions: a deletion is an empty `.wh.<name>`, a replaced directory holds
   * `.wh..wh..opq`. Relative to the current directory.
   */
  keepLayer?: string;
  /** Make /tmp a tmpfs capped at this size instead of the job's scratch directory. */
  tmpSize?: string | number;
  /** Cap on the bytes the job leaves in its /tmp and overlay layers (`none`: no cap). */
  disk?: string | number;
  /** Cap on the files and directories it creates there (`none`: no cap). */
  files?: string | number;
  /** `src:dst[:ro]` bind mounts. */
  volumes?: readonly string[];
  nofile?: string | number;
  stdin?: StdinMode;
  /** Cap on captured stdout and on captured stderr, each. */
  outputLimit?: string | number;
  /** Copy the job's output live to this process's stdout/stderr while capturing it. */
  passthrough?: boolean;
  /** Inherited fds the job keeps besides 0, 1, 2 (they must be open in this process). */
  keepFds?: readonly number[];
  /** Docker's --cgroup-parent; also RINGFENCE_CGROUP_PARENT. */
  cgroupParent?: string;
  /**
   * Services the job needs (a database, a cache): each in a sandbox of its own, all in one network
   * namespace with the job (harness/services/run.ts). Needs `network: none` (the default).
   */
  services?: readonly ServiceInput[];
}

export interface Volume {
  source: string;
  target: string;
  readOnly: boolean;
  /** `SRC:DST:overlay`: seen through an overlay of its own, the job's writes kept in a layer. */
  overlay?: boolean;
}

/** The validated, normalised form the sandbox runs. */
export interface JobSpec {
  name: string;
  command: string[];
  workdir: string;
  env: Record<string, string>;
  limits: CgroupLimits;
  timeoutMs: number | null;
  cpuTimeMs: number | null;
  network: NetworkMode;
  /** `network: 'allow'`: the hosts and ports its proxy admits (harness/net/); otherwise empty. */
  allow: AllowRule[];
  hostname: string;
  user: { uid: number; gid: number } | null;
  userns: boolean;
  strict: boolean;
  cgroupns: boolean;
  fs: FsMode;
  /** fs === 'read-only' */
  readOnly: boolean;
  allowGitWrite: boolean;
  allowToolingWrite: boolean;
  /** The output patterns (relative to the workdir), or null: the workdir is writable. */
  outputs: string[] | null;
  /** Absolute paths. */
  guardedPaths: string[];
  /** Where to keep the job's layer (absolute), or null to discard it. */
  keepLayer: { path: string; format: 'dir' | 'tar' } | null;
  tmpSizeBytes: number | null;
  /** --disk in bytes; null: no byte cap. */
  diskBytes: number | null;
  /** --files; null: no file cap. */
  files: number | null;
  /** The disk caps came from `auto`: where the host cannot apply them they are left off quietly. */
  diskAuto: boolean;
  volumes: Volume[];
  nofile: number | null;
  stdin: StdinMode;
  outputLimitBytes: number;
  passthrough: boolean;
  keepFds: number[];
  cgroupParent: string | null;
  services: ServiceSpec[];
}

/** How to tell a service is ready: a port accepting on 127.0.0.1, a command exiting 0, a line of output. */
export type ReadyCheck = { tcp: number } | { command: readonly string[] | string } | { log: string };

export interface ServiceInput extends Omit<JobSpecInput, 'services' | 'keepLayer' | 'name'> {
  name: string;
  /** Default: none (ready as soon as it started). */
  ready?: ReadyCheck;
  /** How long it may take to be ready. Default 30 s. */
  readyTimeout?: string | number;
  /** Freeze it `for` long, `after` its job started: a dependency that accepts and then hangs. */
  pause?: { after: string | number; for: string | number };
  /** The services (of the same job) that must be ready before this one starts. */
  needs?: readonly string[] | string;
}

export type ResolvedReady = { tcp: number } | { command: string[] } | { log: string };

export interface ServiceSpec {
  name: string;
  spec: JobSpec;
  ready: ResolvedReady | null;
  readyTimeoutMs: number;
  pause: { afterMs: number; forMs: number } | null;
  /** The services it waits for, each ready before it starts (distinct, each another of the job's). */
  needs: string[];
}
