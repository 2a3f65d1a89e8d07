// The run of one job (docs/design.md, "The one job path"): cgroup → scratch → launcher held at
// the gate until it is inside the cgroup → wait for exit or a deadline → on a deadline freeze,
// snapshot, kill, thaw → stats → remove everything. Every entry point runs jobs through runJob()
// (harness/run-job.ts), which adds services around this.
import { performance } from 'node:perf_hooks';
import { Pidfd } from '../../native/libc/pidfd.js';
import { BoundedCapture } from './capture.js';
import { initPidFrom, startIntoCgroup, startLauncher, type LauncherProcess } from '../launch/start.js';
import { channelEnv, type NodeChannel } from '../launch/node-channel.js';
import { IPC_CHANNEL_FD } from '../launch/command-line.js';
import type { CgroupDriver, CgroupStats, JobCgroup } from '../cgroup/types.js';
import { planJob, strictRefusal, warnOnce, type JobPlan } from './enforce.js';
import { exposeHiddenWorkdir } from './workdir-binds.js';
import { launcherPath, launcherProblem } from '../launch/binary.js';
import { launcherErrorMessage, parseLauncherReports, type LauncherReport } from '../launch/status.js';
import { Sandbox, type Spare } from '../launch/spares.js';
import { captureProcesses, parseSnapshot, type ProcessSnapshot } from './proctree.js';
import { setDeadline } from './deadline.js';
import { readJobFilesystem, WHOLE_WORKDIR } from './filesystem.js';
import type { JobDisk, JobFilesystem, JobResult, Termination } from './result.js';
import { buildResult, failedToStart, round } from './result-build.js';
import type { RunOptions } from './run-options.js';
import { jobDisk } from './disk-figures.js';
import { launchArgs } from './launch-args.js';
import { createScratch, type Scratch } from './scratch.js';
import { resolveJobSpec, type JobSpec, type JobSpecInput, type Volume } from './spec.js';
import { templateMaking } from '../fs/disk-template.js';

/** How often the CPU-time deadline, OOM counter and (where the kernel keeps no peak) the task count are read. */
const POLL_MS = 25;
/** After the kill, how long the launcher gets to reap and exit before it is killed itself. */
const LAUNCHER_GRACE_MS = 2000;

/**
 * Runs one job in a fresh sandbox and resolves with what happened; rejects only on invalid input.
 * No services: runJob (harness/run-job.ts) runs them around the job, each through here.
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
  private ipc: NodeChannel | null = null;
  private pidfd: Pidfd | null = null;
  private termination: Termination | null = null;
  private killing: Promise<void> | null = null;
  /** The frozen tree's /proc files as read before its kill; parsed for the result. */
  private snapshot: ProcessSnapshot | null = null;
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
  /** RunningJob.initPid: set once the launcher is started. */
  private initPid: Promise<number | null> = Promise.resolve(null);
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
    // a capped workdir is one seen through the overlay whose every write is an output
    if (plan.workdirCapped) this.spec = { ...this.spec, outputs: [WHOLE_WORKDIR] };
    this.plan = plan;
    if (this.options.signal?.aborted) {
      const error = new Error('aborted before start');
      return failedToStart(this.spec, this.startedAt, 'abort', error, this.driver.version, 'aborted');
    }
    let spare: Spare | null;
    try {
      // a spare's fds were fixed when it started, and its init's maps: one that joins a network
      // namespace, and the user namespace that owns it, opens them by path (its init made ahead is
      // dropped for a fresh one born in them); one that maps subordinate ids needs its own
      spare =
        this.options.subids === undefined
          ? await this.sandbox.takeSpare(this.spec, this.options.ipc ?? null)
          : null;
      this.cgroup = spare?.cgroup ?? this.driver.create(this.spec.limits);
      this.mark(spare ? 'cgroup (spare)' : 'cgroup');
    } catch (error) {
      return failedToStart(this.spec, this.startedAt, 'cgroup', error, this.driver.version);
    }
    const release = this.sandbox.hold({ cgroup: this.cgroup, scratch: () => this.scratch });
    try {
      if (spare?.proc.channel) this.ipc = spare.proc.channel;
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
      // its capped filesystem's template, when `ci` is making it ahead: waited for, not made twice
      const template = this.plan?.disk ? templateMaking(this.plan.disk) : null;
      if (template) await template;
      const scratch = (this.scratch = createScratch(
        spec.user !== null || spec.userns,
        spec.fs === 'overlay' && !noNamespaces ? { userns: spec.userns } : null,
        this.plan?.disk ?? null,
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
      const { firstFree, kept, argsFor } = launchArgs(
        spec,
        options,
        scratch,
        extraVolumes,
        noNamespaces,
        started !== null,
      );
      step = 'spawn launcher';
      let cgroupFd = spareCgroupFd;
      if (!proc) {
        const ipc = options.ipc;
        ({ proc, cgroupFd } = startIntoCgroup(cgroup, firstFree, kept, (fds, dirFd) =>
          startLauncher(launcher, argsFor(dirFd), spec.env, spec.stdin, fds, ipc ?? null),
        ));
        this.ipc = proc.channel;
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
      this.initPid = initPidFrom(proc.status, () => this.statusText, proc.exited);
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
      // (startLauncher set them in the launcher's environment, which the config replaces)
      const env = options.ipc ? { ...spec.env, ...channelEnv(options.ipc, IPC_CHANNEL_FD) } : spec.env;
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
    this.runningSince = performance.now();
    // The deadlines count from the gate's release: armed before the next job's spare is made (a few
    // ms of synchronous work on a busy host), which would otherwise lengthen this job's timeout.
    let clockStarted = false;
    const startClock = (): void => {
      if (clockStarted || this.termination) return;
      clockStarted = true;
      this.runningSince = performance.now();
      if (spec.timeoutMs !== null)
        this.timers.push(setDeadline(() => this.terminate('wall-timeout'), spec.timeoutMs));
    };
    if (!options.holdClock) startClock();
    this.timers.push(setInterval(() => this.poll(), POLL_MS));
    this.mark('deadlines armed');
    // the job runs now and this thread would wait idle: start the next job's launcher meanwhile
    // (its init made ahead with this job's namespace choices: the next job is most likely alike)
    if (options.prepareNext !== false) {
      this.sandbox.prepareSpare(
        options.ipc ?? null,
        this.plan?.noNamespaces ? null : { userns: spec.userns, joins: options.netnsFd !== undefined },
        spec.limits,
      );
      this.mark('next spare');
    }

    const onAbort = (): void => this.terminate('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort(); // aborted while the gate opened: the listener came too late
    options.onStart?.({
      launcherPid: pid,
      initPid: () => this.initPid,
      signal: (sig) => this.pidfd?.signal(sig),
      abort: onAbort,
      ipc: this.ipc,
      pause: () => this.pause(),
      resume: () => this.resume(),
      cpuMs: () => (this.cgroup ? this.cgroup.cpuUsageNs() / 1e6 : 0),
      startClock,
    });

    const exit = await proc.exited;
    this.mark('exited');
    const wallMs = performance.now() - this.runningSince;
    for (const timer of this.timers) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (this.killing) await this.killing;
    // counters read on the launcher's last line are final, a kill's or not: every process is gone by then
    const stats = this.earlyStats ?? cgroup.stats();
    this.mark('stats');
    return this.result(
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
    if (this.earlyStats !== null) return;
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
          this.snapshot = captureProcesses(pids.filter((pid) => pid !== launcherPid));
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

  /** The job's result, from what this run saw; the filesystem is read first (it may write back). */
  private result(
    wallMs: number,
    stats: CgroupStats,
    reports: LauncherReport[],
    launcherCode: number | null,
  ): JobResult {
    // before the filesystem report: a write-back must not be counted as the job's
    const disk = this.scratch?.disk ? jobDisk(this.scratch.disk, reports) : null;
    const filesystem = this.filesystem(reports, disk?.capReached ?? null);
    this.mark('filesystem');
    return buildResult({
      spec: this.spec,
      startedAt: this.startedAt,
      wallMs,
      stats,
      reports,
      launcherCode,
      termination: this.termination,
      processTree: this.snapshot && parseSnapshot(this.snapshot),
      sampledPidsPeak: this.sampledPidsPeak,
      cgroupVersion: this.driver.version,
      stdout: this.stdout,
      stderr: this.stderr,
      filesystem,
      disk,
      ...this.pauseWindows(),
      ...this.traceOf(reports),
      placement: this.sandbox.support.placement,
      plan: this.plan,
    });
  }

  /**
   * What the job saw of the host's files and, in overlay mode, what it wrote outside its workdir —
   * read now: every process of the job is gone, its scratch (with the upper layers) not yet removed.
   */
  private filesystem(reports: LauncherReport[], capReached: JobDisk['capReached']): JobFilesystem {
    return readJobFilesystem({
      spec: this.spec,
      noNamespaces: this.plan?.noNamespaces ?? false,
      scratch: this.scratch,
      reports,
      notOverlaid: this.notOverlaid,
      overlaidVolumes: this.overlaidVolumes,
      derivedOutputs: this.options.derivedOutputs,
      wholeWorkdir: this.plan?.workdirCapped ? { capReached } : null,
      mark: (phase) => this.mark(phase),
    });
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
}

class AbortedBeforeStart extends Error {
  constructor() {
    super('aborted before start');
  }
}
