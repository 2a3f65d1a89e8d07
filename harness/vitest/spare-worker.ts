// The Vitest pool's worker sandboxes, and the one kept ready for the next test file: its sandbox and
// its Node process (Vitest's forks entry, which loads Vitest's worker code before it can answer) are
// started while the current files run, so a file's worker answers `start` at once instead of after a
// Node start. One spare per pool process, of the same job spec as the worker that made it, with the
// same caps in a cgroup of its own: a spare holds one idle worker's memory, under the file's own cap,
// and never a Vitest worker slot. Its wall clock and timeout start when a file takes it
// (RunOptions.holdClock), and it is ended as soon as no worker of the run is left.
import type { JobResult } from '../job/result.js';
import type { RunOptions, RunningJob } from '../job/run-options.js';
import type { JobSpecInput } from '../job/spec.js';
import { runJob } from '../run-job.js';

/** What a worker sandbox's messages and its end go to once a pool worker owns it. */
export interface SandboxOwner {
  onMessage(message: unknown): void;
  /** The snapshot files of the test files it ran: RunOptions.derivedOutputs, read at its end. */
  derivedOutputs: NonNullable<RunOptions['derivedOutputs']>;
}

/** How the pool's workers run a sandbox: everything but what depends on the owner. */
export type SandboxRunOptions = Omit<
  RunOptions,
  'ipc' | 'onStart' | 'derivedOutputs' | 'holdClock' | 'signal'
>;

/** One worker's sandbox, started for a pool worker or ahead of one (a spare). */
export class WorkerSandbox {
  readonly run: Promise<JobResult>;
  /** The job once it runs; null when it ended without ever starting. */
  readonly started: Promise<RunningJob | null>;
  private owner: SandboxOwner | null = null;
  /** Messages that came before an owner (a spare's worker speaking before its file): handed on. */
  private readonly early: unknown[] = [];
  private readonly controller = new AbortController();
  private ended = false;
  /** Why its channel was closed from the host's end (harness/launch/node-channel.ts), if it was. */
  private channelFailure: Error | null = null;

  constructor(
    readonly key: string,
    spec: JobSpecInput,
    options: SandboxRunOptions,
  ) {
    let started!: (job: RunningJob | null) => void;
    this.started = new Promise((resolve) => (started = resolve));
    this.run = runJob(spec, {
      ...options,
      ipc: 'advanced',
      holdClock: true,
      signal: this.controller.signal,
      derivedOutputs: () => this.owner?.derivedOutputs() ?? { paths: [] },
      onStart: (job) => {
        job.ipc?.on('message', (message: unknown) => {
          if (this.owner) this.owner.onMessage(message);
          else this.early.push(message);
        });
        // a worker that can no longer talk to Vitest would only wait out its timeout: end it now
        job.ipc?.on('error', (error: Error) => {
          this.channelFailure = error;
          this.controller.abort(error);
        });
        started(job);
      },
    });
    void this.run.then(() => {
      this.ended = true;
      started(null);
    });
  }

  /** Why the host closed its worker's channel and ended it, when that is how it ended. */
  get failure(): Error | null {
    return this.channelFailure;
  }

  /** Whether a file can still take it: neither ended nor ending. */
  get usable(): boolean {
    return !this.ended && !this.controller.signal.aborted;
  }

  /** Hands its worker to `owner` (its messages so far first) and starts its clock. */
  adopt(owner: SandboxOwner): void {
    this.owner = owner;
    for (const message of this.early.splice(0)) owner.onMessage(message);
    void this.started.then((job) => job?.startClock());
  }

  /** Ends it unused (through the freezer path); resolves once it is gone. */
  async discard(): Promise<void> {
    this.controller.abort();
    await this.run;
  }
}

let spare: WorkerSandbox | null = null;
/** Pool workers started and not yet stopped, across the process's projects. */
let active = 0;

/**
 * The spare for `key` when there is a usable one (it then is no longer the spare); a spare of another
 * key (another project's spec) is ended.
 */
export function takeSpare(key: string): WorkerSandbox | null {
  const taken = spare;
  spare = null;
  if (!taken) return null;
  if (taken.key === key && taken.usable) return taken;
  void taken.discard();
  return null;
}

/** Starts the spare for the next file, unless one is there or no worker is left to want it. */
export function prepareSpare(key: string, launch: () => WorkerSandbox): void {
  if (active === 0 || (spare && spare.key === key && spare.usable)) return;
  if (spare) void spare.discard();
  spare = launch();
}

export function workerStarted(): void {
  active++;
}

/**
 * A pool worker stopped. Vitest starts the next file's worker before it stops the last one's, so
 * when none is left the run (or this project's part of it) is over: the spare is ended, and the
 * returned promise resolves once it is gone, so Vitest's wait for its workers covers it — true when
 * the run is over.
 */
export async function workerStopped(): Promise<boolean> {
  active = Math.max(0, active - 1);
  if (active > 0) return false;
  const last = spare;
  spare = null;
  await last?.discard();
  return true;
}
