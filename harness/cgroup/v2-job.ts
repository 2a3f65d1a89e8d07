// One job's cgroup on v2: its directory in the unified tree, as runc's fs2 keeps a manager per
// cgroup beside its driver (v1-job.ts is v1's). Moving processes in (or the directory's fd for
// clone3's CLONE_INTO_CGROUP), its counters and pressure, the freezer's steps of the kill path
// (kill.ts holds the path; v2's steps are here: cgroup.freeze, cgroup.kill), and removal. v2.ts makes the
// directory, applies the caps and builds these, for a dead instance's sweep too.
import fs from 'node:fs';
import path from 'node:path';
import { CgroupError, type CgroupStats, type JobCgroup, type PressureTotals } from './types.js';
import { DELEGATION_FIX } from './common.js';
import {
  errnoOf,
  exists,
  readOptional,
  readText,
  removeJobDirs,
  sleep,
  writeText,
  type DirOps,
} from './fsutil.js';
import { KillableCgroup, spinUntil, writeThaw } from './kill.js';
import {
  isFrozenEvents,
  parseFlatKeyed,
  parseLimit,
  parseNumber,
  parsePids,
  parsePressure,
  refusedForks,
  sumIoStat,
} from './parse.js';

/** v2 freezing ends as soon as every task reaches a signal-delivery point; past this, kill unfrozen. */
const FREEZE_TIMEOUT_MS = 500;

export class V2Job extends KillableCgroup implements JobCgroup {
  readonly paths: readonly string[];

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly ops: DirOps,
    private readonly onDestroyed: () => void = () => undefined,
  ) {
    super();
    this.paths = [dir];
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  addProcess(pid: number): void {
    try {
      writeText(this.file('cgroup.procs'), String(pid));
    } catch (err) {
      throw new CgroupError(
        `cannot move pid ${pid} into ${this.dir} (${errnoOf(err) ?? String(err)})`,
        errnoOf(err) === 'ESRCH' ? 'the process exited before it joined' : DELEGATION_FIX,
      );
    }
  }

  openForClone(): number {
    return fs.openSync(this.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  }

  async addProcessAsync(pid: number): Promise<void> {
    await Promise.all(
      [this.file('cgroup.procs')].map((file) =>
        fs.promises.writeFile(file, String(pid)).catch((err: unknown) => {
          throw new CgroupError(
            `cannot move pid ${pid} into ${path.dirname(file)} (${errnoOf(err) ?? String(err)})`,
            'check the cgroup still exists and is writable',
          );
        }),
      ),
    );
  }

  cpuUsageNs(): number {
    return (parseFlatKeyed(readText(this.file('cpu.stat'))).get('usage_usec') ?? 0) * 1000;
  }

  oomKills(): number {
    return parseFlatKeyed(readOptional(this.file('memory.events')) ?? '').get('oom_kill') ?? 0;
  }

  tasksCurrent(): number {
    const current = readOptional(this.file('pids.current'));
    return current === null ? this.procs().length : parseNumber(current);
  }

  procs(): number[] {
    return parsePids(readOptional(this.file('cgroup.procs')) ?? '');
  }

  stats(): CgroupStats {
    const read = (name: string): string | null => readOptional(this.file(name));
    const cpu = parseFlatKeyed(read('cpu.stat') ?? '');
    const events = parseFlatKeyed(read('memory.events') ?? '');
    const peak = read('memory.peak');
    const max = read('memory.max');
    const pidsPeak = read('pids.peak');
    const pidsMax = read('pids.max');
    const io = read('io.stat');
    return {
      cpu: {
        totalNs: (cpu.get('usage_usec') ?? 0) * 1000,
        userNs: (cpu.get('user_usec') ?? 0) * 1000,
        systemNs: (cpu.get('system_usec') ?? 0) * 1000,
      },
      memory: {
        peakBytes: peak === null ? null : parseNumber(peak),
        failcnt: events.get('max') ?? 0,
        oomKills: events.get('oom_kill') ?? 0,
        limitBytes: max === null ? null : parseLimit(max),
      },
      pids: {
        peak: pidsPeak === null ? null : parseNumber(pidsPeak),
        limit: pidsMax === null ? null : parseLimit(pidsMax),
        refused: refusedForks(read('pids.events')),
      },
      io: io === null ? null : sumIoStat(io),
      pressure: this.pressure(read),
    };
  }

  /** PSI totals where the kernel keeps them (CONFIG_PSI, not disabled with psi=0). */
  private pressure(read: (name: string) => string | null): CgroupStats['pressure'] {
    const one = (name: string): PressureTotals | null => {
      const text = read(name);
      return text === null ? null : parsePressure(text);
    };
    const cpu = one('cpu.pressure');
    const memory = one('memory.pressure');
    const io = one('io.pressure');
    return cpu === null && memory === null && io === null ? null : { cpu, memory, io };
  }

  async destroy(): Promise<void> {
    await removeJobDirs([this.dir], this.ops);
    this.onDestroyed();
  }

  /** cgroup.freeze 1, then wait for `frozen 1` in cgroup.events; false: no cgroup.freeze, or not frozen in time. */
  protected async freeze(): Promise<boolean> {
    const freezeFile = this.file('cgroup.freeze');
    if (!exists(freezeFile)) return false;
    writeText(freezeFile, '1');
    spinUntil(() => isFrozenEvents(readText(this.file('cgroup.events'))));
    const deadline = performance.now() + FREEZE_TIMEOUT_MS;
    for (;;) {
      if (isFrozenEvents(readText(this.file('cgroup.events')))) return true;
      if (performance.now() >= deadline) return false;
      await sleep(1);
    }
  }

  protected thaw(): void {
    writeThaw(this.file('cgroup.freeze'), '0');
  }

  protected killByKernel(): boolean {
    const killFile = this.file('cgroup.kill');
    if (!exists(killFile)) return false;
    writeText(killFile, '1');
    return true;
  }

  /** `populated` of cgroup.events also covers child cgroups the job made itself. */
  protected holdsUnlisted(): boolean {
    return parseFlatKeyed(readOptional(this.file('cgroup.events')) ?? '').get('populated') === 1;
  }
}
