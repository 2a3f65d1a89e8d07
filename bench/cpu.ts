// What a benchmark's jobs cost in CPU, split by who spent it: this process (its every thread — the
// Harness's workers are threads of it), the processes it started and reaped (the launcher, the job's
// init and the job; bwrap and its own), the kernel's threads (work a job leaves to kworkers: a network
// namespace's cleanup, a cgroup's release) and the whole machine. On a shared, noisy host the first
// two count only this bench's own work; the machine's and the kernel threads' count everyone's.
import { createRequire } from 'node:module';
import fs from 'node:fs';

/** ms of CPU; each field is described at cpuTimes(). */
export interface CpuTimes {
  user: number;
  system: number;
  idle: number;
  own: number;
  selfUser: number;
  selfSystem: number;
  childUser: number;
  childSystem: number;
  kthreads: number;
}

/** /proc/stat and /proc/PID/stat count in USER_HZ ticks, which are 10 ms on every Linux ABI. */
const MS_PER_TICK = 10;
const RUSAGE_CHILDREN = -1;

type Getrusage = (who: number, usage: Buffer) => number;
let getrusage: Getrusage | null = null;

/** getrusage(2)'s user and system time of `who`, in ms (struct rusage opens with two timevals). */
function rusage(who: number): { user: number; system: number } {
  if (!getrusage) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    getrusage = koffi
      .load('libc.so.6')
      .func('int getrusage(int who, _Out_ uint8_t *usage)') as unknown as Getrusage;
  }
  const buf = Buffer.alloc(144);
  if (getrusage(who, buf) !== 0) throw new Error('getrusage failed');
  const ms = (at: number): number =>
    Number(buf.readBigInt64LE(at)) * 1000 + Number(buf.readBigInt64LE(at + 8)) / 1000;
  return { user: ms(0), system: ms(16) };
}

/** What this process's reaped children, and what they reaped in turn, have spent so far: ms. */
export function reapedChildrenCpu(): { user: number; system: number } {
  return rusage(RUSAGE_CHILDREN);
}

/** Each kernel thread's utime + stime at the last reading, and what they have spent since the first. */
const kthreadTicks = new Map<string, number>();
let kthreadTotal = 0;

/**
 * CPU of the kernel threads (the children of kthreadd, pid 2) since the first call, in ms: summed per
 * thread, so that a kworker that exits between two readings does not take its past time with it.
 */
function kernelThreads(): number {
  const first = kthreadTicks.size === 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid … utime(14) stime(15): comm may hold spaces, so count after its ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[1] !== '2' && name !== '2') continue;
    const ticks = Number(fields[11]) + Number(fields[12]);
    // a pid reused by a newer thread reads lower: all of its time is new
    const before = kthreadTicks.get(name);
    if (!first) kthreadTotal += before === undefined || ticks < before ? ticks : ticks - before;
    kthreadTicks.set(name, ticks);
  }
  return kthreadTotal * MS_PER_TICK;
}

/**
 * user, system, idle: the machine's, every core together (/proc/stat: every process on it). own:
 * this process's (selfUser + selfSystem). childUser, childSystem: the children this process reaped
 * and what they reaped in turn (RUSAGE_CHILDREN), counted when reaped. kthreads: kernel threads.
 */
export function cpuTimes(): CpuTimes {
  // cpu  user nice system idle iowait irq softirq steal …
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1);
  const [user, nice, system, idle, iowait, irq, softirq] = fields.map(Number) as number[];
  const self = process.resourceUsage();
  const children = rusage(RUSAGE_CHILDREN);
  return {
    user: (user! + nice!) * MS_PER_TICK,
    system: (system! + irq! + softirq!) * MS_PER_TICK,
    idle: (idle! + iowait!) * MS_PER_TICK,
    own: (self.userCPUTime + self.systemCPUTime) / 1000,
    selfUser: self.userCPUTime / 1000,
    selfSystem: self.systemCPUTime / 1000,
    childUser: children.user,
    childSystem: children.system,
    kthreads: kernelThreads(),
  };
}

const KEYS = [
  'user',
  'system',
  'idle',
  'own',
  'selfUser',
  'selfSystem',
  'childUser',
  'childSystem',
  'kthreads',
] as const satisfies readonly (keyof CpuTimes)[];

/** A CpuTimes whose every field is `of(field)`. */
function cpuOf(of: (key: keyof CpuTimes) => number): CpuTimes {
  return Object.fromEntries(KEYS.map((key) => [key, of(key)])) as unknown as CpuTimes;
}

/** The CPU between two readings, per job. */
export function cpuPerJob(before: CpuTimes, after: CpuTimes, jobs: number): CpuTimes {
  return cpuOf((key) => (after[key] - before[key]) / jobs);
}

/** The mean of per-job CPU figures (rounds of one contender, each of as many jobs). */
export function meanCpu(rounds: readonly CpuTimes[]): CpuTimes {
  return cpuOf((key) => rounds.reduce((sum, cpu) => sum + cpu[key], 0) / rounds.length);
}

/** What the bench's own processes spent a job: this process and its reaped children, ms. */
export function ownTotal(cpu: CpuTimes): number {
  return cpu.selfUser + cpu.selfSystem + cpu.childUser + cpu.childSystem;
}
