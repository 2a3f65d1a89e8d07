// The driver for a host where no cgroup can be had (an unprivileged container, no delegation). A
// job's "cgroup" is then the launcher's process tree: the launcher is a child subreaper (or the job
// has a PID namespace whose init reaps everything), so every descendant stays beneath it and can be
// found through /proc's parent links. The kill stops the tree with SIGSTOP until it no longer grows
// (the freezer's stand-in), snapshots it, then SIGKILLs it. No caps are enforced here: job/enforce.ts
// strips them and names them in a warning before a job gets this far.
import fs from 'node:fs';
import {
  CgroupError,
  type CgroupDriver,
  type CgroupLimits,
  type CgroupStats,
  type JobCgroup,
  type KillOptions,
  type SweepReport,
} from './types.js';
import { requestedCaps } from './common.js';
import { killUntilEmptySync, waitForEmpty } from './kill.js';
import { sleep } from './fsutil.js';

/** One process as /proc/<pid>/stat tells it. */
interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
  threads: number;
}

// USER_HZ: 100 on every Linux architecture Node supports
const TICK_NS = 1e7;

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields start after the last ')'
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // after ')': state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) … num_threads(17)
  const n = (i: number): number => Number(f[i] ?? 0);
  return { pid, ppid: n(1), ticks: n(11) + n(12) + n(13) + n(14), threads: n(17) };
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** root and every descendant of it that is alive now. */
export function processTree(root: number): ProcStat[] {
  const all = allProcesses();
  const byParent = new Map<number, ProcStat[]>();
  for (const p of all) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const rootStat = all.find((p) => p.pid === root);
  if (rootStat === undefined) return [];
  const out: ProcStat[] = [];
  const todo = [rootStat];
  while (todo.length > 0) {
    const p = todo.pop() as ProcStat;
    out.push(p);
    for (const child of byParent.get(p.pid) ?? []) todo.push(child);
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

class TreeJob implements JobCgroup {
  readonly paths: readonly string[] = [];
  private root = 0;

  constructor(readonly name: string) {}

  addProcess(pid: number): void {
    this.root = pid;
  }

  addProcessAsync(pid: number): Promise<void> {
    this.root = pid;
    return Promise.resolve();
  }

  private tree(): ProcStat[] {
    return this.root === 0 ? [] : processTree(this.root);
  }

  cpuUsageNs(): number {
    // a reaped process's time is in its reaper's cutime/cstime: the launcher's covers the reaped ones
    return this.tree().reduce((sum, p) => sum + p.ticks, 0) * TICK_NS;
  }

  oomKills(): number {
    return 0;
  }

  tasksCurrent(): number {
    return this.tree().reduce((sum, p) => sum + p.threads, 0);
  }

  procs(): number[] {
    return this.tree().map((p) => p.pid);
  }

  /**
   * SIGSTOP down the tree until a pass finds nothing new: a process forking while its siblings are
   * stopped is caught in the next pass, as v1's freezer retries FREEZING. Whether it settled.
   */
  private async stopTree(spare: ReadonlySet<number>): Promise<boolean> {
    const stopped = new Set<number>();
    for (let pass = 0; pass < 50; pass++) {
      const fresh = this.procs().filter((pid) => !spare.has(pid) && !stopped.has(pid));
      if (fresh.length === 0) return true;
      for (const pid of fresh) {
        signal(pid, 'SIGSTOP');
        stopped.add(pid);
      }
      await sleep(1);
    }
    return false;
  }

  async pause(): Promise<boolean> {
    if (await this.stopTree(new Set())) return true;
    this.resume();
    return false;
  }

  resume(): void {
    // (a process the job had stopped itself is continued too: the tree keeps no record of why)
    for (const pid of this.procs()) signal(pid, 'SIGCONT');
  }

  async killAll(options: KillOptions = {}): Promise<void> {
    const spare = new Set(options.spare ?? []);
    await this.stopTree(spare);
    const pids = this.procs().filter((pid) => !spare.has(pid));
    try {
      await options.onFrozen?.(pids);
    } finally {
      for (const pid of pids) signal(pid, 'SIGKILL');
    }
  }

  waitEmpty(timeoutMs: number): Promise<void> {
    return waitForEmpty(() => this.procs(), timeoutMs, `the process tree of ${this.root}`);
  }

  killAllSync(timeoutMs: number): void {
    killUntilEmptySync(() => this.procs(), timeoutMs, `the process tree of ${this.root}`);
  }

  stats(): CgroupStats {
    // nothing counted here: the result takes CPU and peak memory from the launcher's rusage
    return {
      cpu: { totalNs: 0, userNs: 0, systemNs: 0 },
      memory: { peakBytes: null, failcnt: 0, oomKills: 0, limitBytes: null },
      pids: { peak: null, limit: null, refused: null },
      io: null,
      pressure: null,
    };
  }

  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

let counter = 0;

export class NoCgroupDriver implements CgroupDriver {
  readonly version = null;
  readonly controllers: ReadonlySet<string> = new Set();
  readonly instancePaths: readonly string[] = [];

  create(limits: CgroupLimits): JobCgroup {
    refuseCaps(limits);
    counter += 1;
    return new TreeJob(`tree-${counter}`);
  }

  applyToSpare(job: JobCgroup, limits: CgroupLimits): boolean {
    refuseCaps(limits);
    return job instanceof TreeJob;
  }

  sweepStale(): Promise<SweepReport> {
    return Promise.resolve({ removed: [], killedPids: [] });
  }

  reapThread(): Promise<SweepReport> {
    return Promise.resolve({ removed: [], killedPids: [] });
  }

  dispose(): void {
    // nothing was made
  }
}

/** job/enforce.ts strips what cannot be enforced; a cap that still arrives here is a bug, not a silent drop. */
function refuseCaps(limits: CgroupLimits): void {
  const caps = requestedCaps(limits);
  if (caps.length > 0) {
    throw new CgroupError(
      `${caps.map(([, flag]) => flag).join(', ')} cannot be enforced: this process has no cgroup`,
      'see `ringfence doctor` for what would give it one',
      caps[0]?.[1],
    );
  }
}
