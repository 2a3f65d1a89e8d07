// Names of the per-instance parent cgroup and the liveness test that lets a later start reap the
// parents of a harness that died: pid alone could be reused, pid + starttime cannot.
import fs from 'node:fs';
import { threadId } from 'node:worker_threads';
import { errnoOf } from './fsutil.js';
import { parseProcStatStartTime } from './parse.js';

export interface InstanceId {
  pid: number;
  /** Field 22 of /proc/<pid>/stat, as text. */
  startTime: string;
  /** worker_threads threadId: piscina runs several drivers in one process. */
  threadId: number;
}

// `ringfence-<pid>-<starttime>` (a process's cgroup parent, shared by its threads) or
// `ringfence-<pid>-<starttime>-<threadId>` (a thread's scratch prefix; cgroup parents of older versions)
const INSTANCE_RE = /^ringfence-(\d+)-(\d+)(?:-(\d+))?$/;

/** A thread's name: the prefix of its scratch dirs. */
export function formatInstanceName(id: InstanceId): string {
  return `ringfence-${id.pid}-${id.startTime}-${id.threadId}`;
}

/**
 * The process's cgroup parent. One per process, not per worker thread: every job of one ringfence
 * process is a sibling of the others, so cpu.shares / cpu.weight / io.weight compare between them as
 * they do between Docker containers (per-thread parents would each get an equal share first).
 */
export function formatProcessInstanceName(id: Pick<InstanceId, 'pid' | 'startTime'>): string {
  return `ringfence-${id.pid}-${id.startTime}`;
}

export function parseInstanceName(name: string): InstanceId | null {
  const m = INSTANCE_RE.exec(name);
  if (m === null || m[1] === undefined || m[2] === undefined) return null;
  return { pid: Number(m[1]), startTime: m[2], threadId: m[3] === undefined ? 0 : Number(m[3]) };
}

/** starttime of a live process, or null when there is no such process. */
export function readProcStartTime(pid: number, procRoot = '/proc'): string | null {
  try {
    return parseProcStatStartTime(fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    throw err;
  }
}

export function ownInstanceId(): InstanceId {
  const startTime = readProcStartTime(process.pid);
  if (startTime === null) throw new Error('cannot read /proc/self/stat');
  return { pid: process.pid, startTime, threadId };
}

/** An instance parent is stale when its owner process is gone or the pid now names another process. */
export function isInstanceStale(id: InstanceId, procRoot = '/proc'): boolean {
  return readProcStartTime(id.pid, procRoot) !== id.startTime;
}

let jobCounter = 0;
/**
 * `job-<threadId>-<counter>-<random>`: the thread id says whose job it is (a dead worker thread's
 * jobs are reaped by name, its siblings' left alone), the counter keeps names short and ordered, the
 * random part makes them unique across drivers.
 */
export function nextJobName(): string {
  jobCounter += 1;
  const random = Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0');
  return `${threadJobPrefix(threadId)}${jobCounter}-${random}`;
}

export function threadJobPrefix(thread: number): string {
  return `job-${thread}-`;
}
