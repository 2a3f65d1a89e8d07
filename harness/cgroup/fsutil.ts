// Small file helpers for cgroupfs: one write() per value, no O_CREAT (a missing interface file must
// read as ENOENT, not silently become a regular file), rmdir with the EBUSY backoff the kernel needs.
import fs from 'node:fs';
import path from 'node:path';
import { RMDIR_EACH_MAX, rmdirEachNative } from '../../native/spawn-lib/cgfiles.js';

/** The two directory operations that differ between cgroupfs and a fake tree in a tmp dir. */
export interface DirOps {
  mkdir(dir: string): void;
  /** Removes one (empty) cgroup directory; throws the kernel's errno (EBUSY, ENOENT …) as `code`. */
  rmdir(dir: string): void;
  /**
   * rmdir on libuv's thread pool, for the removals after a job: a cgroup's rmdir waits while the
   * kernel takes its controllers offline, which would otherwise stall the event loop every job.
   */
  rmdirAsync?(dir: string): Promise<void>;
}

export const kernelDirOps: DirOps = {
  mkdir: (dir) => fs.mkdirSync(dir),
  rmdir: (dir) => fs.rmdirSync(dir),
  rmdirAsync: (dir) => fs.promises.rmdir(dir),
};

export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/** mount + cgroup path, without the trailing "/" path.join leaves for the root ("/sys/fs/cgroup/cpu/"). */
export function cgroupDir(mountPoint: string, cgroupPath: string): string {
  const joined = path.join(mountPoint, cgroupPath);
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
}

export function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** The file's text, or null when it does not exist (an interface file this kernel lacks). */
export function readOptional(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  }
}

// O_WRONLY without O_CREAT: write-only files like cgroup.kill refuse a read open, and a typo or a
// controller that is not enabled must fail instead of creating a plain file. O_TRUNC is harmless on
// kernfs and makes the same code correct on the fake tree used in tests.
const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_TRUNC;

/** One write(2) of the whole value: cgroupfs parses each write on its own. */
export function writeText(file: string, value: string): void {
  const fd = fs.openSync(file, WRITE_FLAGS);
  try {
    fs.writeSync(fd, value);
  } finally {
    fs.closeSync(fd);
  }
}

export function exists(file: string): boolean {
  return fs.existsSync(file);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread; only for the short EBUSY retries of synchronous clean-up paths. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** Total wait budget of the rmdir backoff: 1 + 2 + 4 … + 512 ms ≈ 1 s, as opencontainers/cgroups RemovePath. */
const RMDIR_DELAYS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * rmdir that tolerates the kernel's lag: right after the last task exits a cgroup can still answer
 * EBUSY for a few ms. ENOENT counts as done (removal is idempotent).
 */
export async function rmdirWithBackoff(dir: string, ops: DirOps = kernelDirOps): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (ops.rmdirAsync) await ops.rmdirAsync(dir);
      else ops.rmdir(dir);
      return;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') return;
      const delay = RMDIR_DELAYS[attempt];
      if (code !== 'EBUSY' || delay === undefined) throw err;
      await sleep(delay);
    }
  }
}

/** Synchronous twin of rmdirWithBackoff for rollback and dispose() (both synchronous by contract). */
export function rmdirWithBackoffSync(dir: string, ops: DirOps = kernelDirOps, budgetMs = 1000): void {
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      ops.rmdir(dir);
      return;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') return;
      const delay = RMDIR_DELAYS[attempt];
      if (code !== 'EBUSY' || delay === undefined || waited + delay > budgetMs) throw err;
      sleepSync(delay);
      waited += delay;
    }
  }
}

/** Sub-directories (child cgroups) of a cgroup directory; [] when it is gone. */
export function childDirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => path.join(dir, entry.name));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Removes a cgroup and any child cgroups a job made inside it, deepest first. */
export async function removeTree(dir: string, ops: DirOps = kernelDirOps): Promise<void> {
  for (const child of childDirs(dir)) await removeTree(child, ops);
  await rmdirWithBackoff(dir, ops);
}

/**
 * Removes a job's cgroup directories (one per v1 hierarchy, one on v2): the plain case, empty ones,
 * all in one rmdir call on a worker thread (native/spawn/cgfiles.c) without listing them first; what
 * is left (a child cgroup the job made, EBUSY a moment after the last task left) through removeTree.
 * A fake tree's ops (tests) take removeTree for all.
 */
export async function removeJobDirs(dirs: readonly string[], ops: DirOps = kernelDirOps): Promise<void> {
  const left = ops === kernelDirOps && dirs.length <= RMDIR_EACH_MAX ? await rmdirEachNative(dirs) : dirs;
  await Promise.all(left.map((dir) => removeTree(dir, ops)));
}

export function removeTreeSync(dir: string, ops: DirOps = kernelDirOps, budgetMs = 1000): void {
  for (const child of childDirs(dir)) removeTreeSync(child, ops, budgetMs);
  rmdirWithBackoffSync(dir, ops, budgetMs);
}

/** SIGKILL, where a process that already exited (ESRCH) is not an error. Returns whether it was sent. */
export function killPid(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ESRCH') return false;
    throw err;
  }
}
