// What a caller can ask of one job's run beyond its spec (RunOptions) and the handle it gets once
// the job runs (RunningJob): the contract between every entry point and the job path (run.ts).
import type { Writable } from 'node:stream';
import type { IpcMode, NodeChannel } from '../launch/node-channel.js';
import type { Vet } from '../fs/writeback.js';
import type { Subids } from '../services/subids.js';

export interface RunOptions {
  /** Aborting ends the job through the freezer path; the result's status is `aborted`. */
  signal?: AbortSignal;
  /** Live copies of the job's output (default: this process's stdout/stderr when spec.passthrough). */
  stdout?: Writable;
  stderr?: Writable;
  /** Written to the job's stdin when spec.stdin is `pipe`. */
  stdinData?: string | Buffer;
  /**
   * Start the next job's launcher while this one runs (default true). A one-off caller such as
   * `ringfence run` turns it off: nothing would use the spare.
   */
  prepareNext?: boolean;
  /**
   * Give the job a Node IPC channel (fd 3, NODE_CHANNEL_FD) with this serialization; `onStart`'s
   * `ipc` is then its channel, to send() to and hear 'message' from. For Node workers (Vitest).
   */
  ipc?: IpcMode;
  /** Called once the launcher runs, e.g. to forward this process's signals to it. */
  onStart?: (job: RunningJob) => void;
  /**
   * Record when each phase of the job was reached — the harness's own (cgroup, scratch, gate, exit,
   * stats) and the launcher's (clone, mounts, exec, …: `--trace`) — into the result's `trace`.
   * For `npm run bench -- --trace`; cheap, but off by default.
   */
  trace?: boolean;
  /**
   * With `trace`: the `process.hrtime.bigint()` its times count from — the Harness passes when its
   * run() was called, on another thread (the clock is the process's) — instead of runJob's start.
   */
  traceOrigin?: bigint;
  /**
   * An open fd of a network namespace the job joins instead of getting its own (`--network` is then
   * not used): its services' (harness/services/run.ts), or its allow-list's (harness/net/run.ts).
   * The caller keeps it open and closes it.
   */
  netnsFd?: number;
  /**
   * With `netnsFd`: an open fd of the user namespace that owns that network namespace, joined first
   * (a job in a user namespace cannot join a network owned by another); the caller keeps it open.
   */
  usernsFd?: number;
  /**
   * Rootless, for the sandbox that makes a user namespace: the user's subordinate ranges, mapped to
   * ids 1..count inside (harness/services/subids.ts), so that another id than root can be had there.
   */
  subids?: Subids;
  /**
   * With `outputs` in the spec: more outputs, known only once the job has ended (the Vitest pool:
   * the snapshot files of the test files the worker ran) — exact paths, which never unlock a
   * protected one — and a check of a file's content before it is written back (`vet`).
   */
  derivedOutputs?: () => { paths: readonly string[]; vet?: Vet };
  /**
   * Say on stderr what this host cannot enforce for the job (default true). A worker thread of the
   * Harness passes false: the Harness said it once for the whole run, from the main thread.
   */
  warn?: boolean;
  /**
   * Start the wall-clock deadline and the job's wall time at RunningJob.startClock() instead of at
   * the gate's release: for a job started ahead of its work (the Vitest pool's spare worker), whose
   * wait for that work must not count against its timeout.
   */
  holdClock?: boolean;
}

/** A handle on a started job, for forwarding signals. */
export interface RunningJob {
  readonly launcherPid: number;
  /**
   * The job's init as the host sees its pid, once the launcher says which it is (a spare's init made
   * ahead may have been dropped for a fresh one); null when the launcher ended without one.
   */
  initPid(): Promise<number | null>;
  /** Forwards a signal to the job's main process (through the launcher and its init). */
  signal(signal: NodeJS.Signals): void;
  /** Ends the job now through the freezer path. */
  abort(): void;
  /**
   * Pauses the whole job through the freezer (v1 freezer, v2 cgroup.freeze; SIGSTOP down the tree
   * where there is no cgroup): every process stops where it is — a service that accepts connections
   * and then hangs. Its wall clock and timeout run on. Resolves true once the kernel says all are
   * stopped, false where that cannot be (the job is ending, no freezer). The window goes into the
   * result's `pauses`.
   */
  pause(): Promise<boolean>;
  /** Lets a paused job run on. */
  resume(): void;
  /** CPU time the job used so far, in ms (its cgroup's counter; without one, /proc's ticks). */
  cpuMs(): number;
  /** With RunOptions.holdClock: starts the job's wall clock and its timeout now (once). */
  startClock(): void;
  /** With RunOptions.ipc: the channel to the job (send, 'message'). */
  ipc: NodeChannel | null;
}
