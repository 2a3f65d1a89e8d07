// cgroup v2 driver (runc's fs2): one directory per job in the unified tree. The delegation rules
// decide what is possible: a child gets only the controllers in its parent's cgroup.subtree_control,
// and a cgroup that holds processes cannot enable any for its children. So the instance parent (which
// holds no process) enables what its parent delegates, and a cap whose controller is not delegated
// is refused with the reason and the fix instead of being dropped. A job's own cgroup is v2-job.ts's.
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
  DELEGATION_FIX,
  checkLimits,
  mkdirError,
  mkdirJob,
  requestedCaps,
  withRollback,
  writeLimit,
} from './common.js';
import {
  cgroupDir,
  childDirs,
  errnoOf,
  exists,
  kernelDirOps,
  readOptional,
  removeTreeSync,
  rmdirWithBackoffSync,
  writeText,
  type DirOps,
} from './fsutil.js';
import { nextJobName, threadJobPrefix } from './instance.js';
import { V2Job } from './v2-job.js';
import { reapJobs, removeInstance, sweepStaleInstances } from './sweep.js';
import { cpuWeightFromShares, ioWeightFromBlkioWeight, parseNameList, parsePids } from './parse.js';

export interface V2DriverOptions {
  /** The cgroup2 mount point: /sys/fs/cgroup, or a fake tree in a tmp dir for tests. */
  mountRoot: string;
  /** Where the instance parent goes, relative to mountRoot: the own cgroup or --cgroup-parent. */
  basePath: string;
  /** `ringfence-<pid>-<starttime>-<threadId>`. */
  instanceName: string;
  /**
   * basePath came from --cgroup-parent: create it where missing and enable controllers in its
   * subtree_control where it can. The harness's own cgroup is never changed (it is someone else's).
   */
  explicitParent?: boolean;
  /** For the stale-owner check (tests); default /proc. */
  procRoot?: string;
  /** mkdir/rmdir; a fake kernel in tests. */
  dirOps?: DirOps;
}

/** The controllers enabled for job cgroups, in the order written to subtree_control. */
export const WANTED = ['memory', 'cpu', 'pids', 'cpuset', 'io'] as const;

/** The v2 controller each cap needs (job/enforce.ts asks it too). */
export const CAP_CONTROLLER = capControllers('io');

const CPU_PERIOD_US = 100_000;

function describeList(names: readonly string[]): string {
  return names.length === 0 ? 'is empty' : `has only ${names.join(' ')}`;
}

export class V2Driver implements CgroupDriver {
  readonly version = 2 as const;
  readonly instancePaths: readonly string[];
  private readonly enabled = new Set<string>();
  private readonly base: string;
  private readonly instance: string;
  private readonly ops: DirOps;
  private ready = false;
  private readonly live = new Set<V2Job>();

  constructor(private readonly options: V2DriverOptions) {
    this.ops = options.dirOps ?? kernelDirOps;
    this.base = cgroupDir(options.mountRoot, options.basePath);
    this.instance = path.join(this.base, options.instanceName);
    this.instancePaths = [this.instance];
    for (const c of this.availableAtBase()) this.enabled.add(c);
  }

  /** What a job can use: before the first job, what the base passes down; after, what is enabled. */
  get controllers(): ReadonlySet<string> {
    return this.enabled;
  }

  create(limits: CgroupLimits): JobCgroup {
    checkLimits(limits);
    const needed = requestedCaps(limits).map(([key, cap]) => ({ cap, controller: CAP_CONTROLLER[key] }));
    if (!this.ready) {
      this.prepareBase();
      // refuse before anything is made: nothing to roll back for the commonest error
      this.checkDelegated(needed, this.availableAtBase());
      this.ensureInstance();
    }
    this.checkDelegated(needed, this.enabled);

    const name = nextJobName();
    const dir = path.join(this.instance, name);
    mkdirJob(dir, this.ops, () => this.ensureInstance());
    withRollback([dir], this.ops, () => applyLimits(dir, limits));
    const job = new V2Job(name, dir, this.ops, () => this.live.delete(job));
    this.live.add(job);
    return job;
  }

  applyToSpare(job: JobCgroup, limits: CgroupLimits): boolean {
    if (!(job instanceof V2Job)) return false;
    checkLimits(limits);
    const needed = requestedCaps(limits).map(([key, cap]) => ({ cap, controller: CAP_CONTROLLER[key] }));
    this.checkDelegated(needed, this.enabled);
    applyLimits(job.dir, limits);
    return true;
  }

  sweepStale(): Promise<SweepReport> {
    return sweepStaleInstances(
      [this.base],
      this.options.instanceName,
      this.options.procRoot,
      (dirs, report) => this.sweepInstance(dirs, report),
    );
  }

  reapThread(thread: number): Promise<SweepReport> {
    const prefix = threadJobPrefix(thread);
    const mine = childDirs(this.instance).filter((dir) => path.basename(dir).startsWith(prefix));
    return reapJobs(mine.map((dir) => this.jobAt(dir)));
  }

  /** One base, so one directory per stale instance: its job cgroups, then itself. */
  private async sweepInstance(instanceDirs: readonly string[], report: SweepReport): Promise<void> {
    for (const instanceDir of instanceDirs) {
      const jobs = childDirs(instanceDir).map((dir) => this.jobAt(dir));
      await removeInstance(jobs, this.jobAt(instanceDir), [instanceDir], this.ops, report);
    }
  }

  /** A cgroup found on disk (a sweep's), named after its directory. */
  private jobAt(dir: string): V2Job {
    return new V2Job(path.basename(dir), dir, this.ops);
  }

  dispose(): void {
    for (const job of this.live) removeTreeSync(job.paths[0] ?? '', this.ops, 100);
    this.live.clear();
    // the parent is the whole process's: another thread's jobs keep it, and the last one out removes it
    if (exists(this.instance) && childDirs(this.instance).length === 0)
      rmdirWithBackoffSync(this.instance, this.ops);
    this.ready = false;
  }

  /** Controllers the instance parent can get: the base's subtree_control, limited to those we use. */
  private availableAtBase(): string[] {
    const text = readOptional(path.join(this.base, 'cgroup.subtree_control'));
    const delegated = new Set(parseNameList(text ?? ''));
    return WANTED.filter((c) => delegated.has(c));
  }

  /** An explicit parent is created where missing and asked to pass controllers down; the own cgroup is left alone. */
  private prepareBase(): void {
    if (!this.options.explicitParent) {
      if (!exists(this.base)) {
        throw new CgroupError(
          `the harness's own cgroup ${this.base} does not exist`,
          'it was removed while ringfence ran; restart it',
        );
      }
      return;
    }
    this.makeParents(this.base);
    // all of them, not just what this job needs: the instance parent is set up once per driver
    enableControllers(this.base, WANTED);
  }

  private makeParents(dir: string): void {
    if (exists(dir)) return;
    const parent = path.dirname(dir);
    if (path.relative(this.options.mountRoot, parent).startsWith('..')) return;
    this.makeParents(parent);
    // the new level gets only what its parent enables: pass down what we use, where allowed
    enableControllers(parent, WANTED);
    try {
      this.ops.mkdir(dir);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw mkdirError(dir, err);
    }
  }

  private ensureInstance(): void {
    try {
      this.ops.mkdir(this.instance);
    } catch (err) {
      // EEXIST: another thread of this process (or an undisposed driver of this one) made it: shared
      if (errnoOf(err) !== 'EEXIST') throw mkdirError(this.instance, err);
    }
    this.enabled.clear();
    for (const c of enableControllers(this.instance, this.availableAtBase())) this.enabled.add(c);
    this.ready = true;
  }

  private checkDelegated(
    needed: readonly { cap: string; controller: string }[],
    have: Iterable<string>,
  ): void {
    const haveSet = new Set(have);
    const missing = needed.find((n) => !haveSet.has(n.controller));
    if (missing === undefined) return;
    const { cap, controller } = missing;
    const rel = this.options.basePath;
    const baseControllers = parseNameList(readOptional(path.join(this.base, 'cgroup.controllers')) ?? '');
    const baseSubtree = parseNameList(readOptional(path.join(this.base, 'cgroup.subtree_control')) ?? '');
    let reason: string;
    if (!baseControllers.includes(controller)) {
      reason =
        path.relative(this.options.mountRoot, this.base) === ''
          ? `this kernel offers no ${controller} controller on cgroup v2 (the root's cgroup.controllers ${describeList(baseControllers)}; it may be bound to a v1 hierarchy)`
          : `the ${controller} controller is not delegated to ${rel} (its parent's subtree_control ${describeList(baseControllers)})`;
    } else if (!baseSubtree.includes(controller)) {
      const holdsProcesses = parsePids(readOptional(path.join(this.base, 'cgroup.procs')) ?? '').length > 0;
      reason = `the ${controller} controller reaches ${rel} but is not enabled for its children (its cgroup.subtree_control ${describeList(baseSubtree)})`;
      reason += holdsProcesses
        ? `, and ${rel} holds processes, which cgroup v2 forbids for a cgroup that enables controllers`
        : this.options.explicitParent
          ? ', and enabling it there failed'
          : ', and ringfence does not change the harness’s own cgroup';
    } else {
      reason = `the ${controller} controller could not be enabled in ${this.instance}/cgroup.subtree_control`;
    }
    throw new CgroupError(`${cap} cannot be enforced: ${reason}`, DELEGATION_FIX, cap);
  }
}

/**
 * Writes "+a +b" to dir/cgroup.subtree_control; when the kernel refuses the batch (one of them not
 * available, or the cgroup holds processes), tries each alone. Returns what is enabled afterwards.
 */
export function enableControllers(dir: string, names: readonly string[]): string[] {
  const file = path.join(dir, 'cgroup.subtree_control');
  const current = new Set(parseNameList(readOptional(file) ?? ''));
  const available = new Set(parseNameList(readOptional(path.join(dir, 'cgroup.controllers')) ?? ''));
  // asking for one that is not in cgroup.controllers fails the whole batch (ENOENT): leave it out
  const todo = names.filter((c) => !current.has(c) && available.has(c));
  if (todo.length === 0) return names.filter((c) => current.has(c));
  try {
    writeText(file, todo.map((c) => `+${c}`).join(' '));
    for (const c of todo) current.add(c);
  } catch {
    for (const c of todo) {
      try {
        writeText(file, `+${c}`);
        current.add(c);
      } catch {
        // stays unavailable; a cap that needs it gets a CgroupError with the reason
      }
    }
  }
  return names.filter((c) => current.has(c));
}

function applyLimits(dir: string, limits: CgroupLimits): void {
  const file = (name: string): string => path.join(dir, name);
  const { memoryBytes, memorySwapBytes } = limits;
  if (memoryBytes !== undefined) {
    writeLimit(CAP_FLAGS.memoryBytes, file('memory.max'), memoryBytes, 'pass a larger --memory');
    // v2 counts swap apart from memory: Docker's memory+swap total becomes the swap part alone
    const swap =
      memorySwapBytes === undefined
        ? '0'
        : memorySwapBytes === -1
          ? 'max'
          : String(memorySwapBytes - memoryBytes);
    if (exists(file('memory.swap.max'))) {
      writeLimit(CAP_FLAGS.memorySwapBytes, file('memory.swap.max'), swap);
    } else if (swap !== '0') {
      throw new CgroupError(
        '--memory-swap needs swap accounting, and this kernel has no memory.swap.max',
        'boot with swapaccount=1 (CONFIG_MEMCG_SWAP) or drop --memory-swap',
        CAP_FLAGS.memorySwapBytes,
      );
    }
  }
  if (limits.cpus !== undefined) {
    const quota = Math.round(limits.cpus * CPU_PERIOD_US);
    writeLimit(CAP_FLAGS.cpus, file('cpu.max'), `${quota} ${CPU_PERIOD_US}`, 'pass --cpus of at least 0.01');
  }
  if (limits.cpuShares !== undefined) {
    writeLimit(
      CAP_FLAGS.cpuShares,
      file('cpu.weight'),
      cpuWeightFromShares(limits.cpuShares),
      'pass --cpu-shares 2..262144',
    );
  }
  if (limits.cpusetCpus !== undefined) {
    // unlike v1, an empty v2 cpuset.mems means "the parent's", so only the CPUs are written
    const parentCpus = (readOptional(path.join(path.dirname(dir), 'cpuset.cpus.effective')) ?? '').trim();
    writeLimit(
      CAP_FLAGS.cpusetCpus,
      file('cpuset.cpus'),
      limits.cpusetCpus,
      parentCpus === ''
        ? undefined
        : `pass --cpuset-cpus within ${parentCpus} (the CPUs of the parent cgroup)`,
    );
  }
  if (limits.pidsLimit !== undefined) {
    writeLimit(CAP_FLAGS.pidsLimit, file('pids.max'), limits.pidsLimit, 'pass a positive --pids-limit');
  }
  if (limits.blkioWeight !== undefined) {
    // runc fs2/io.go: BFQ's weight has the v1 range; io.weight (1..10000) gets the converted value
    if (exists(file('io.bfq.weight'))) {
      writeLimit(
        CAP_FLAGS.blkioWeight,
        file('io.bfq.weight'),
        limits.blkioWeight,
        'pass --blkio-weight 10..1000',
      );
    } else if (exists(file('io.weight'))) {
      const weight = ioWeightFromBlkioWeight(limits.blkioWeight);
      writeLimit(CAP_FLAGS.blkioWeight, file('io.weight'), weight, 'pass --blkio-weight 10..1000');
    } else {
      throw new CgroupError(
        `--blkio-weight needs a proportional I/O controller, and ${dir} has neither io.weight nor io.bfq.weight`,
        'switch the disk to bfq (echo bfq > /sys/block/<disk>/queue/scheduler) or drop --blkio-weight',
        CAP_FLAGS.blkioWeight,
      );
    }
  }
}
