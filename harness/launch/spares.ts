// The process's hold on the host, one per thread and --cgroup-parent (class Sandbox): the cgroup
// driver, opened and swept once; the spare launcher kept ready for the next job; the removal of
// ended jobs' directories; and, at exit, the end of whatever is still running. The job path
// (job/run.ts) takes its spare and hands back what it leaves.
import fs from 'node:fs';
import { openPlacedDriver, type Placement } from '../cgroup/index.js';
import { NoCgroupDriver } from '../cgroup/none.js';
import type { CgroupDriver, CgroupLimits, JobCgroup } from '../cgroup/types.js';
import { planJob, probeNamespaces, type HostSupport, type JobPlan } from '../job/enforce.js';
import {
  pendingLauncherArgs,
  startIntoCgroup,
  startLauncher,
  type AheadInit,
  type LauncherProcess,
} from './start.js';
import { launcherPath } from './binary.js';
import { IPC_FD_LAYOUT, IPC_EXTRA_FD, STATUS_FD } from './command-line.js';
import type { IpcMode } from './node-channel.js';
import {
  prepareSpareScratch,
  releaseSpareScratch,
  spareScratchSettled,
  sweepStaleScratch,
  type Scratch,
} from '../job/scratch.js';
import type { JobSpec } from '../job/spec.js';
import { netnsSettled, releaseNetAhead } from '../net/ahead.js';

/** A launcher started ahead of its job, already inside a fresh cgroup, waiting at its gate. */
export interface Spare {
  cgroup: JobCgroup;
  proc: LauncherProcess;
  /** The Node IPC channel it was started with (fd 3), for a job that wants one; null for a plain job. */
  ipc: IpcMode | null;
  /** The launcher's fd of its cgroup's directory (cgroup v2: init is cloned into it); null: moved in. */
  cgroupFd: number | null;
  /** The caps its cgroup was made with: the last jobs' when they were alike, else none (blank). */
  limits: CgroupLimits;
  /** Ended and its cgroup removed: never to be handed out, nor ended twice. */
  discarded?: boolean;
}

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
  /** Whether the job before the one now starting joined a network namespace (prepareSpare). */
  private lastJoined = false;
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
  prepareSpare(ipc: IpcMode | null = null, ahead: AheadInit | null = null, limits: CgroupLimits = {}): void {
    try {
      prepareSpareScratch();
    } catch {
      // only an optimisation: the next job makes its own
    }
    const spareLimits = this.lastLimits !== null && sameLimits(this.lastLimits, limits) ? limits : {};
    this.lastLimits = limits;
    // an init made without a network namespace serves only a job that joins one, so only after two
    // such jobs in a row: one made with its own serves either kind (a join moves out of it)
    const joins = ahead?.joins === true;
    const init = ahead && { ...ahead, joins: joins && this.lastJoined };
    this.lastJoined = joins;
    if (this.spare || this.pending) return;
    let cgroup: JobCgroup | null = null;
    let proc: LauncherProcess | null = null;
    let cgroupFd: number | null = null;
    try {
      cgroup = this.driver.create(spareLimits);
      ({ proc, cgroupFd } = startIntoCgroup(cgroup, ipc ? IPC_EXTRA_FD : STATUS_FD + 1, [], (fds, dirFd) => {
        const args = pendingLauncherArgs(ipc ? IPC_FD_LAYOUT : undefined, init, dirFd);
        return startLauncher(launcherPath(), args, {}, 'ignore', fds, ipc);
      }));
    } catch {
      proc?.cancelSync();
      if (cgroup) removeEmptyCgroupSync(cgroup);
      return;
    }
    proc.setRef(false);
    const spare: Spare = { cgroup, proc, ipc, cgroupFd, limits: spareLimits };
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
    releaseNetAhead();
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
    await spareScratchSettled();
    await netnsSettled();
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
 * Opens the Sandbox a job like `spec` would use and starts its first spare, before any job asks: a
 * Harness's worker does it as it starts, so that its first job starts as the later ones do, from a
 * spare. A failure only means that the first job makes its own.
 */
export async function warmSandbox(spec: JobSpec): Promise<void> {
  try {
    const sandbox = await Sandbox.get(spec.cgroupParent);
    const plan = planJob(spec, sandbox.support);
    sandbox.prepareSpare(null, plan.noNamespaces ? null : { userns: spec.userns }, spec.limits);
  } catch {
    // the first job meets the same problem and makes it its result
  }
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
