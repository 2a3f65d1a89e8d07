// JobResult: the contract between the sandbox and every reporter. Its JSON form is what `compare` and
// `merge` read later, so fields are added, never renamed; numbers are in ms and bytes.

export interface JobDisk {
  /** Bytes the job left there at its end (its files, their blocks and directories); null: unreadable. */
  bytes: number | null;
  /** Files and directories it left there at its end. */
  files: number | null;
  limitBytes: number | null;
  limitFiles: number | null;
  /** The cap the job reached: its writes past it failed with ENOSPC. */
  capReached: 'disk' | 'files' | null;
}

export type JobStatus = 'passed' | 'failed' | 'timeout' | 'oom' | 'signaled' | 'error' | 'aborted';

/** Why ringfence itself ended the job, when it did. */
export type Termination = 'wall-timeout' | 'cpu-timeout' | 'abort';

export interface ProcessInfo {
  /** Host pid. */
  pid: number;
  ppid: number;
  /** Pid inside the job's PID namespace. */
  nsPid: number | null;
  /** One-letter state from /proc/<pid>/stat (R, S, D, Z, T …). */
  state: string;
  rssBytes: number;
  cmdline: string;
}

export interface JobError {
  /** The setup step that failed (`mount /proc`, `exec node`, `cgroup`, `spawn launcher`). */
  step: string;
  /** Errno name when the failure came from a syscall (`EPERM`, `ENOENT`). */
  code: string | null;
  message: string;
}

/**
 * What the job read and wrote. readBytes/writeBytes are storage I/O (what reached or would reach a
 * block device), rchar/wchar every byte passed to read/write-like calls (pipes and page cache too).
 * `source` says where readBytes/writeBytes came from: `task` (the kernel's per-task counters of the
 * whole job tree, from its init) or `cgroup` (the io/blkio controller, where no task figure exists).
 * `cgroup` holds the controller's own figure beside it where the kernel gave a non-zero one (v2
 * io.stat; v1's blkio counts only throttled or BFQ-scheduled I/O and usually reads 0).
 */
export interface JobIo {
  readBytes: number;
  writeBytes: number;
  rchar?: number;
  wchar?: number;
  source?: 'task' | 'cgroup';
  cgroup?: { readBytes: number; writeBytes: number } | null;
}

export interface PressureMs {
  someMs: number;
  fullMs: number | null;
}

export interface JobPressure {
  cpu: PressureMs | null;
  memory: PressureMs | null;
  io: PressureMs | null;
}

export interface JobEnforcement {
  /** Where the job's cgroup was (harness/cgroup/placement.ts): `systemd-scope`, `leaf`, `own`, `cgroup-parent`, `none`. */
  placement: 'cgroup-parent' | 'own' | 'systemd-scope' | 'leaf' | 'none';
  /** The placement in words: the scope's name, the cgroup path, or why there is none. */
  where: string;
  /** `all`: every namespace as root; `userns`: inside a user namespace; `none`: the host's own. */
  namespaces: 'all' | 'userns' | 'none';
  /** Caps and features asked for but not enforced here (`--memory`, `namespaces`). */
  notEnforced: string[];
  /** Where CPU, peak memory and the process count came from: the job's cgroup, or the launcher's rusage. */
  figures: 'cgroup' | 'rusage';
}

/** One path the job wrote outside its workdir, /tmp and volumes (`--fs overlay`). */
export interface FsChange {
  /** The path as the job saw it. */
  path: string;
  /** `changed` when the host has something at that path, `added` when not; `deleted`: the job removed it. */
  kind: 'added' | 'changed' | 'deleted';
  /** Its size as the job left it (a symlink: its target's length; a directory or deletion: 0). */
  bytes: number;
  /** What is there now (for a deletion: what the host has there). A symlink is never followed. */
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** A directory the job removed and made again: what the host had inside it is gone for the job. */
  replaced?: boolean;
}

/** What the job saw of the host's files and what it wrote to them. Added in 0.3. */
export interface JobFilesystem {
  /** `overlay`, `read-only` or `host` (see JobSpecInput.fs). */
  mode: 'overlay' | 'read-only' | 'host';
  /**
   * overlay: every path the job added, changed or deleted outside its workdir, /tmp and volumes —
   * and with `outputs`, in its workdir, what was not written back — (read from its upper layers
   * after it ended; its writes were discarded), sorted, at most 1000;
   * read-only: always empty (nothing can be written); host: null (writes reach the host, unwatched).
   */
  changes: FsChange[] | null;
  /** How many more changes there were than `changes` lists. */
  truncated: number;
  /** The walk stopped before the end (too many entries, too deep, unreadable): the counts are a floor. */
  incomplete?: boolean;
  /**
   * Host mount points overlayfs could not take, bound read-only instead, with the errno name;
   * `dirsOverlaid`: each directory in it was overlaid on its own (a mount with submounts, in a user
   * namespace), so only the entries right in it are read-only: the expected layout there, which
   * `run` says only with --verbose (doctor always says it).
   */
  readOnly?: { path: string; code: string; dirsOverlaid?: boolean }[];
  /** `--keep-layer`: where the job's writes were kept instead of discarded. Added in 0.4. */
  kept?: KeptLayer;
  /**
   * `outputs`: the workdir was seen through an overlay too; what of it was written back to the host.
   * What the job wrote elsewhere in the workdir is in `changes` (discarded).
   */
  outputs?: WrittenBack;
}

/** What a job under `outputs` wrote back to its workdir (harness/fs/writeback.ts). */
export interface WrittenBack {
  /** The workdir (absolute): `changes` inside it are the project's, discarded. */
  workdir: string;
  /** What reached the host, at most 1000 listed. */
  written: FsChange[];
  /** How many more were written back than `written` lists. */
  writtenTruncated?: number;
  /** Outputs not written back, and why (a protected path, a symlink, a vetted file's content …). */
  refused: { path: string; reason: string }[];
  /** The walk stopped at a bound: outputs beyond it were not written back. */
  incomplete?: boolean;
}

/** A job's upper layers kept as one OCI-style layer (harness/fs/layer.ts). */
export interface KeptLayer {
  path: string;
  format: 'dir' | 'tar';
  /** Entries copied (files, directories, links, whiteouts). */
  entries: number;
  /** Sockets, FIFOs and devices left out. */
  skipped?: number;
  /**
   * Job paths of the files and directories kept without their set-uid or set-gid bit: a host file
   * with one that the job touched (copied up with it), a directory made in a host set-gid directory.
   */
  stripped?: string[];
  /** Something was left out: a bound was reached, or a mount point had become a symlink. */
  incomplete?: boolean;
  /** Why the layer could not be kept (an errno name or a message); nothing is left at `path` then. */
  error?: string;
}

export interface JobResult {
  name: string;
  command: string[];
  status: JobStatus;
  /** The job's exit code when it exited on its own. */
  exitCode: number | null;
  /** The signal that ended the job's main process (`SIGKILL`), when one did. */
  signal: string | null;
  /** One human line saying what happened, for logs and reports. */
  reason: string;
  termination: Termination | null;
  startedAt: string;
  wallMs: number;
  /**
   * When the job was paused (RunningJob.pause(), a service's `pause` fault): ms from its start and
   * how long, in order. Absent when never paused. Added in 0.4.
   */
  pauses?: { atMs: number; forMs: number }[];
  /** RunOptions.trace: each phase reached, harness's and launcher's, ms from the job's start. */
  trace?: { phase: string; ms: number }[];
  /** The job's services (harness/services/run.ts), in start order. Absent when it had none. Added in 0.4. */
  services?: ServiceResult[];
  cpu: { userMs: number; systemMs: number; totalMs: number };
  memory: {
    peakBytes: number | null;
    limitBytes: number | null;
    oomKills: number;
    failcnt: number;
    /** ru_maxrss of the job's main process (it differs from the cgroup peak: one process vs all, RSS vs charged pages). */
    maxRssBytes: number | null;
  };
  /** refused: forks the pids cap refused (the kernel's pids.events); absent before 0.4. */
  pids: { peak: number | null; limit: number | null; refused?: number | null };
  /**
   * --disk / --files, where enforced: what the job left in its capped filesystem (its /tmp and
   * overlay layers) at its end, and which cap it reached, if one. Absent without a cap. Added in 0.5.
   */
  disk?: JobDisk;
  io: JobIo | null;
  limits: { timeoutMs: number | null; cpuTimeMs: number | null; cpus: number | null };
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  error: JobError | null;
  /**
   * Time the job's tasks stalled waiting for CPU, memory or I/O (v2 pressure stall information,
   * `some` = at least one task waited, `full` = all did); null on v1 or without a cgroup. Added in 0.2.
   */
  pressure?: JobPressure | null;
  /** What this host enforced for the job and where its figures came from. Added in 0.2. */
  enforcement?: JobEnforcement;
  /** The job's view of the host's files, and what it wrote outside its workdir. Added in 0.3. */
  filesystem?: JobFilesystem;
  /** `--network allow:…`: every connection the job tried through its way out. Added in 0.5. */
  network?: JobNetwork;
  diagnostics: {
    /** null when no cgroup driver could be opened. */
    cgroupVersion: 1 | 2 | null;
    /** Every task of the job, read from /proc while it was frozen, when ringfence ended it. */
    processTree: ProcessInfo[] | null;
  };
}

/** Exit status the CLI uses for a result: the job's own, 124 timeout, 137 OOM, 125 could not start. */
export function exitStatusFor(
  result: Pick<JobResult, 'status' | 'exitCode' | 'signal'>,
  signalNumber?: number,
): number {
  switch (result.status) {
    case 'passed':
      return 0;
    case 'failed':
      return result.exitCode ?? 1;
    case 'timeout':
      return 124;
    case 'oom':
      return 137;
    case 'signaled':
      return 128 + (signalNumber ?? 9);
    case 'aborted':
      return 130;
    case 'error':
      return 125;
  }
}

/** One service of a job: how it started, when it was ready, and its own result (output, figures). */
export interface ServiceResult {
  name: string;
  /**
   * `ended`: it ran until its job ended and ringfence ended it (its result then reads `aborted`);
   * `exited`: it ended on its own first; `not-ready`: never ready in time; `not-started`: it could not
   * start, or an earlier service failed first.
   */
  outcome: 'ended' | 'exited' | 'not-ready' | 'not-started';
  /** ms from its start until its ready check passed; null when it never did. */
  readyMs: number | null;
  result: JobResult | null;
}

/** One connection a job tried through its way out (`--network allow:…`, harness/net/proxy.ts). */
export interface NetConnection {
  /** The name or address asked for (CONNECT's authority, a request's URL or Host), lowercase. */
  host: string;
  port: number;
  /** `connect`: a CONNECT tunnel (HTTPS and the rest); `http`: a plain HTTP request through the proxy. */
  via: 'connect' | 'http';
  allowed: boolean;
  /** Bytes from the job to the host, and back, as on the wire (a plain request's heads included). */
  bytesOut: number;
  bytesIn: number;
  /** Why an allowed one failed (`ECONNREFUSED`, `ENOTFOUND`); absent when it went through. */
  error?: string;
  /** The TLS name (SNI) a tunnel's ClientHello asked for, when it sent one. Added in 0.5. */
  tlsName?: string;
  /**
   * The host a plain HTTP request sent first inside a tunnel named (its Host; the one refused, where
   * its target named another), when it sent one. Added in 0.5.
   */
  httpHost?: string;
  /** Why one admitted by its host was refused after all (its TLS name or HTTP Host, a bad ClientHello). Added in 0.5. */
  reason?: string;
}

/** What a job under `--network allow:…` reached and was refused. Added in 0.5. */
export interface JobNetwork {
  mode: 'allow';
  /** The allow-list as resolved (`host:port`, `*.name`, `host` for ports 80 and 443). */
  allow: string[];
  /** Every connection tried, in order, at most 1000. */
  connections: NetConnection[];
  /** How many more there were than `connections` lists. */
  truncated: number;
  /**
   * Connections closed as they were accepted, unread and unlisted: the job already had the most open
   * through its way out that it may (256, docs/network.md). Absent when none were.
   */
  overLimit?: number;
}
