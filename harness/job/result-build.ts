// A job's result, built once from what its run saw (buildResult), and the result of a job that
// never ran (failedToStart): the figures, the status and the one-line reason the results schema
// (reporters/types.ts) carries. Pure: nothing here touches the job or the host.
import { describePlacement, type Placement } from '../cgroup/index.js';
import { CgroupError, type CgroupStats, type PressureTotals } from '../cgroup/types.js';
import type { JobPlan } from './enforce.js';
import { diskCapText } from './disk-figures.js';
import { formatBytes, formatDuration } from './format.js';
import { signalName, launcherErrorMessage, type LauncherReport, type TaskIo } from '../launch/status.js';
import type {
  JobDisk,
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
import type { JobSpec } from './spec.js';
import type { BoundedCapture } from './capture.js';

/** What a job's run saw, as its result needs it. */
export interface RunFacts {
  spec: JobSpec;
  startedAt: Date;
  wallMs: number;
  stats: CgroupStats;
  reports: LauncherReport[];
  /** The launcher's exit code (128 + its signal), for a launcher that said nothing of the job's end. */
  launcherCode: number | null;
  termination: Termination | null;
  processTree: ProcessInfo[] | null;
  /** The task count's peak as polled, where the kernel keeps none. */
  sampledPidsPeak: number;
  cgroupVersion: 1 | 2 | null;
  stdout: BoundedCapture;
  stderr: BoundedCapture;
  filesystem: JobFilesystem;
  /** --disk / --files, where enforced: what the job left in its capped filesystem. */
  disk?: JobDisk | null;
  pauses?: { atMs: number; forMs: number }[];
  trace?: { phase: string; ms: number }[];
  placement: Placement;
  plan: JobPlan | null;
}

/** A job's result, from what its run saw (job/run.ts). */
export function buildResult(facts: RunFacts): JobResult {
  const { spec, stats, reports, launcherCode, termination, processTree } = facts;
  // without a cgroup, CPU and peak memory are the launcher's whole-tree rusage (it reaped them all)
  const byRusage = facts.cgroupVersion === null;
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
  } else if (termination === 'abort') status = 'aborted';
  else if (termination) status = 'timeout';
  else if (outcome?.kind === 'exit') status = outcome.code === 0 ? 'passed' : oomKills > 0 ? 'oom' : 'failed';
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
  const described = describe(status, {
    spec,
    exitCode,
    signal,
    error,
    termination: termination,
    memoryLimit,
    peak,
    cpuMs: cpu.totalNs / 1e6,
    killed: processTree?.length ?? 0,
  });
  // a job that failed at a disk cap says so first, as an OOM kill names the memory cap
  const capText = status === 'passed' ? null : diskCapText(facts.disk ?? undefined);
  const reason = capText ? `${capText} (${described})` : described;
  const rusage = outcome?.kind === 'exit' || outcome?.kind === 'signal' ? outcome : null;
  return {
    name: spec.name,
    command: spec.command,
    status,
    exitCode,
    signal,
    reason,
    termination: termination,
    startedAt: facts.startedAt.toISOString(),
    wallMs: round(facts.wallMs),
    ...(facts.pauses ? { pauses: facts.pauses } : {}),
    ...(facts.trace ? { trace: facts.trace } : {}),
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
      peak: stats.pids.peak ?? (facts.sampledPidsPeak || null),
      limit: spec.limits.pidsLimit ?? null,
      refused: stats.pids.refused,
    },
    ...(facts.disk ? { disk: facts.disk } : {}),
    io: jobIo(rusage?.io ?? null, stats.io),
    limits: { timeoutMs: spec.timeoutMs, cpuTimeMs: spec.cpuTimeMs, cpus: spec.limits.cpus ?? null },
    stdout: facts.stdout.text(),
    stderr: facts.stderr.text(),
    stdoutTruncated: facts.stdout.truncated,
    stderrTruncated: facts.stderr.truncated,
    error,
    pressure: jobPressure(stats.pressure),
    enforcement: jobEnforcement(facts.placement, facts.plan, byRusage),
    filesystem: facts.filesystem,
    diagnostics: { cgroupVersion: facts.cgroupVersion, processTree: processTree },
  };
}

/** What this host enforced for the job, and where its figures come from. */
function jobEnforcement(placement: Placement, plan: JobPlan | null, byRusage: boolean): JobEnforcement {
  return {
    placement: placement.kind,
    where: describePlacement(placement),
    namespaces: plan?.noNamespaces ? 'none' : plan?.userns ? 'userns' : 'all',
    notEnforced: plan?.notEnforced.map((i) => i.what) ?? [],
    figures: byRusage ? 'rusage' : 'cgroup',
  };
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

export function round(n: number): number {
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
