// Shared by the benchmarks: finding a contender on PATH and running one to completion.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { errnoName } from '../native/errors.js';
import { spawnWithFds } from '../native/spawn-lib/spawn.js';

export function which(program: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function spawnAndWait(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}`)),
    );
  });
}

/** bwrap with the namespaces ringfence makes (pid, uts, ipc, net, mount), over the host's root. */
export function bwrapArgv(bwrap: string, command: string[]): string[] {
  return [
    bwrap,
    '--unshare-pid',
    '--unshare-uts',
    '--unshare-ipc',
    '--unshare-net',
    '--bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    ...command,
  ];
}

/** The median of a sample (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The 90th percentile of a sample (nearest rank). */
export function p90(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)]!;
}

/** One traced job: each phase reached, ms from its start (JobResult.trace). */
export type Trace = readonly { phase: string; ms: number }[];

/** The median time at which `phase` was reached over the traces that reached it; null: none did. */
export function medianAt(traces: readonly Trace[], phase: string): number | null {
  const values = traces.flatMap((t) =>
    t
      .filter((p) => p.phase === phase)
      .map((p) => p.ms)
      .slice(0, 1),
  );
  return values.length ? median(values) : null;
}

/** The mean time at which `phase` was reached (a tail shows as a mean step well above the median's). */
export function meanAt(traces: readonly Trace[], phase: string): number | null {
  const values = traces.flatMap((t) =>
    t
      .filter((p) => p.phase === phase)
      .map((p) => p.ms)
      .slice(0, 1),
  );
  return values.length ? values.reduce((sum, v) => sum + v, 0) / values.length : null;
}

/** Every phase the traces reached, in the order of their median times (the first set of traces decides). */
export function phaseOrder(...sets: readonly (readonly Trace[])[]): string[] {
  const order: string[] = [];
  for (const traces of sets)
    for (const trace of traces) for (const { phase } of trace) if (!order.includes(phase)) order.push(phase);
  const at = (phase: string): number => {
    for (const traces of sets) {
      const t = medianAt(traces, phase);
      if (t !== null) return t;
    }
    return 0;
  };
  return order.sort((a, b) => at(a) - at(b));
}

/** The phases the launcher, its init and the job report (native/launcher, proto_trace). */
export const LAUNCHER_PHASES = new Set([
  'gate',
  'ahead',
  'clone',
  'init',
  'staged',
  'mountinfo',
  'overlays',
  'pivot',
  'root',
  'proc-dev-tmp',
  'mounts',
  'exec',
  'job-exit',
  'reaped',
]);

type Waitpid = (pid: number, status: Int32Array, options: number) => number;
let native: { waitpid: Waitpid; errno: () => number; sleep: string } | null = null;

/**
 * The kernel's own floor for a deadline: `count` bare sleeps (no namespace, no cgroup, started by
 * posix_spawn outside libuv, so Node never reaps them), SIGKILLed, then reaped one by one with a
 * blocking waitpid(2), as the launcher reaps a job's processes in C. Returns ms from the first kill
 * to the last reap: what the kernel's exits cost on this machine, with no Node event loop between.
 */
export function killAndReapNatively(count: number): number {
  if (!native) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const waitpid = koffi.load('libc.so.6').func('int waitpid(int pid, _Out_ int *status, int options)');
    native = {
      waitpid: waitpid as Waitpid,
      errno: () => koffi.errno(),
      sleep: which('sleep') ?? '/bin/sleep',
    };
  }
  const { waitpid, errno, sleep } = native;
  const status = new Int32Array(1);
  const reap = (pid: number): void => {
    let got = waitpid(pid, status, 0);
    // a signal for Node (its SIGCHLD handler) may interrupt the wait
    while (got === -1 && errno() === os.constants.errno.EINTR) got = waitpid(pid, status, 0);
    if (got !== pid) throw new Error(`waitpid(${pid}): ${errnoName(errno())}`);
  };
  const devNull = fs.openSync('/dev/null', 'r+');
  const pids: number[] = [];
  try {
    // posix_spawn returns once the child has exec'd: every one is a sleep by the first kill
    for (let i = 0; i < count; i++)
      pids.push(spawnWithFds(sleep, ['sleep', '600'], {}, [devNull, devNull, devNull]));
  } catch (err) {
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    pids.forEach(reap); // none left behind by a failed bench
    throw err;
  } finally {
    fs.closeSync(devNull);
  }
  const start = performance.now();
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  pids.forEach(reap);
  return performance.now() - start;
}
