// One job's cgroup on v1: a directory in each hierarchy it joined, as runc's fs package keeps a
// manager per cgroup beside its driver. Moving processes in, its counters across memory, cpuacct,
// pids and blkio, the freezer's steps of the kill path (kill.ts holds the path itself), and removal.
// v1.ts makes the directories, applies the caps and builds these, for a dead instance's sweep too.
import path from 'node:path';
import { CgroupError, type CgroupStats, type JobCgroup } from './types.js';
import { errnoOf, readOptional, readText, removeJobDirs, sleep, writeText, type DirOps } from './fsutil.js';
import { KillableCgroup, spinUntil, writeThaw } from './kill.js';
import { errnoName } from '../../native/errors.js';
import { WriteEachError, writeEachNative } from '../../native/spawn-lib/cgfiles.js';
import {
  parseFlatKeyed,
  parseLimit,
  parseNumber,
  parsePids,
  refusedForks,
  sumBlkioServiceBytes,
} from './parse.js';

const NS_PER_USER_HZ_TICK = 10_000_000;

/** runc fs/freezer.go: polls per freeze attempt before thawing and trying again. */
const FREEZE_POLLS = 10;
const FREEZE_ROUNDS = 20;

/** What a job occupies: controller → directory (co-mounted controllers share one). */
export type JobDirs = ReadonlyMap<string, string>;

export class V1Job extends KillableCgroup implements JobCgroup {
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
