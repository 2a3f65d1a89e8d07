// cgroup v1 driver: one directory per hierarchy, small per-controller helpers as runc's fs package;
// a job's own cgroup (its processes, counters, freezer) is v1-job.ts.
// A job joins memory, cpuacct, pids, freezer and blkio (those mounted) always, for accounting and the
// kill; cpu and cpuset only when a cap needs them, because every hierarchy is one more mkdir, write
// and rmdir per job.
import path from 'node:path';
import {
  CgroupError,
  type CgroupDriver,
  type CgroupLimits,
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
  readText,
  removeTreeSync,
  rmdirWithBackoffSync,
  childDirs,
  type DirOps,
} from './fsutil.js';
import { nextJobName, threadJobPrefix } from './instance.js';
import { V1Job, type JobDirs } from './v1-job.js';
import { reapJobs, removeInstance, sweepStaleInstances } from './sweep.js';
import { isRoot } from '../identity.js';

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
interface Hierarchy {
  controllers: readonly string[];
  mountPoint: string;
  base: string;
  instance: string;
  ready: boolean;
}

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
      isRoot() ? ['EACCES'] : [],
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
