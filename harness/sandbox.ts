// The one job lifecycle (docs/design.md, "The one job path"): cgroup → scratch → launcher held
// at the gate until it is inside the cgroup → wait for exit or a deadline → on a deadline freeze,
// snapshot, kill, thaw → stats → remove everything. Every entry point runs jobs through runJob() (job.ts).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { Pidfd } from '../native/bindings.js';
import { BoundedCapture } from './capture.js';
import { pendingLauncherArgs, startLauncher, startLauncherWithIpc, type LauncherProcess } from './launch.js';
import { describePlacement, openPlacedDriver, type Placement } from './cgroup/index.js';
import { NoCgroupDriver } from './cgroup/none.js';
import { ownInstanceId } from './cgroup/instance.js';
import {
  CgroupError,
  type CgroupDriver,
  type CgroupLimits,
  type CgroupStats,
  type JobCgroup,
  type PressureTotals,
} from './cgroup/types.js';
import {
  planJob,
  probeNamespaces,
  strictRefusal,
  warnOnce,
  type HostSupport,
  type JobPlan,
} from './enforce.js';
import { formatBytes, formatDuration } from './format.js';
import {
  IPC_FD_LAYOUT,
  IPC_EXTRA_FD,
  STATUS_FD,
  exposeHiddenWorkdir,
  installedLauncherPath,
  launcherArgs,
  launcherErrorMessage,
  launcherPath,
  parseLauncherReports,
  signalName,
  type LauncherReport,
  type TaskIo,
} from './launcher.js';
import { snapshotProcesses } from './proctree.js';
import { outputRules } from './fs/outputs.js';
import { jobFilesystem, untouched } from './fs/pollution.js';
import { hookDirs } from './fs/tooling.js';
import { isWithin } from './protect.js';
import type { Vet } from './fs/writeback.js';
import type {
  JobEnforcement,
  JobError,
  JobFilesystem,
  JobIo,
  JobPressure,
  JobResult,
  JobStatus,
  PressureMs,
  ProcessInfo,
  Termination,
} from './result.js';
import {
  createScratch,
  layersInodes,
  prepareSpareScratch,
  releaseSpareScratch,
  removeInstanceScratch,
  sweepStaleScratch,
  type Scratch,
} from './scratch.js';
import { resolveJobSpec, type JobSpec, type JobSpecInput, type Volume } from './spec.js';

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
   * `ipc` is then the ChildProcess to send() to and hear 'message' from. For Node workers (Vitest).
   */
  ipc?: 'json' | 'advanced';
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
   * not used): its services' (harness/services.ts). The caller keeps it open and closes it.
   */
  netnsFd?: number;
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
}

/** A handle on a started job, for forwarding signals. */
export interface RunningJob {
  readonly launcherPid: number;
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
  /** With RunOptions.ipc: the channel to the job (send, 'message'). */
  ipc: ChildProcess | null;
}

/** How often the CPU-time deadline, OOM counter and (where the kernel keeps no peak) the task count are read. */
const POLL_MS = 25;
/** After the kill, how long the launcher gets to reap and exit before it is killed itself. */
const LAUNCHER_GRACE_MS = 2000;

/**
 * Starts a launcher whose fds from `firstFree` on are `kept`, followed — where the job's cgroup offers
 * its directory (cgroup v2) — by that directory, for the launcher to clone init straight into the
 * cgroup (native/launcher/intocg.h). `start` gets the fds and the directory's number in the launcher;
 * a null number means the launcher must be moved into the cgroup instead.
 */
function startIntoCgroup(
  cgroup: JobCgroup,
  firstFree: number,
  kept: readonly number[],
  start: (fds: readonly number[], cgroupFd: number | null) => LauncherProcess,
): { proc: LauncherProcess; cgroupFd: number | null } {
  const dirFd = cgroup.openForClone?.() ?? null;
  try {
    const cgroupFd = dirFd === null ? null : firstFree + kept.length;
    return { proc: start(dirFd === null ? kept : [...kept, dirFd], cgroupFd), cgroupFd };
  } finally {
    if (dirFd !== null) fs.closeSync(dirFd);
  }
}

/** A launcher started ahead of its job, already inside a fresh cgroup, waiting at its gate. */
interface Spare {
  cgroup: JobCgroup;
  proc: LauncherProcess;
  /** The Node IPC channel it was started with (fd 3), for a job that wants one; null for a plain job. */
  ipc: IpcMode | null;
  child: ChildProcess | null;
  /** The launcher's fd of its cgroup's directory (cgroup v2: init is cloned into it); null: moved in. */
  cgroupFd: number | null;
  /** The caps its cgroup was made with: the last jobs' when they were alike, else none (blank). */
  limits: CgroupLimits;
  /** Ended and its cgroup removed: never to be handed out, nor ended twice. */
  discarded?: boolean;
}

type IpcMode = 'json' | 'advanced';

/**
 * One per thread and --cgroup-parent: the cgroup driver, opened and swept once, and the spare for
 * the next job. Starting a launcher and moving it into a cgroup are the slow steps of a job start
 * (the cgroup.procs write waits for an RCU grace period); done while the previous job runs, they
 * cost the next job nothing.
 */
export class Sandbox {
  private static readonly perParent = new Map<string, Sandbox>();
  /** Opening is async (the sweep): concurrent first jobs share one opening, not one Sandbox each. */
  private static readonly opening = new Map<string, Promise<Sandbox>>();
  private static sweptScratch = false;
  private spare: Spare | null = null;
  /** A spare whose move into its cgroup is still in flight. */
  private pending: Promise<void> | null = null;
  /** The spare that `pending` is joining, so an exit under it can still end it and remove its cgroup. */
  private joining: Spare | null = null;
  /** Ended jobs whose directories are being removed. */
  private readonly removals = new Set<{
    cgroup: JobCgroup | null;
    scratch: Scratch | null;
    done: Promise<void> | null;
  }>();
  /** Set once disposed: a spare that finishes joining afterwards is discarded, not kept. */
  private released = false;
  /** The caps of the last job a spare was prepared for (see prepareSpare). */
  private lastLimits: CgroupLimits | null = null;
  /** Jobs running now: what the exit handler must end and remove if the process exits under them. */
  private readonly running = new Set<RunningEntry>();

  private constructor(
    readonly driver: CgroupDriver,
    readonly support: HostSupport,
  ) {}

  static get(cgroupParent: string | null): Promise<Sandbox> {
    const key = cgroupParent ?? '';
    const open = Sandbox.perParent.get(key);
    if (open) return Promise.resolve(open);
    let opening = Sandbox.opening.get(key);
    if (!opening) {
      opening = (async () => {
        const { placement, driver: placed } = await openPlacedDriver(cgroupParent);
        const driver = placed ?? new NoCgroupDriver();
        await driver.sweepStale();
        if (!Sandbox.sweptScratch) {
          Sandbox.sweptScratch = true;
          await sweepStaleScratch();
        }
        const sandbox = new Sandbox(driver, hostSupport(placement, driver));
        Sandbox.perParent.set(key, sandbox);
        return sandbox;
      })().finally(() => Sandbox.opening.delete(key));
      Sandbox.opening.set(key, opening);
    }
    return opening;
  }

  /**
   * Starts the next job's launcher in a cgroup of its own; the move into the cgroup completes in the
   * background, and then (`ahead`) the launcher makes the job's init with these namespaces, before
   * the job is known: the clone is off the next job's path. A failure only means no spare.
   * `limits`, the caps of the job now starting: when the job before it had the same, the spare's
   * cgroup is made with them, and a next job alike takes it without a write (takeSpare); after a
   * change of caps the spare is blank, and the next job's caps are written when it takes it.
   */
  prepareSpare(
    ipc: IpcMode | null = null,
    ahead: { userns: boolean } | null = null,
    limits: CgroupLimits = {},
  ): void {
    try {
      prepareSpareScratch();
    } catch {
      // only an optimisation: the next job makes its own
    }
    const spareLimits = this.lastLimits !== null && sameLimits(this.lastLimits, limits) ? limits : {};
    this.lastLimits = limits;
    if (this.spare || this.pending) return;
    let cgroup: JobCgroup | null = null;
    let proc: LauncherProcess | null = null;
    let child: ChildProcess | null = null;
    let cgroupFd: number | null = null;
    try {
      cgroup = this.driver.create(spareLimits);
      ({ proc, cgroupFd } = startIntoCgroup(cgroup, ipc ? IPC_EXTRA_FD : STATUS_FD + 1, [], (fds, dirFd) => {
        if (!ipc)
          return startLauncher(
            launcherPath(),
            pendingLauncherArgs(undefined, ahead, dirFd),
            {},
            'ignore',
            fds,
          );
        const args = pendingLauncherArgs(IPC_FD_LAYOUT, ahead, dirFd);
        const withIpc = startLauncherWithIpc(launcherPath(), args, {}, ipc, fds);
        child = withIpc.child;
        return withIpc;
      }));
    } catch {
      proc?.cancelSync();
      if (cgroup) removeEmptyCgroupSync(cgroup);
      return;
    }
    proc.setRef(false);
    const spare: Spare = { cgroup, proc, ipc, child, cgroupFd, limits: spareLimits };
    if (cgroupFd !== null) {
      // nothing to move: the cgroup is the launcher's to clone init into, as soon as it likes
      this.spare = spare;
      if (ahead) spare.proc.placed();
      return;
    }
    this.joining = spare;
    this.pending = cgroup.addProcessAsync(proc.pid).then(
      () => {
        this.pending = null;
        this.joining = null;
        if (this.released || spare.discarded) this.discard(spare);
        else {
          this.spare = spare;
          // in every cgroup.procs now: what the launcher makes from here on is inside the cgroup
          if (ahead) spare.proc.placed();
        }
      },
      () => {
        this.pending = null;
        this.joining = null;
        this.discard(spare);
      },
    );
  }

  /** The spare, with the job's caps applied, when it can run this job; null otherwise. */
  async takeSpare(spec: JobSpec, ipc: IpcMode | null): Promise<Spare | null> {
    if (spec.stdin !== 'ignore' || spec.keepFds.length > 0) return null;
    if (this.pending) await this.pending;
    const spare = this.spare;
    // a spare's fds were fixed when it was started: it serves only a job that wants the same channel
    if (!spare || spare.ipc !== ipc) return null;
    if (!spare.proc.alive()) {
      // it died waiting (killed from outside, or long idle in watch mode): make a fresh one instead
      this.releaseSpare();
      return null;
    }
    try {
      if (sameLimits(spare.limits, spec.limits)) {
        // made with these very caps: nothing to write
      } else if (Object.keys(spare.limits).length > 0) {
        // made with other caps: a job must not inherit a cap it did not ask for
        this.releaseSpare();
        return null;
      } else if (!this.driver.applyToSpare(spare.cgroup, spec.limits)) return null;
    } catch (error) {
      this.releaseSpare(); // half its caps may be set: it is no longer blank
      throw error;
    }
    this.spare = null;
    spare.proc.setRef(true);
    return spare;
  }

  private discard(spare: Spare): void {
    if (spare.discarded) return;
    spare.discarded = true;
    try {
      spare.proc.cancelSync();
      removeEmptyCgroupSync(spare.cgroup);
    } catch (error) {
      warnLeftover(spare.cgroup.paths.join(', '), error);
    }
  }

  /** Ends the spare launcher and removes its cgroup, synchronously (exit handlers, tests). */
  releaseSpare(): void {
    const spare = this.spare;
    this.spare = null;
    if (spare) this.discard(spare);
    // one still joining its cgroup (an exit while a job runs): end it now; when its join settles,
    // `released` or the failed join discards it again, which finds nothing left to do
    const joining = this.joining;
    this.joining = null;
    if (joining) this.discard(joining);
  }

  /**
   * Removes an ended job's (empty) cgroup and its scratch dir in the background. The entry is known
   * at once (settle() and the exit handler see it), but the work starts on the next turn of the event
   * loop: the job's result, sent in this turn, leaves first — the directory listings and `rmdir`s
   * are no longer between a job's exit and its caller (a Harness worker: the next job's dispatch).
   */
  track(cgroup: JobCgroup | null, scratch: Scratch | null): void {
    const entry = { cgroup, scratch, done: null as Promise<void> | null };
    entry.done = (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        await cgroup?.destroy();
      } finally {
        await scratch?.remove();
        this.removals.delete(entry);
      }
    })().catch((error: unknown) => warnLeftover([...(cgroup?.paths ?? []), scratch?.path].join(', '), error));
    this.removals.add(entry);
  }

  /** Marks a job's cgroup (and, once made, its scratch dir) as in use until the returned release is called. */
  hold(entry: RunningEntry): () => void {
    this.running.add(entry);
    return () => this.running.delete(entry);
  }

  /** Removes what was made ahead for the next job (synchronously). */
  static releaseSpares(): void {
    releaseSpareScratch();
    for (const sandbox of Sandbox.perParent.values()) sandbox.releaseSpare();
  }

  /**
   * Waits until every ended job's directories are removed and drops the spares: afterwards ringfence
   * holds nothing on the host but its (empty) instance parents. Tests call it before their leftovers
   * check; the CLI and Harness.close() before they finish.
   */
  static async settle(): Promise<void> {
    for (const sandbox of Sandbox.perParent.values()) {
      if (sandbox.pending) await sandbox.pending;
      await Promise.all([...sandbox.removals].map((entry) => entry.done?.catch(() => undefined)));
    }
    Sandbox.releaseSpares();
  }

  /** Removes this thread's spares and instance parents. Also runs at process exit. */
  static disposeAll(): void {
    Sandbox.releaseSpares();
    for (const sandbox of Sandbox.perParent.values()) {
      sandbox.released = true;
      // removals still in flight at exit: finish them synchronously
      for (const { cgroup, scratch } of sandbox.removals) {
        try {
          if (cgroup) removeEmptyCgroupSync(cgroup);
          scratch?.removeSync();
        } catch (error) {
          warnLeftover([...(cgroup?.paths ?? []), scratch?.path].join(', '), error);
        }
      }
      sandbox.removals.clear();
      // The process is exiting under running jobs (Ctrl-C of a test runner, process.exit): end them
      // now, or their launchers would outlive us until PR_SET_PDEATHSIG fires and their directories
      // would wait for the next start's sweep
      for (const entry of sandbox.running) {
        try {
          entry.cgroup.killAllSync(2000);
          removeEmptyCgroupSync(entry.cgroup);
          entry.scratch()?.removeSync();
        } catch (error) {
          warnLeftover(entry.cgroup.paths.join(', '), error);
        }
      }
      sandbox.running.clear();
      try {
        sandbox.driver.dispose();
      } catch {
        // a job cgroup still present means a job is running; the next start sweeps it
      }
    }
    Sandbox.perParent.clear();
  }
}

/** Whether two sets of caps are the same caps (the same keys with the same values). */
function sameLimits(a: CgroupLimits, b: CgroupLimits): boolean {
  const keys = Object.keys(a) as (keyof CgroupLimits)[];
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** What jobs can get here: the placement's controllers and the namespaces the host allows. */
function hostSupport(placement: Placement, driver: CgroupDriver): HostSupport {
  let namespaces: ReturnType<typeof probeNamespaces> = { support: 'all', reason: null };
  try {
    namespaces = probeNamespaces(launcherPath());
  } catch {
    // no launcher: every job's result says so, with the fix
  }
  return {
    placement,
    controllers: driver.controllers,
    namespaces: namespaces.support,
    namespacesReason: namespaces.reason,
  };
}

/**
 * What a job gets on this host (caps and namespaces), for callers that run jobs elsewhere (the
 * Harness's workers) and want to warn or refuse once, up front, in the main thread.
 */
export async function planFor(spec: JobSpec): Promise<JobPlan> {
  const sandbox = await Sandbox.get(spec.cgroupParent);
  return planJob(spec, sandbox.support);
}

/**
 * A directory ringfence could not remove: said once on stderr, never thrown from the background
 * (that would crash a worker thread). The next start's sweep removes it once its owner is gone.
 */
function warnLeftover(what: string, error: unknown): void {
  process.stderr.write(
    `ringfence: could not remove ${what}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
}

/** A running job, as the exit handler sees it. */
interface RunningEntry {
  cgroup: JobCgroup;
  scratch: () => Scratch | null;
}

function removeEmptyCgroupSync(cgroup: JobCgroup): void {
  for (const dir of cgroup.paths) {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt === 49) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      }
    }
  }
}

process.once('exit', () => Sandbox.disposeAll());

/**
 * What a worker thread of this process left when it died mid-job (piscina replaces it; the job
 * became an `error` result): its instance parent under each cgroup parent it may have used, the job
 * cgroups in it (the launchers were tied to that thread and died with it; anything left is killed)
 * and its scratch dirs. The stale sweep cannot take them while this process lives.
 */
export async function reapDeadThread(
  threadId: number,
  cgroupParents: Iterable<string | null>,
): Promise<void> {
  const instance = { ...ownInstanceId(), threadId };
  const errors: unknown[] = [];
  for (const parent of new Set(cgroupParents)) {
    try {
      const { driver } = await openPlacedDriver(parent);
      await driver?.reapThread(threadId);
    } catch (error) {
      errors.push(error);
    }
  }
  await removeInstanceScratch(instance);
  if (errors.length > 0) throw errors[0];
}

/**
 * Runs one job in a fresh sandbox and resolves with what happened; rejects only on invalid input.
 * No services: runJob (job.ts) runs them around the job, each through here.
 */
export async function runInSandbox(
  input: JobSpecInput | JobSpec,
  options: RunOptions = {},
): Promise<JobResult> {
  const spec = resolveJobSpec(input);
  if ((spec.services ?? []).length > 0) throw new Error('runInSandbox runs no services: call runJob');
  const startedAt = new Date();
  let sandbox: Sandbox;
  try {
    sandbox = await Sandbox.get(spec.cgroupParent);
  } catch (error) {
    return failedToStart(spec, startedAt, 'cgroup', error, null);
  }
  const run = new JobRun(spec, sandbox, options, startedAt);
  return run.execute();
}

class JobRun {
  private cgroup: JobCgroup | null = null;
  private scratch: Scratch | null = null;
  private launcherPid: number | null = null;
  private ipc: ChildProcess | null = null;
  private pidfd: Pidfd | null = null;
  private termination: Termination | null = null;
  private killing: Promise<void> | null = null;
  private processTree: ProcessInfo[] | null = null;
  private sampledPidsPeak = 0;
  /** Closed pause windows, ms from the job's start; `pausedAt` is the open one. */
  private readonly pauses: { atMs: number; forMs: number }[] = [];
  private pausedAt: number | null = null;
  private runningSince = 0;
  /** RunOptions.trace: the harness's phases, on the clock the launcher's are on (CLOCK_MONOTONIC). */
  private readonly marks: { phase: string; ns: bigint }[] = [];
  private readonly stdout: BoundedCapture;
  private readonly stderr: BoundedCapture;
  private statusText = '';
  /** The counters read when the launcher's last line came (readStatsEarly); null: read after its exit. */
  private earlyStats: CgroupStats | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** The job's paths its overlays do not cover (set once its volumes are known). */
  private notOverlaid: string[] = [];
  /** Its volumes seen through an overlay of their own (the workdir under `outputs`). */
  private overlaidVolumes: Volume[] = [];

  private readonly driver: CgroupDriver;

  /** What this host enforces for the job; set in execute(). */
  private plan: JobPlan | null = null;

  constructor(
    private spec: JobSpec,
    private readonly sandbox: Sandbox,
    private readonly options: RunOptions,
    private readonly startedAt: Date,
  ) {
    this.driver = sandbox.driver;
    this.stdout = new BoundedCapture(spec.outputLimitBytes);
    this.stderr = new BoundedCapture(spec.outputLimitBytes);
  }

  private mark(phase: string): void {
    if (this.options.trace) this.marks.push({ phase, ns: process.hrtime.bigint() });
  }

  async execute(): Promise<JobResult> {
    this.mark('start');
    let launcher: string;
    try {
      launcher = launcherPath();
    } catch (error) {
      return failedToStart(
        this.spec,
        this.startedAt,
        'launcher',
        launcherProblem(error),
        this.driver.version,
      );
    }
    const plan = planJob(this.spec, this.sandbox.support);
    if (this.spec.strict && plan.notEnforced.length > 0) {
      const error = new Error(strictRefusal(plan.notEnforced));
      return failedToStart(this.spec, this.startedAt, 'enforce', error, this.driver.version);
    }
    if (this.options.warn !== false) warnOnce(plan.notEnforced);
    // the job as this host runs it: the caps it can enforce, a user namespace where that is the way in
    this.spec = { ...this.spec, limits: plan.limits, userns: plan.userns };
    this.plan = plan;
    if (this.options.signal?.aborted) {
      const error = new Error('aborted before start');
      return failedToStart(this.spec, this.startedAt, 'abort', error, this.driver.version, 'aborted');
    }
    let spare: Spare | null;
    try {
      // a spare's fds were fixed when it started: one that joins a network namespace needs its own
      spare =
        this.options.netnsFd === undefined
          ? await this.sandbox.takeSpare(this.spec, this.options.ipc ?? null)
          : null;
      this.cgroup = spare?.cgroup ?? this.driver.create(this.spec.limits);
      this.mark(spare ? 'cgroup (spare)' : 'cgroup');
    } catch (error) {
      return failedToStart(this.spec, this.startedAt, 'cgroup', error, this.driver.version);
    }
    const release = this.sandbox.hold({ cgroup: this.cgroup, scratch: () => this.scratch });
    try {
      if (spare?.child) this.ipc = spare.child;
      return await this.runLauncher(launcher, this.cgroup, spare?.proc ?? null, spare?.cgroupFd ?? null);
    } finally {
      await this.cleanup();
      release();
    }
  }

  private async runLauncher(
    launcher: string,
    cgroup: JobCgroup,
    started: LauncherProcess | null,
    /** The spare's fd of its cgroup's directory (Spare.cgroupFd). */
    spareCgroupFd: number | null = null,
  ): Promise<JobResult> {
    const { spec, options } = this;
    let proc: LauncherProcess | null = started;
    let step = 'scratch';
    // Until the gate opens nothing of the job exists: any failure here cancels the launcher (it exits
    // at its closed gate) and is a result, never a launcher left waiting inside the cgroup.
    try {
      const noNamespaces = this.plan?.noNamespaces ?? false;
      const scratch = (this.scratch = createScratch(
        spec.user !== null || spec.userns,
        spec.fs === 'overlay' && !noNamespaces ? { userns: spec.userns } : null,
      ));
      this.mark('scratch');
      const extraVolumes = exposeHiddenWorkdir(spec);
      // what the overlays do not cover: the job's own /tmp, the workdir and the volumes — but for
      // those seen through an overlay of their own (the workdir under `outputs`)
      const volumes = [...spec.volumes, ...extraVolumes];
      this.notOverlaid = ['/tmp', ...volumes.filter((v) => !v.overlay).map((v) => v.target)];
      this.overlaidVolumes = volumes.filter((v) => v.overlay);
      if (options.netnsFd !== undefined && noNamespaces)
        throw new Error(
          'services need a network namespace to share, and this host lets ringfence make none (see `ringfence doctor`)',
        );
      // the fds after the launcher's fixed ones: the kept ones (plain layout), a network namespace to
      // join, then (cgroup v2) the cgroup's directory — launch.ts lays them out in that order
      const netns = options.netnsFd === undefined ? [] : [options.netnsFd];
      const firstFree = options.ipc ? IPC_EXTRA_FD : STATUS_FD + 1;
      const kept = options.ipc ? netns : [...spec.keepFds, ...netns];
      const argsFor = (cgroupFd: number | null): string[] =>
        launcherArgs(spec, scratch.path, extraVolumes, options.ipc ? IPC_FD_LAYOUT : undefined, {
          noNamespaces,
          overlayDir: scratch.overlay,
          overlayMount: scratch.layers?.mount ?? null,
          trace: options.trace === true,
          ...(options.netnsFd === undefined ? {} : { netFd: firstFree + kept.length - 1 }),
          ...(cgroupFd === null ? {} : { cgroupFd }),
        });
      step = 'spawn launcher';
      let cgroupFd = spareCgroupFd;
      if (!proc) {
        const ipc = options.ipc;
        ({ proc, cgroupFd } = startIntoCgroup(cgroup, firstFree, kept, (fds, dirFd) => {
          if (!ipc) return startLauncher(launcher, argsFor(dirFd), spec.env, spec.stdin, fds);
          const withIpc = startLauncherWithIpc(launcher, argsFor(dirFd), spec.env, ipc, fds);
          this.ipc = withIpc.child;
          return withIpc;
        }));
      }
      this.launcherPid = proc.pid;
      this.mark(started ? 'launcher (spare)' : 'spawn');
      const live = spec.passthrough || options.stdout || options.stderr;
      this.stdout.attach(proc.stdout, live ? (options.stdout ?? process.stdout) : undefined);
      this.stderr.attach(proc.stderr, live ? (options.stderr ?? process.stderr) : undefined);
      proc.status.setEncoding('utf8');
      // with a PID namespace, init's end is the job's end: its counters are read then (readStatsEarly)
      const early = !noNamespaces && this.driver.version !== null;
      proc.status.on('data', (text: string) => {
        this.statusText += text;
        if (early) this.readStatsEarly(cgroup);
      });
      // a job that does not read all its stdin closes the pipe: that is its business, not an error here
      proc.stdin?.on('error', () => undefined);
      proc.stdin?.end(options.stdinData ?? '');
      // (a spare launcher joined its cgroup when it was made; with the cgroup's directory it clones
      // init into it and nothing is moved)
      step = 'join cgroup';
      if (!started && cgroupFd === null) cgroup.addProcess(proc.pid);
      step = 'pidfd';
      this.pidfd = Pidfd.open(proc.pid);
      if (options.signal?.aborted) throw new AbortedBeforeStart();
      step = 'release gate';
      // a spare started with a channel: the job finds it as a Node child does, by these two variables
      // (Node set them in the launcher's environment, which the config replaces)
      const env = options.ipc
        ? { ...spec.env, NODE_CHANNEL_FD: '3', NODE_CHANNEL_SERIALIZATION_MODE: options.ipc }
        : spec.env;
      this.mark('release');
      if (started) proc.releaseWithConfig(argsFor(cgroupFd), env);
      else proc.releaseGate();
    } catch (error) {
      if (proc) {
        proc.cancel();
        await proc.exited;
      }
      const aborted = error instanceof AbortedBeforeStart;
      // a launcher that exited on a bad argument said why on its status pipe: that is the cause
      const fromLauncher = parseLauncherReports(this.statusText).find((r) => r.kind === 'error');
      let cause = error;
      if (fromLauncher?.kind === 'error') {
        step = fromLauncher.step;
        cause = Object.assign(new Error(launcherErrorMessage(fromLauncher, spec)), {
          code: fromLauncher.code,
        });
      }
      return failedToStart(
        spec,
        this.startedAt,
        aborted ? 'abort' : step,
        cause,
        this.driver.version,
        aborted ? 'aborted' : 'error',
      );
    }
    const pid = proc.pid;
    const startedAt = performance.now();
    this.runningSince = startedAt;
    // The deadlines count from the gate's release: armed before the next job's spare is made (a few
    // ms of synchronous work on a busy host), which would otherwise lengthen this job's timeout.
    if (spec.timeoutMs !== null)
      this.timers.push(setTimeout(() => this.terminate('wall-timeout'), spec.timeoutMs));
    this.timers.push(setInterval(() => this.poll(), POLL_MS));
    this.mark('deadlines armed');
    // the job runs now and this thread would wait idle: start the next job's launcher meanwhile
    // (its init made ahead with this job's user-namespace choice: the next job is most likely alike)
    if (options.prepareNext !== false) {
      this.sandbox.prepareSpare(
        options.ipc ?? null,
        this.plan?.noNamespaces ? null : { userns: spec.userns },
        spec.limits,
      );
      this.mark('next spare');
    }

    const onAbort = (): void => this.terminate('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort(); // aborted while the gate opened: the listener came too late
    options.onStart?.({
      launcherPid: pid,
      signal: (sig) => this.pidfd?.signal(sig),
      abort: onAbort,
      ipc: this.ipc,
      pause: () => this.pause(),
      resume: () => this.resume(),
      cpuMs: () => (this.cgroup ? this.cgroup.cpuUsageNs() / 1e6 : 0),
    });

    const exit = await proc.exited;
    this.mark('exited');
    const wallMs = performance.now() - startedAt;
    for (const timer of this.timers) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (this.killing) await this.killing;
    // counters read as the launcher exited are final unless a kill came since (it waits for its own)
    const stats = (this.termination === null ? this.earlyStats : null) ?? cgroup.stats();
    this.mark('stats');
    return this.buildResult(
      wallMs,
      stats,
      parseLauncherReports(this.statusText),
      exit.code ?? 128 + (exit.signal ?? 0),
    );
  }

  /**
   * The cgroup's counters as soon as the launcher says `tree` (its last line: init reaped, and with a
   * PID namespace every process of the job gone with it), while the launcher itself exits — read then
   * instead of after its exit, beside it. Nothing of the job can add to them any more. On cgroup v2
   * the launcher is outside the job's cgroup (init was cloned into it); on v1 it was moved in, and
   * its own exit, after this line, is left out of the job's figures, as on v2.
   */
  private readStatsEarly(cgroup: JobCgroup): void {
    if (this.earlyStats !== null || this.termination !== null) return;
    if (!/(^|\n)tree\t[^\n]*\n/.test(this.statusText)) return;
    try {
      this.earlyStats = cgroup.stats();
      this.mark('stats (early)');
    } catch {
      // read again after the exit, where a failure is the job's result
    }
  }

  private async pause(): Promise<boolean> {
    if (this.pausedAt !== null) return true;
    if (!this.cgroup || this.termination || this.launcherPid === null) return false;
    const at = performance.now();
    if (!(await this.cgroup.pause())) return false;
    if (this.termination) return false; // the kill came while freezing, and thawed it
    this.pausedAt = at;
    return true;
  }

  private resume(): void {
    if (this.pausedAt === null) return;
    this.cgroup?.resume();
    this.closePause();
  }

  /** Ends the open pause window (at a resume, or when the job ended paused). */
  private closePause(): void {
    if (this.pausedAt === null) return;
    const now = performance.now();
    this.pauses.push({ atMs: round(this.pausedAt - this.runningSince), forMs: round(now - this.pausedAt) });
    this.pausedAt = null;
  }

  /** Checks the CPU-time deadline and samples the task count while the job runs. */
  private poll(): void {
    const cgroup = this.cgroup;
    if (!cgroup || this.termination) return;
    try {
      if (this.spec.cpuTimeMs !== null && cgroup.cpuUsageNs() >= this.spec.cpuTimeMs * 1e6)
        this.terminate('cpu-timeout');
      this.sampledPidsPeak = Math.max(this.sampledPidsPeak, cgroup.tasksCurrent());
    } catch {
      // the cgroup can vanish under a poll that races the end of the job
    }
  }

  /** freeze → snapshot → kill all but the launcher → thaw; the launcher then reaps and exits. */
  private terminate(reason: Termination): void {
    if (this.termination || !this.cgroup) return;
    this.termination = reason;
    this.mark(reason);
    const cgroup = this.cgroup;
    const launcherPid = this.launcherPid ?? undefined;
    this.killing = cgroup
      .killAll({
        spare: launcherPid === undefined ? [] : [launcherPid],
        onFrozen: (pids) => {
          this.mark('frozen');
          this.processTree = snapshotProcesses(pids.filter((pid) => pid !== launcherPid));
          this.mark('snapshot');
        },
      })
      .then(
        () => this.mark('killed'),
        () => {
          this.pidfd?.signal('SIGKILL');
        },
      );
    const fallback = setTimeout(() => this.pidfd?.signal('SIGKILL'), LAUNCHER_GRACE_MS);
    fallback.unref();
    this.timers.push(fallback);
  }

  private async cleanup(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.pidfd?.close();
    if (this.cgroup) {
      try {
        await this.cgroup.waitEmpty(5000);
      } catch {
        await this.cgroup.killAll().catch(() => undefined);
        await this.cgroup.waitEmpty(5000).catch(() => undefined);
      }
    }
    // Every process of the job is gone now. The directories go next, off this job's critical path:
    // the caller gets its result a millisecond sooner, and Sandbox.settle() (tests, Harness.close,
    // the CLI) or the exit handler waits for the removal.
    this.sandbox.track(this.cgroup, this.scratch);
  }

  private buildResult(
    wallMs: number,
    stats: CgroupStats,
    reports: LauncherReport[],
    launcherCode: number | null,
  ): JobResult {
    const { spec } = this;
    // without a cgroup, CPU and peak memory are the launcher's whole-tree rusage (it reaped them all)
    const byRusage = this.driver.version === null;
    const tree = reports.find((r) => r.kind === 'tree');
    const treeFigures = byRusage && tree?.kind === 'tree' ? tree : null;
    const cpu = treeFigures
      ? {
          userNs: treeFigures.userUs * 1000,
          systemNs: treeFigures.systemUs * 1000,
          totalNs: (treeFigures.userUs + treeFigures.systemUs) * 1000,
        }
      : stats.cpu;
    const setupError = reports.find((r) => r.kind === 'error');
    const outcome = reports.find((r) => r.kind === 'exit' || r.kind === 'signal');
    const oomKills = stats.memory.oomKills;
    let status: JobStatus;
    let exitCode: number | null = null;
    let signal: string | null = null;
    let error: JobError | null = null;
    if (outcome?.kind === 'exit') exitCode = outcome.code;
    if (outcome?.kind === 'signal') signal = signalName(outcome.signal);

    if (setupError?.kind === 'error') {
      status = 'error';
      error = {
        step: setupError.step,
        code: setupError.code,
        message: launcherErrorMessage(setupError, spec),
      };
    } else if (this.termination === 'abort') status = 'aborted';
    else if (this.termination) status = 'timeout';
    else if (outcome?.kind === 'exit')
      status = outcome.code === 0 ? 'passed' : oomKills > 0 ? 'oom' : 'failed';
    else if (outcome?.kind === 'signal') status = oomKills > 0 ? 'oom' : 'signaled';
    else if (oomKills > 0) status = 'oom';
    else {
      status = 'error';
      error = {
        step: 'launcher',
        code: null,
        message: `the launcher exited with code ${launcherCode} without reporting the job's end`,
      };
    }

    const memoryLimit = spec.limits.memoryBytes ?? null;
    const peak = byRusage ? (treeFigures ? treeFigures.maxRssKiB * 1024 : null) : stats.memory.peakBytes;
    const reason = describe(status, {
      spec,
      exitCode,
      signal,
      error,
      termination: this.termination,
      memoryLimit,
      peak,
      cpuMs: cpu.totalNs / 1e6,
      killed: this.processTree?.length ?? 0,
    });
    const rusage = outcome?.kind === 'exit' || outcome?.kind === 'signal' ? outcome : null;
    const filesystem = this.filesystem(reports);
    this.mark('filesystem');
    return {
      name: spec.name,
      command: spec.command,
      status,
      exitCode,
      signal,
      reason,
      termination: this.termination,
      startedAt: this.startedAt.toISOString(),
      wallMs: round(wallMs),
      ...this.pauseWindows(),
      ...this.traceOf(reports),
      cpu: {
        userMs: round(cpu.userNs / 1e6),
        systemMs: round(cpu.systemNs / 1e6),
        totalMs: round(cpu.totalNs / 1e6),
      },
      memory: {
        peakBytes: peak,
        limitBytes: memoryLimit,
        oomKills,
        failcnt: stats.memory.failcnt,
        maxRssBytes: rusage ? rusage.maxRssKiB * 1024 : null,
      },
      pids: {
        peak: stats.pids.peak ?? (this.sampledPidsPeak || null),
        limit: spec.limits.pidsLimit ?? null,
        refused: stats.pids.refused,
      },
      io: jobIo(rusage?.io ?? null, stats.io),
      limits: { timeoutMs: spec.timeoutMs, cpuTimeMs: spec.cpuTimeMs, cpus: spec.limits.cpus ?? null },
      stdout: this.stdout.text(),
      stderr: this.stderr.text(),
      stdoutTruncated: this.stdout.truncated,
      stderrTruncated: this.stderr.truncated,
      error,
      pressure: jobPressure(stats.pressure),
      enforcement: this.enforcement(byRusage),
      filesystem,
      diagnostics: { cgroupVersion: this.driver.version, processTree: this.processTree },
    };
  }

  /**
   * What the job saw of the host's files and, in overlay mode, what it wrote outside its workdir —
   * read now: every process of the job is gone, its scratch (with the upper layers) not yet removed.
   */
  private filesystem(reports: LauncherReport[]): JobFilesystem {
    const noNamespaces = this.plan?.noNamespaces ?? false;
    // without a mount namespace the job writes the host's files whatever was asked
    const mode = noNamespaces ? 'host' : this.spec.fs;
    // the layers tmpfs's inodes against the launcher's count: equal, and there is nothing to walk
    // (a kept layer is copied whatever the count)
    const layersUntouched =
      mode === 'overlay' &&
      this.spec.keepLayer === null &&
      untouched(reports, layersInodes(this.scratch?.layers?.read ?? null));
    if (layersUntouched) this.mark('layers untouched');
    return jobFilesystem(
      mode,
      this.scratch?.layers?.read ?? this.scratch?.overlay ?? null,
      reports,
      this.notOverlaid,
      undefined,
      this.spec.keepLayer,
      layersUntouched,
      mode === 'overlay' ? this.outputs() : null,
    );
  }

  /** Under `outputs` (the workdir an overlay volume): what may be written back, known now. */
  private outputs(): Parameters<typeof jobFilesystem>[7] {
    const { spec } = this;
    if (spec.outputs === null || !this.overlaidVolumes.some((v) => isWithin(spec.workdir, v.target)))
      return null;
    const derived = this.options.derivedOutputs?.() ?? { paths: [] };
    // allowGitWrite: the user's own `.git`, named, so written back
    const user = [...spec.outputs, ...(spec.allowGitWrite ? ['.git'] : [])];
    const rules = outputRules(spec.workdir, user, derived.paths, spec.guardedPaths, hookDirs(spec.workdir));
    const sources = new Map(this.overlaidVolumes.map((v) => [v.target, v.source]));
    return { rules, vet: derived.vet ?? null, sources };
  }

  /** RunOptions.trace: every phase, the harness's and the launcher's, in ms from the job's start. */
  private traceOf(reports: LauncherReport[]): { trace?: { phase: string; ms: number }[] } {
    if (!this.options.trace || this.marks.length === 0) return {};
    const start = this.options.traceOrigin ?? this.marks[0]?.ns ?? 0n;
    const launcher = reports.flatMap((r) => (r.kind === 'trace' ? [{ phase: r.phase, ns: r.ns }] : []));
    const all = [...this.marks, ...launcher].sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
    return { trace: all.map((m) => ({ phase: m.phase, ms: round(Number(m.ns - start) / 1e6) })) };
  }

  /** `pauses`, when the job was paused; a window still open when it ended closes there. */
  private pauseWindows(): { pauses?: { atMs: number; forMs: number }[] } {
    this.closePause();
    return this.pauses.length ? { pauses: [...this.pauses] } : {};
  }

  private enforcement(byRusage: boolean): JobEnforcement {
    const { placement } = this.sandbox.support;
    const plan = this.plan;
    return {
      placement: placement.kind,
      where: describePlacement(placement),
      namespaces: plan?.noNamespaces ? 'none' : plan?.userns ? 'userns' : 'all',
      notEnforced: plan?.notEnforced.map((i) => i.what) ?? [],
      figures: byRusage ? 'rusage' : 'cgroup',
    };
  }
}

/** PSI totals in ms, as every other duration of a result. */
function jobPressure(pressure: CgroupStats['pressure']): JobPressure | null {
  if (pressure === null) return null;
  const ms = (t: PressureTotals | null): PressureMs | null =>
    t === null
      ? null
      : { someMs: round(t.someUs / 1000), fullMs: t.fullUs === null ? null : round(t.fullUs / 1000) };
  return { cpu: ms(pressure.cpu), memory: ms(pressure.memory), io: ms(pressure.io) };
}

/** Why the launcher cannot be used, with the fix. */
export function launcherProblem(error: unknown): Error {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT')
    return new Error(
      `${installedLauncherPath()} is missing — run npm install (it builds native/launcher with the C compiler)`,
    );
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The job's I/O: the task counters of the whole tree where init sent them, with the cgroup's figure
 * beside them when the controller counted anything; the cgroup's alone otherwise.
 */
function jobIo(task: TaskIo | null, cgroup: CgroupStats['io']): JobIo | null {
  const counted = cgroup && (cgroup.readBytes > 0 || cgroup.writeBytes > 0) ? cgroup : null;
  if (task) {
    const { readBytes, writeBytes, rchar, wchar } = task;
    return { readBytes, writeBytes, rchar, wchar, source: 'task', cgroup: counted };
  }
  return cgroup ? { ...cgroup, source: 'cgroup', cgroup: null } : null;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

interface Facts {
  spec: JobSpec;
  exitCode: number | null;
  signal: string | null;
  error: JobError | null;
  termination: Termination | null;
  memoryLimit: number | null;
  peak: number | null;
  cpuMs: number;
  killed: number;
}

function describe(status: JobStatus, f: Facts): string {
  switch (status) {
    case 'passed':
      return 'exited 0';
    case 'failed':
      return `exited with code ${f.exitCode}`;
    case 'signaled':
      return `killed by ${f.signal}`;
    case 'oom':
      return `killed: memory limit ${f.memoryLimit === null ? '(none set)' : formatBytes(f.memoryLimit)} reached (OOM kill, peak ${f.peak === null ? 'unknown' : formatBytes(f.peak)})`;
    case 'timeout':
      return f.termination === 'cpu-timeout'
        ? `exceeded CPU-time limit ${formatDuration(f.spec.cpuTimeMs ?? 0)} (used ${formatDuration(f.cpuMs)}); killed ${f.killed} processes`
        : `exceeded wall-clock timeout ${formatDuration(f.spec.timeoutMs ?? 0)}; killed ${f.killed} processes`;
    case 'aborted':
      return `aborted; killed ${f.killed} processes`;
    case 'error':
      return `could not start: ${f.error?.message ?? 'unknown error'}`;
  }
}

class AbortedBeforeStart extends Error {
  constructor() {
    super('aborted before start');
  }
}

/** A result for a job that never ran: it could not start, or was aborted first. */
export function failedToStart(
  spec: JobSpec,
  startedAt: Date,
  step: string,
  cause: unknown,
  cgroupVersion: 1 | 2 | null,
  status: JobStatus = 'error',
): JobResult {
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? null;
  const error: JobError = {
    step: cause instanceof CgroupError && cause.cap ? `cgroup (${cause.cap})` : step,
    code,
    message,
  };
  return {
    name: spec.name,
    command: spec.command,
    status,
    exitCode: null,
    signal: null,
    reason: status === 'aborted' ? 'aborted before start' : `could not start: ${message}`,
    termination: status === 'aborted' ? 'abort' : null,
    startedAt: startedAt.toISOString(),
    wallMs: 0,
    cpu: { userMs: 0, systemMs: 0, totalMs: 0 },
    memory: {
      peakBytes: null,
      limitBytes: spec.limits.memoryBytes ?? null,
      oomKills: 0,
      failcnt: 0,
      maxRssBytes: null,
    },
    pids: { peak: null, limit: spec.limits.pidsLimit ?? null },
    io: null,
    limits: { timeoutMs: spec.timeoutMs, cpuTimeMs: spec.cpuTimeMs, cpus: spec.limits.cpus ?? null },
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    error,
    diagnostics: { cgroupVersion, processTree: null },
  };
}
