// The one interface both cgroup drivers (v1.ts, v2.ts) implement. The sandbox lifecycle talks only
// to these types, never to cgroup files directly, so a job takes the same path on either version.

export type CgroupVersion = 1 | 2;

/** Caps for one job, already parsed into kernel units. Absent means "no cap". */
export interface CgroupLimits {
  /** Hard memory cap in bytes (v1 memory.limit_in_bytes, v2 memory.max). */
  memoryBytes?: number;
  /**
   * Docker's --memory-swap: memory + swap in bytes, or -1 for unlimited swap. Absent: swap off for
   * the job (v1 memsw = memory limit, v2 memory.swap.max 0). Only meaningful with memoryBytes.
   */
  memorySwapBytes?: number;
  /** CPU quota in CPUs (0.5 = 50 ms per 100 ms period). */
  cpus?: number;
  /** Relative CPU weight in Docker's cpu-shares units (2..262144, default 1024); v2 converts to cpu.weight. */
  cpuShares?: number;
  /** cpuset list such as "0-1" or "0,2". */
  cpusetCpus?: string;
  /** Maximum number of tasks (processes and threads) in the cgroup. */
  pidsLimit?: number;
  /** Block-I/O weight 10..1000 (v1 blkio.weight or blkio.bfq.weight, v2 io.weight / io.bfq.weight). */
  blkioWeight?: number;
}

/** What the kernel counted for one job cgroup. null: this host's kernel does not count it. */
export interface CgroupStats {
  cpu: { totalNs: number; userNs: number; systemNs: number };
  memory: {
    /** High-water mark of the cgroup's memory (v1 max_usage_in_bytes, v2 memory.peak). */
    peakBytes: number | null;
    /** Times the memory cap was hit (v1 memory.failcnt, v2 memory.events `max`). */
    failcnt: number;
    /** Processes the kernel OOM-killed in this cgroup (v1 oom_control `oom_kill`, v2 memory.events `oom_kill`). */
    oomKills: number;
    limitBytes: number | null;
  };
  /** refused: forks refused at the cap (pids.events `max`); null where the kernel keeps no count. */
  pids: { peak: number | null; limit: number | null; refused: number | null };
  /** Bytes read and written through the block layer, where the io/blkio controller counts them. */
  io: { readBytes: number; writeBytes: number } | null;
  /** v2 pressure stall totals (cpu/memory/io.pressure); null on v1 or a kernel without PSI. */
  pressure: CgroupPressure | null;
}

/** Time stalled, in microseconds: `some` = at least one task waited, `full` = all of them did. */
export interface PressureTotals {
  someUs: number;
  /** null where the kernel has no `full` line (cpu before 5.13). */
  fullUs: number | null;
}

export interface CgroupPressure {
  cpu: PressureTotals | null;
  memory: PressureTotals | null;
  io: PressureTotals | null;
}

/** A snapshot taken while the cgroup is frozen, before the kill. */
export type FrozenHook = (pids: readonly number[]) => void | Promise<void>;

export interface KillOptions {
  /** Pids the kill leaves alone (the launcher, which reaps the rest and reports). */
  spare?: readonly number[];
  onFrozen?: FrozenHook;
}

export interface JobCgroup {
  /** Leaf name, unique within the instance parent. */
  readonly name: string;
  /** Every directory that makes up this job cgroup (v1: one per hierarchy in use; v2: one). */
  readonly paths: readonly string[];
  /** Moves a process into the cgroup in every hierarchy (writes cgroup.procs). Synchronous: it is on the hot path. */
  addProcess(pid: number): void;
  /**
   * addProcess off the calling thread, all hierarchies at once: a cgroup.procs write can wait for an
   * RCU grace period (milliseconds), which must not stall the event loop when nothing waits on it.
   */
  addProcessAsync(pid: number): Promise<void>;
  /**
   * An fd (this process's, close-on-exec) of the cgroup's directory, for a launcher to clone the job's
   * init straight into (cgroup v2's CLONE_INTO_CGROUP): no process then needs moving in, and no
   * cgroup.procs write waits for its RCU grace period. Absent where a process must be moved (v1, no
   * cgroup). The caller closes it.
   */
  openForClone?(): number;
  /** Total CPU time used so far in ns (v1 cpuacct.usage, v2 cpu.stat usage_usec). Cheap; polled for --cpu-time. */
  cpuUsageNs(): number;
  /** OOM kills so far (cheap; polled). */
  oomKills(): number;
  /** Current task count where the pids controller exists, else the number of processes listed. */
  tasksCurrent(): number;
  /** Pids of every process in the cgroup (cgroup.procs). */
  procs(): number[];
  /**
   * Ends every process in the cgroup: freeze → onFrozen(pids) → SIGKILL each (but those in `spare`)
   * → thaw. On v2 `cgroup.kill` is the second layer for anything that survives. Always thaws, also on
   * error. Resolves once the signals are delivered; the caller waits for emptiness with waitEmpty().
   */
  killAll(options?: KillOptions): Promise<void>;
  /**
   * Pauses every process in the cgroup (v1 freezer.state FROZEN, v2 cgroup.freeze 1; without a
   * cgroup SIGSTOP down the tree) and resolves once the kernel says they are all stopped; false when
   * it could not be done (no freezer, or a tree forking too fast to catch), with nothing left paused.
   */
  pause(): Promise<boolean>;
  /** Lets a paused cgroup run on (a killAll resumes it too). */
  resume(): void;
  /** Resolves when no process is left in the cgroup, or rejects after timeoutMs. */
  waitEmpty(timeoutMs: number): Promise<void>;
  /**
   * killAll for an exit handler, which gets no more turns of the event loop: thaw (a kill may have
   * been left frozen mid-snapshot), SIGKILL every process, and wait synchronously until the cgroup
   * is empty; throws after timeoutMs. No freeze: the launcher and the job's init are among the
   * processes, and the kernel ends a PID namespace whole when its init dies.
   */
  killAllSync(timeoutMs: number): void;
  stats(): CgroupStats;
  /** Removes every directory of this job cgroup, children first, retrying EBUSY with a short backoff. */
  destroy(): Promise<void>;
}

export interface SweepReport {
  /** Instance parents whose owner process was gone and that were removed. */
  removed: string[];
  /** Processes killed inside them (started by an earlier ringfence that died). */
  killedPids: number[];
}

export interface CgroupDriver {
  /** null: the no-cgroup driver (none.ts), whose jobs are process trees. */
  readonly version: CgroupVersion | null;
  /** Controllers a job cgroup can use here (e.g. memory, cpu, cpuacct, pids, freezer, cpuset, blkio / io). */
  readonly controllers: ReadonlySet<string>;
  /** The `ringfence-<instance>` parent directories (one per hierarchy on v1). */
  readonly instancePaths: readonly string[];
  /**
   * Creates a job cgroup and applies the limits. Throws CgroupError naming the cap and the fix when a
   * requested cap cannot be given here (controller missing or not delegated). Rolls back what it made
   * if it fails half-way.
   */
  create(limits: CgroupLimits): JobCgroup;
  /**
   * Applies limits to a job cgroup that create({}) made ahead of time (the harness prepares the next
   * job's cgroup, with its launcher already inside, while the current job runs). Returns false when
   * that cgroup cannot carry these caps (v1: a hierarchy it never joined) and create() must be used.
   * Throws CgroupError as create() does.
   */
  applyToSpare(job: JobCgroup, limits: CgroupLimits): boolean;
  /** Removes stale `ringfence-*` parents whose owner process is gone (killing what they hold). */
  sweepStale(): Promise<SweepReport>;
  /**
   * Kills and removes the job cgroups of worker thread `thread` of this process (named
   * `job-<thread>-…`): a thread that died mid-job, whose jobs no sweep would call stale while the
   * process lives. Its siblings' jobs in the same parent are left alone.
   */
  reapThread(thread: number): Promise<SweepReport>;
  /** Removes this instance's parent directories (they must be empty of job cgroups). Idempotent. */
  dispose(): void;
}

/** A cgroup problem with the fix spelled out; `cap` names the flag it concerns when there is one. */
export class CgroupError extends Error {
  constructor(
    message: string,
    readonly fix: string,
    readonly cap?: string,
  ) {
    super(`${message} — ${fix}`);
    this.name = 'CgroupError';
  }
}
