// The kill path of a job cgroup, written once for v1 and v2 as runc keeps it once in fscommon beneath
// its two managers: freeze → snapshot of the frozen tree → SIGKILL all but the spared → thaw → chase
// whatever raced the freeze, and the waits until nothing is left. v1-job.ts and v2-job.ts supply only the
// steps that differ per version: freeze, thaw, the list of pids, the kernel's own kill, and whether
// processes the list misses are still inside.
import { CgroupError, type JobCgroup, type KillOptions } from './types.js';
import { errnoOf, killPid, sleep, sleepSync, writeText } from './fsutil.js';

/** How long a sweep waits for a dead instance's job to empty after its kill. */
const SWEEP_WAIT_MS = 5000;
/** Rounds of the second layer: each lists the cgroup again and kills what is new in it. */
const CHASE_ROUNDS = 100;

/** SIGKILL each pid except those spared; returns the pids it signalled. */
export function killEach(pids: readonly number[], spare: readonly number[] = []): number[] {
  const killed: number[] = [];
  for (const pid of pids) {
    if (spare.includes(pid)) continue;
    if (killPid(pid)) killed.push(pid);
  }
  return killed;
}

/** Polls until `procs()` is empty: 1 ms at first (a killed job usually empties in a few ms), then up to 20 ms. */
export async function waitForEmpty(procs: () => number[], timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    const left = procs();
    if (left.length === 0) return;
    const now = performance.now();
    if (now >= deadline) {
      throw new CgroupError(
        `${what} still holds ${left.length} process(es) (${left.slice(0, 10).join(', ')}) after ${timeoutMs} ms`,
        'a process in uninterruptible sleep (D state) dies only when its I/O ends: check /proc/<pid>/stack, then retry',
      );
    }
    await sleep(Math.min(delay, deadline - now));
    delay = Math.min(delay * 2, 20);
  }
}

/** killEach until `procs()` is empty, waiting synchronously (killAllSync of every driver). */
export function killUntilEmptySync(procs: () => number[], timeoutMs: number, what: string): void {
  const deadline = performance.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const left = procs();
    if (left.length === 0) return;
    if (performance.now() >= deadline)
      throw new CgroupError(
        `${what} still holds ${left.length} process(es) (${left.slice(0, 10).join(', ')}) after ${timeoutMs} ms`,
        'the next ringfence start kills and removes it (its owner is gone by then)',
      );
    killEach(left);
    Atomics.wait(sleeper, 0, 0, 5);
  }
}

/** How long a freeze is polled back to back before the 1 ms timer polls: a sleeping tree freezes in µs. */
const FREEZE_SPIN_MS = 2;

/**
 * Polls `settled()` every 50 µs for up to FREEZE_SPIN_MS; true once it is. A deadline's kill waits
 * on the freeze, and a timer's 1 ms (often 2 on a busy host) is most of what a freeze would cost.
 */
export function spinUntil(settled: () => boolean): boolean {
  const until = performance.now() + FREEZE_SPIN_MS;
  for (;;) {
    if (settled()) return true;
    if (performance.now() >= until) return false;
    sleepSync(0.05);
  }
}

/** Writes a freezer file to thaw; a cgroup removed meanwhile is thawed enough. */
export function writeThaw(file: string, value: string): void {
  try {
    writeText(file, value);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
}

type KillPathMembers =
  'name' | 'paths' | 'procs' | 'destroy' | 'killAll' | 'pause' | 'resume' | 'waitEmpty' | 'killAllSync';

/**
 * A job cgroup's kill, pause and waits over the per-version steps below. A v1 or v2 job extends it
 * and implements the rest of JobCgroup (moving processes in, caps, stats).
 */
export abstract class KillableCgroup implements Pick<JobCgroup, KillPathMembers> {
  abstract readonly name: string;
  abstract readonly paths: readonly string[];
  /** Pids the cgroup lists now (on v1 the union over its hierarchies). */
  abstract procs(): number[];
  abstract destroy(): Promise<void>;
  /**
   * Stops every process; true once the kernel says all are stopped. false where there is no freezer
   * or the freeze did not finish; a half-done freeze may be left for freezeOrUndo to thaw.
   */
  protected abstract freeze(): Promise<boolean>;
  /** Lets the processes run on; nothing where there is no freezer or the cgroup is gone. */
  protected abstract thaw(): void;
  /** The kernel's SIGKILL of the whole cgroup, child cgroups included (v2 cgroup.kill); false: none here. */
  protected abstract killByKernel(): boolean;
  /** Whether processes that procs() does not list are inside (v2: in child cgroups the job made). */
  protected abstract holdsUnlisted(): boolean;
  /** What a finished freeze stopped, for the snapshot and the kill; procs() unless a driver knows better. */
  protected frozenProcs(): number[] {
    return this.procs();
  }

  /**
   * freeze → onFrozen(pids) → SIGKILL each but the spared → thaw, then the second layer for what
   * is neither spared nor signalled. The hook's error is reported after the kill, which matters more.
   */
  async killAll(options: KillOptions = {}): Promise<void> {
    const spare = options.spare ?? [];
    const signalled = new Set<number>();
    let hookError: unknown;
    let frozen = false;
    let killedByKernel = false;
    try {
      frozen = await this.freezeOrUndo();
      const pids = frozen ? this.frozenProcs() : this.procs();
      try {
        await options.onFrozen?.(pids);
      } catch (err) {
        hookError = err;
      }
      for (const pid of killEach(pids, spare)) signalled.add(pid);
      // nothing to spare: the kernel's own kill also reaches child cgroups and anything missed
      if (spare.length === 0) killedByKernel = this.killByKernel();
    } finally {
      // frozen v1 tasks die only once thawed, and a spared launcher must run on
      this.thaw();
    }
    if (!killedByKernel) await this.chase(spare, signalled, frozen);
    if (hookError !== undefined) throw hookError;
  }

  pause(): Promise<boolean> {
    return this.freezeOrUndo();
  }

  resume(): void {
    this.thaw();
  }

  waitEmpty(timeoutMs: number): Promise<void> {
    return waitForEmpty(() => this.left(), timeoutMs, `cgroup ${this.name}`);
  }

  /** For an exit handler: no freeze, since the launcher and the job's init are among the processes. */
  killAllSync(timeoutMs: number): void {
    this.thaw();
    killUntilEmptySync(() => this.procs(), timeoutMs, `cgroup ${this.name}`);
  }

  /** Kill, wait, remove a job cgroup of a dead instance; returns the pids it found. */
  async sweep(): Promise<number[]> {
    if (this.paths.length === 0) return [];
    const found = this.procs();
    if (found.length > 0 || this.holdsUnlisted()) {
      await this.killAll();
      await this.waitEmpty(SWEEP_WAIT_MS);
    }
    await this.destroy();
    return found;
  }

  /** A freeze that failed or did not finish is thawed again, so that nothing is left half-frozen. */
  private async freezeOrUndo(): Promise<boolean> {
    try {
      if (await this.freeze()) return true;
    } catch {
      // fall through to the thaw: an unfreezable cgroup is still killed, one process at a time
    }
    try {
      this.thaw();
    } catch {
      // killAll thaws again in its finally and reports a failure there
    }
    return false;
  }

  /**
   * Second layer, for a fork that raced an unfinished freeze (or a cgroup without a freezer): what
   * is neither spared nor signalled gets the kernel's kill where there is one, else SIGKILL each.
   */
  private async chase(spare: readonly number[], signalled: Set<number>, frozen: boolean): Promise<void> {
    for (let round = 0; round < CHASE_ROUNDS; round++) {
      const rest = this.procs().filter((pid) => !spare.includes(pid) && !signalled.has(pid));
      if (rest.length === 0) return;
      if (this.killByKernel()) return;
      for (const pid of killEach(rest)) signalled.add(pid);
      await sleep(frozen ? 0 : 1);
    }
  }

  /** What waitEmpty waits on: the listed pids, or -1 while only child cgroups hold processes. */
  private left(): number[] {
    const listed = this.procs();
    return listed.length === 0 && this.holdsUnlisted() ? [-1] : listed;
  }
}
