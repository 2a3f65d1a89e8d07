// cgroup v1 driver: one directory per hierarchy, small per-controller helpers as runc's fs package.
// A job joins memory, cpuacct, pids, freezer and blkio (those mounted) always, for accounting and the
// kill; cpu and cpuset only when a cap needs them, because every hierarchy is one more mkdir, write
// and rmdir per job.
import path from 'node:path';
import {
  CgroupError,
  type CgroupDriver,
  type CgroupLimits,
  type CgroupStats,
  type JobCgroup,
  type SweepReport,
} from './types.js';
import {
  CAP_FLAGS,
  capControllers,
  checkLimits,
  mkdirError,
  mkdirJob,
  requestedCaps,
  withRollback,
  writeLimit,
} from './common.js';
import {
  cgroupDir,
  errnoOf,
  exists,
  kernelDirOps,
  readOptional,
  readText,
  removeJobDirs,
  removeTreeSync,
  rmdirWithBackoffSync,
  childDirs,
  sleep,
  writeText,
  type DirOps,
} from './fsutil.js';
import { nextJobName, threadJobPrefix } from './instance.js';
import { KillableCgroup, spinUntil, writeThaw } from './kill.js';
import { reapJobs, removeInstance, sweepStaleInstances } from './sweep.js';
import { errnoName } from '../../native/bindings.js';
import { WriteEachError, writeEachNative } from '../../native/spawn.js';
import {
  parseFlatKeyed,
  parseLimit,
  parseNumber,
  parsePids,
  refusedForks,
  sumBlkioServiceBytes,
} from './parse.js';

export interface V1HierarchyConfig {
  /** Controllers co-mounted in this hierarchy (["cpu", "cpuacct"] counts as one hierarchy). */
  controllers: readonly string[];
  mountPoint: string;
  /** Where instance parents go, relative to the mount point: the own cgroup or --cgroup-parent. */
  basePath: string;
}

export interface V1DriverOptions {
  hierarchies: readonly V1HierarchyConfig[];
  /** `ringfence-<pid>-<starttime>-<threadId>`. */
  instanceName: string;
  /** basePath came from --cgroup-parent: create it where missing (as Docker does) instead of failing. */
  explicitParent?: boolean;
  /** For the stale-owner check (tests); default /proc. */
  procRoot?: string;
}

/**
 * Hierarchies every job joins (when mounted): memory, pids and cpuacct for the caps and accounting,
 * freezer for the kill, blkio for I/O bytes. cpu (quota, shares) and cpuset only when a cap needs them.
 */
const ALWAYS = ['memory', 'cpuacct', 'pids', 'freezer', 'blkio'] as const;
/** The controllers this driver uses at all. */
const USED = new Set<string>([...ALWAYS, 'cpu', 'cpuset']);

/** The v1 controller each cap needs (job/enforce.ts asks it too). */
export const CAP_CONTROLLER = capControllers('blkio');

const CFS_PERIOD_US = 100_000;
/** cpuacct.stat counts in USER_HZ, which is 100 on every Linux ABI. */
const NS_PER_USER_HZ_TICK = 10_000_000;

/** runc fs/freezer.go: polls per freeze attempt before thawing and trying again. */
const FREEZE_POLLS = 10;
const FREEZE_ROUNDS = 20;

interface Hierarchy {
  controllers: readonly string[];
  mountPoint: string;
  base: string;
  instance: string;
  ready: boolean;
}

/** What a job occupies: controller → directory (co-mounted controllers share one). */
type JobDirs = ReadonlyMap<string, string>;

export class V1Driver implements CgroupDriver {
  readonly version = 1 as const;
  readonly controllers: ReadonlySet<string>;
  readonly instancePaths: readonly string[];
  private readonly byController = new Map<string, Hierarchy>();
  private readonly hierarchies: Hierarchy[] = [];
  private readonly live = new Set<V1Job>();

  constructor(
    private readonly options: V1DriverOptions,
    private readonly ops: DirOps = kernelDirOps,
  ) {
    for (const h of options.hierarchies) {
      if (!h.controllers.some((c) => USED.has(c))) continue;
      const base = cgroupDir(h.mountPoint, h.basePath);
      const hierarchy: Hierarchy = {
        controllers: h.controllers,
        mountPoint: h.mountPoint,
        base,
        instance: path.join(base, options.instanceName),
        ready: false,
      };
      this.hierarchies.push(hierarchy);
      for (const c of h.controllers) if (USED.has(c)) this.byController.set(c, hierarchy);
    }
    this.controllers = new Set(this.byController.keys());
    this.instancePaths = this.hierarchies.map((h) => h.instance);
  }

  create(limits: CgroupLimits): JobCgroup {
    this.checkAvailable(limits);
    const wanted = new Set<Hierarchy>();
    for (const c of ALWAYS) {
      const h = this.byController.get(c);
      if (h !== undefined) wanted.add(h);
    }
    const cpuset = this.byController.get('cpuset');
    if (limits.cpusetCpus !== undefined && cpuset !== undefined) wanted.add(cpuset);
    const cpu = this.byController.get('cpu');
    if ((limits.cpus !== undefined || limits.cpuShares !== undefined) && cpu !== undefined) wanted.add(cpu);

    for (const h of wanted) this.ensureInstance(h);

    const name = nextJobName();
    const made: string[] = [];
    const dirs = new Map<string, string>();
    withRollback(made, this.ops, () => {
      for (const h of wanted) {
        const dir = path.join(h.instance, name);
        mkdirJob(dir, this.ops, () => {
          h.ready = false;
          this.ensureInstance(h);
        });
        made.push(dir);
        for (const c of h.controllers) if (USED.has(c)) dirs.set(c, dir);
      }
      applyLimits(dirs, limits);
    });
    const job = new V1Job(name, dirs, this.ops, () => this.live.delete(job));
    this.live.add(job);
    return job;
  }

  applyToSpare(job: JobCgroup, limits: CgroupLimits): boolean {
    if (!(job instanceof V1Job)) return false;
    this.checkAvailable(limits);
    // caps of the cpu and cpuset hierarchies need a directory the spare never joined
    const needed = requestedCaps(limits).map(([key]) => CAP_CONTROLLER[key]);
    if (!needed.every((controller) => job.dirs.has(controller))) return false;
    applyLimits(job.dirs, limits);
    return true;
  }

  sweepStale(): Promise<SweepReport> {
    const bases = this.hierarchies.map((h) => h.base);
    return sweepStaleInstances(bases, this.options.instanceName, this.options.procRoot, (dirs, report) =>
      this.sweepInstance(dirs, report),
    );
  }

  reapThread(thread: number): Promise<SweepReport> {
    const prefix = threadJobPrefix(thread);
    const instanceDirs = this.hierarchies.map((h) => h.instance).filter(exists);
    const jobNames = new Set(
      instanceDirs
        .flatMap((dir) => childDirs(dir).map((d) => path.basename(d)))
        .filter((n) => n.startsWith(prefix)),
    );
    return reapJobs([...jobNames].map((name) => new V1Job(name, this.dirsOf(instanceDirs, name), this.ops)));
  }

  /** Kills what one instance parent (a directory per hierarchy) holds, then removes it. */
  private sweepInstance(instanceDirs: readonly string[], report: SweepReport): Promise<void> {
    const jobNames = new Set(instanceDirs.flatMap((dir) => childDirs(dir).map((d) => path.basename(d))));
    const jobs = [...jobNames].map((name) => new V1Job(name, this.dirsOf(instanceDirs, name), this.ops));
    const parent = new V1Job('', this.dirsOf(instanceDirs, ''), this.ops);
    return removeInstance(jobs, parent, instanceDirs, this.ops, report);
  }

  dispose(): void {
    for (const job of this.live) {
      // jobs the caller forgot: empty ones can go, populated ones make the rmdir below fail loudly
      for (const dir of job.paths) removeTreeSync(dir, this.ops, 100);
    }
    this.live.clear();
    for (const h of this.hierarchies) {
      // the parent is the whole process's: another thread's jobs keep it, and that thread's dispose
      // (the last one out) removes it
      if (childDirs(h.instance).length === 0) rmdirWithBackoffSync(h.instance, this.ops);
      h.ready = false;
    }
  }

  private checkAvailable(limits: CgroupLimits): void {
    checkLimits(limits);
    for (const [key, cap] of requestedCaps(limits)) {
      const controller = CAP_CONTROLLER[key];
      if (!this.byController.has(controller)) {
        throw new CgroupError(
          `${cap} needs the ${controller} controller, and no cgroup v1 hierarchy here carries it (/proc/self/mountinfo)`,
          `mount it (mount -t cgroup -o ${controller} cgroup /sys/fs/cgroup/${controller}) or drop ${cap}`,
          cap,
        );
      }
    }
  }

  /** controller → `<instanceDir>/<jobName>` for the hierarchies where that directory exists. */
  private dirsOf(instanceDirs: readonly string[], jobName: string): Map<string, string> {
    const dirs = new Map<string, string>();
    for (const h of this.hierarchies) {
      const instanceDir = instanceDirs.find((d) => path.dirname(d) === h.base);
      if (instanceDir === undefined) continue;
      const dir = path.join(instanceDir, jobName);
      if (!exists(dir)) continue;
      for (const c of h.controllers) if (USED.has(c)) dirs.set(c, dir);
    }
    return dirs;
  }

  /** Creates the instance parent in one hierarchy the first time a job needs it. */
  private ensureInstance(h: Hierarchy): void {
    if (h.ready) return;
    const isCpuset = h.controllers.includes('cpuset');
    if (!exists(h.base)) {
      if (!this.options.explicitParent) {
        throw new CgroupError(
          `the harness's own cgroup ${h.base} does not exist`,
          'it was removed while ringfence ran; restart it',
        );
      }
      this.makeParents(h.base, h.mountPoint, isCpuset);
    }
    try {
      this.ops.mkdir(h.instance);
    } catch (err) {
      // EEXIST: another thread of this process (or an undisposed driver of this one) made it: shared
      if (errnoOf(err) !== 'EEXIST') throw mkdirError(h.instance, err);
    }
    if (isCpuset) inheritCpuset(h.instance, '--cpuset-cpus');
    h.ready = true;
  }

  /** mkdir -p below the mount point for --cgroup-parent; cpuset levels get the parent's cpus/mems. */
  private makeParents(dir: string, mountPoint: string, isCpuset: boolean): void {
    if (exists(dir) || path.relative(mountPoint, dir) === '') return;
    this.makeParents(path.dirname(dir), mountPoint, isCpuset);
    try {
      this.ops.mkdir(dir);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw mkdirError(dir, err);
    }
    if (isCpuset) inheritCpuset(dir, '--cgroup-parent');
  }
}

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems and refuses tasks (ENOSPC)
 * until both are set: copy them from the parent, as runc's cpuset ensureParent does.
 */
function inheritCpuset(dir: string, cap: string): void {
  const parent = path.dirname(dir);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = readText(path.join(dir, file)).trim();
    if (own !== '') continue;
    const value = readText(path.join(parent, file)).trim();
    writeLimit(cap, path.join(dir, file), value);
  }
}

function applyLimits(dirs: JobDirs, limits: CgroupLimits): void {
  const memory = dirs.get('memory');
  if (memory !== undefined && limits.memoryBytes !== undefined) {
    applyMemory(memory, limits.memoryBytes, limits.memorySwapBytes);
  }
  const cpu = dirs.get('cpu');
  if (cpu !== undefined) {
    if (limits.cpus !== undefined) {
      const quota = Math.round(limits.cpus * CFS_PERIOD_US);
      writeLimit(CAP_FLAGS.cpus, path.join(cpu, 'cpu.cfs_period_us'), CFS_PERIOD_US);
      writeLimit(CAP_FLAGS.cpus, path.join(cpu, 'cpu.cfs_quota_us'), quota, 'pass --cpus of at least 0.01');
    }
    if (limits.cpuShares !== undefined) {
      writeLimit(
        CAP_FLAGS.cpuShares,
        path.join(cpu, 'cpu.shares'),
        limits.cpuShares,
        'pass --cpu-shares 2..262144',
      );
    }
  }
  const cpuset = dirs.get('cpuset');
  if (cpuset !== undefined && limits.cpusetCpus !== undefined) {
    const parentCpus = readText(path.join(path.dirname(cpuset), 'cpuset.cpus')).trim();
    writeLimit(
      CAP_FLAGS.cpusetCpus,
      path.join(cpuset, 'cpuset.cpus'),
      limits.cpusetCpus,
      `pass --cpuset-cpus within ${parentCpus} (the CPUs of the parent cgroup)`,
      // the kernel says EACCES for CPUs outside the parent's; as root it cannot mean a permission
      process.getuid?.() === 0 ? ['EACCES'] : [],
    );
    const mems = readText(path.join(path.dirname(cpuset), 'cpuset.mems')).trim();
    writeLimit(CAP_FLAGS.cpusetCpus, path.join(cpuset, 'cpuset.mems'), mems);
  }
  const pids = dirs.get('pids');
  if (pids !== undefined && limits.pidsLimit !== undefined) {
    writeLimit(
      CAP_FLAGS.pidsLimit,
      path.join(pids, 'pids.max'),
      limits.pidsLimit,
      'pass a positive --pids-limit',
    );
  }
  const blkio = dirs.get('blkio');
  if (blkio !== undefined && limits.blkioWeight !== undefined) {
    // CFQ (gone since 5.0) had blkio.weight; BFQ has blkio.bfq.weight; other schedulers neither
    const file = ['blkio.weight', 'blkio.bfq.weight'].map((f) => path.join(blkio, f)).find((f) => exists(f));
    if (file === undefined) {
      throw new CgroupError(
        `--blkio-weight needs a proportional I/O scheduler, and ${blkio} has neither blkio.weight nor blkio.bfq.weight`,
        'switch the disk to bfq (echo bfq > /sys/block/<disk>/queue/scheduler) or drop --blkio-weight',
        CAP_FLAGS.blkioWeight,
      );
    }
    writeLimit(CAP_FLAGS.blkioWeight, file, limits.blkioWeight, 'pass --blkio-weight 10..1000');
  }
}

/**
 * The kernel keeps memsw ≥ memory at every step, so: memsw = -1 (lifts it), memory, then memsw =
 * memory (swap off) or the swap total asked for. No memsw file (swapaccount=0): swap cannot be
 * limited, so an explicit swap cap is an error while "swap off" is skipped.
 */
function applyMemory(dir: string, memoryBytes: number, memorySwapBytes: number | undefined): void {
  const memsw = path.join(dir, 'memory.memsw.limit_in_bytes');
  const hasMemsw = exists(memsw);
  if (!hasMemsw && memorySwapBytes !== undefined && memorySwapBytes !== -1) {
    throw new CgroupError(
      '--memory-swap needs swap accounting, and this kernel has no memory.memsw.limit_in_bytes',
      'boot with swapaccount=1 (CONFIG_MEMCG_SWAP) or drop --memory-swap',
      CAP_FLAGS.memorySwapBytes,
    );
  }
  if (hasMemsw) writeLimit(CAP_FLAGS.memorySwapBytes, memsw, -1);
  writeLimit(
    CAP_FLAGS.memoryBytes,
    path.join(dir, 'memory.limit_in_bytes'),
    memoryBytes,
    'pass a larger --memory',
  );
  if (hasMemsw) writeLimit(CAP_FLAGS.memorySwapBytes, memsw, memorySwapBytes ?? memoryBytes);
}

class V1Job extends KillableCgroup implements JobCgroup {
  readonly paths: readonly string[];
  private readonly procsFiles: readonly string[];
  /** freezer.state, where the freezer hierarchy is mounted. */
  private readonly freezerState: string | undefined;
  /** The freezer's cgroup.procs: what a freeze stopped. */
  private readonly freezerProcs: string | undefined;
  private readonly cpuacct: string | undefined;
  private readonly memory: string | undefined;
  private readonly pids: string | undefined;
  private readonly blkio: string | undefined;

  constructor(
    readonly name: string,
    /** controller → directory; the driver's applyToSpare reads it. */
    readonly dirs: JobDirs,
    private readonly ops: DirOps,
    private readonly onDestroyed: () => void = () => undefined,
  ) {
    super();
    this.paths = [...new Set(dirs.values())];
    this.procsFiles = this.paths.map((d) => path.join(d, 'cgroup.procs'));
    const freezer = dirs.get('freezer');
    this.freezerState = freezer === undefined ? undefined : path.join(freezer, 'freezer.state');
    this.freezerProcs = freezer === undefined ? undefined : path.join(freezer, 'cgroup.procs');
    this.cpuacct = dirs.get('cpuacct');
    this.memory = dirs.get('memory');
    this.pids = dirs.get('pids');
    this.blkio = dirs.get('blkio');
  }

  addProcess(pid: number): void {
    for (const file of this.procsFiles) {
      try {
        writeText(file, String(pid));
      } catch (err) {
        throw new CgroupError(
          `cannot move pid ${pid} into ${path.dirname(file)} (${errnoOf(err) ?? String(err)})`,
          errnoOf(err) === 'ESRCH'
            ? 'the process exited before it joined'
            : 'check the cgroup still exists and is writable',
        );
      }
    }
  }

  async addProcessAsync(pid: number): Promise<void> {
    // one trip to a worker thread for every hierarchy (each write waits for an RCU grace period, the
    // first one most), not a promise chain per file, whose hops cost the harness CPU on every job
    try {
      await writeEachNative(this.procsFiles, String(pid));
    } catch (err) {
      const where = err instanceof WriteEachError ? path.dirname(err.path) : this.paths.join(', ');
      const why = err instanceof WriteEachError ? errnoName(err.errno) : String(err);
      throw new CgroupError(
        `cannot move pid ${pid} into ${where} (${why})`,
        why === 'ESRCH'
          ? 'the process exited before it joined'
          : 'check the cgroup still exists and is writable',
      );
    }
  }

  cpuUsageNs(): number {
    return this.cpuacct === undefined ? 0 : parseNumber(readText(path.join(this.cpuacct, 'cpuacct.usage')));
  }

  oomKills(): number {
    if (this.memory === undefined) return 0;
    return parseFlatKeyed(readText(path.join(this.memory, 'memory.oom_control'))).get('oom_kill') ?? 0;
  }

  tasksCurrent(): number {
    if (this.pids !== undefined) return parseNumber(readText(path.join(this.pids, 'pids.current')));
    return this.procs().length;
  }

  /** Union over hierarchies: a process half-moved by a failed addProcess is still found and killed. */
  procs(): number[] {
    const all = new Set<number>();
    for (const file of this.procsFiles) {
      const text = readOptional(file);
      if (text !== null) for (const pid of parsePids(text)) all.add(pid);
    }
    return [...all];
  }

  stats(): CgroupStats {
    const read = (dir: string | undefined, file: string): string | null =>
      dir === undefined ? null : readOptional(path.join(dir, file));
    const num = (text: string | null): number | null => (text === null ? null : parseNumber(text));

    const total = num(read(this.cpuacct, 'cpuacct.usage')) ?? 0;
    let userNs = num(read(this.cpuacct, 'cpuacct.usage_user'));
    let systemNs = num(read(this.cpuacct, 'cpuacct.usage_sys'));
    if (userNs === null || systemNs === null) {
      // kernels before 4.6 split only in cpuacct.stat, in USER_HZ ticks
      const stat = parseFlatKeyed(read(this.cpuacct, 'cpuacct.stat') ?? '');
      userNs = (stat.get('user') ?? 0) * NS_PER_USER_HZ_TICK;
      systemNs = (stat.get('system') ?? 0) * NS_PER_USER_HZ_TICK;
    }

    const limit = read(this.memory, 'memory.limit_in_bytes');
    const pidsMax = read(this.pids, 'pids.max');
    const ioText = read(this.blkio, 'blkio.throttle.io_service_bytes_recursive');
    return {
      cpu: { totalNs: total, userNs, systemNs },
      memory: {
        peakBytes: num(read(this.memory, 'memory.max_usage_in_bytes')),
        // with swap capped, memsw is charged first and its counter takes the hit; a charge fails
        // at one of the two, so the sum counts each failure once
        failcnt:
          (num(read(this.memory, 'memory.failcnt')) ?? 0) +
          (num(read(this.memory, 'memory.memsw.failcnt')) ?? 0),
        oomKills: parseFlatKeyed(read(this.memory, 'memory.oom_control') ?? '').get('oom_kill') ?? 0,
        limitBytes: limit === null ? null : parseLimit(limit),
      },
      pids: {
        peak: num(read(this.pids, 'pids.peak')),
        limit: pidsMax === null ? null : parseLimit(pidsMax),
        refused: refusedForks(read(this.pids, 'pids.events')),
      },
      io: ioText === null ? null : sumBlkioServiceBytes(ioText),
      pressure: null,
    };
  }

  async destroy(): Promise<void> {
    await removeJobDirs(this.paths, this.ops);
    this.onDestroyed();
  }

  /**
   * runc fs/freezer.go: write FROZEN, poll every 1 ms; a cgroup whose tasks keep forking can stay in
   * FREEZING, so after FREEZE_POLLS thaw (letting the forks finish) and try again.
   */
  protected async freeze(): Promise<boolean> {
    const state = this.freezerState;
    if (state === undefined) return false;
    for (let round = 0; round < FREEZE_ROUNDS; round++) {
      writeText(state, 'FROZEN');
      spinUntil(() => readText(state).trim() !== 'FREEZING');
      for (let poll = 0; poll < FREEZE_POLLS; poll++) {
        const now = readText(state).trim();
        if (now === 'FROZEN') return true;
        if (now !== 'FREEZING') return false;
        await sleep(1);
      }
      writeText(state, 'THAWED');
      await sleep(1);
    }
    return false;
  }

  protected thaw(): void {
    if (this.freezerState !== undefined) writeThaw(this.freezerState, 'THAWED');
  }

  /**
   * The freezer's own list: a process listed only in another hierarchy (half-moved) was not frozen
   * and is for the chase after the thaw; reading one file, not five, keeps the tree frozen less long.
   */
  protected override frozenProcs(): number[] {
    const text = this.freezerProcs === undefined ? null : readOptional(this.freezerProcs);
    return text === null ? this.procs() : parsePids(text);
  }

  /** v1 has no cgroup.kill: the kill path signals each listed process. */
  protected killByKernel(): boolean {
    return false;
  }

  /** v1 goes by each hierarchy's cgroup.procs alone. */
  protected holdsUnlisted(): boolean {
    return false;
  }
}
