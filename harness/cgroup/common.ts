// What v1 and v2 share in making a job cgroup: the cap each limit needs, errors that name the cap and
// the fix, the job directory's mkdir and its rollback. The kill path is kill.ts, the sweep sweep.ts.
import path from 'node:path';
import { CgroupError, type CgroupLimits } from './types.js';
import { errnoOf, rmdirWithBackoffSync, writeText, type DirOps } from './fsutil.js';

/** Docker's flag for each limit, so errors speak the user's language. */
export const CAP_FLAGS: Record<keyof CgroupLimits, string> = {
  memoryBytes: '--memory',
  memorySwapBytes: '--memory-swap',
  cpus: '--cpus',
  cpuShares: '--cpu-shares',
  cpusetCpus: '--cpuset-cpus',
  pidsLimit: '--pids-limit',
  blkioWeight: '--blkio-weight',
};

/** The controller each cap needs; block I/O's is blkio on v1 and io on v2 (job/enforce.ts asks it too). */
export function capControllers(blockIo: 'blkio' | 'io'): Record<keyof CgroupLimits, string> {
  return {
    memoryBytes: 'memory',
    memorySwapBytes: 'memory',
    cpus: 'cpu',
    cpuShares: 'cpu',
    cpusetCpus: 'cpuset',
    pidsLimit: 'pids',
    blkioWeight: blockIo,
  };
}

export const DELEGATION_FIX =
  'pass --cgroup-parent <a delegated cgroup> or RINGFENCE_CGROUP_PARENT, or run under a systemd scope with Delegate=yes';

const PERMISSION_FIX = `run ringfence as root, or ${DELEGATION_FIX}`;

/** The caps asked for, as [limit key, flag]. */
export function requestedCaps(limits: CgroupLimits): [keyof CgroupLimits, string][] {
  return (Object.keys(CAP_FLAGS) as (keyof CgroupLimits)[])
    .filter((key) => limits[key] !== undefined)
    .map((key) => [key, CAP_FLAGS[key]]);
}

/** Checks that belong to the limits themselves, whichever cgroup version enforces them. */
export function checkLimits(limits: CgroupLimits): void {
  const { memoryBytes, memorySwapBytes } = limits;
  if (memorySwapBytes !== undefined) {
    if (memoryBytes === undefined) {
      throw new CgroupError(
        '--memory-swap without --memory has nothing to add the swap to',
        'also pass --memory, or drop --memory-swap',
        '--memory-swap',
      );
    }
    if (memorySwapBytes !== -1 && memorySwapBytes < memoryBytes) {
      throw new CgroupError(
        `--memory-swap ${memorySwapBytes} is below --memory ${memoryBytes} (it counts memory plus swap)`,
        'pass a --memory-swap of at least --memory, or -1 for unlimited swap',
        '--memory-swap',
      );
    }
  }
}

/**
 * A write of one limit value; a refusal becomes a CgroupError naming the cap, the file and the fix.
 * `hintCodes`: errnos that mean a bad value for this file, not a permission problem (v1 cpuset
 * answers EACCES for CPUs outside the parent's), so the hint is the fix for them too.
 */
export function writeLimit(
  cap: string,
  file: string,
  value: string | number,
  hint?: string,
  hintCodes: readonly string[] = [],
): void {
  try {
    writeText(file, String(value));
  } catch (err) {
    throw limitError(cap, file, String(value), err, hint, hintCodes);
  }
}

export function limitError(
  cap: string,
  file: string,
  value: string,
  err: unknown,
  hint?: string,
  hintCodes: readonly string[] = [],
): CgroupError {
  if (err instanceof CgroupError) return err;
  const code = errnoOf(err) ?? String(err);
  let fix: string;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      fix = PERMISSION_FIX;
      break;
    case 'ENOENT':
      fix = `this kernel has no ${path.basename(file)}: drop ${cap}, or use a kernel whose controller has it`;
      break;
    default:
      fix = hint ?? `give ${cap} a value this kernel accepts, or drop it`;
  }
  if (hint !== undefined && hintCodes.includes(code)) fix = hint;
  return new CgroupError(
    `cannot apply ${cap}: writing ${JSON.stringify(value)} to ${file} failed (${code})`,
    fix,
    cap,
  );
}

export function mkdirError(dir: string, err: unknown): CgroupError {
  if (err instanceof CgroupError) return err;
  const code = errnoOf(err) ?? String(err);
  const fix =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? PERMISSION_FIX
      : code === 'ENOSPC' || code === 'EAGAIN'
        ? 'the cgroup tree is at its limit (cgroup.max.descendants / cgroup.max.depth); remove stale cgroups or raise it'
        : DELEGATION_FIX;
  return new CgroupError(`cannot create cgroup ${dir} (${code})`, fix);
}

/**
 * mkdir of a job directory. ENOENT: the instance parent, which the process's threads share, was
 * removed by the last one to dispose; `remakeParent` makes it again, once, and the mkdir is retried.
 */
export function mkdirJob(dir: string, ops: DirOps, remakeParent: () => void): void {
  try {
    ops.mkdir(dir);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw mkdirError(dir, err);
    remakeParent();
    try {
      ops.mkdir(dir);
    } catch (again) {
      throw mkdirError(dir, again);
    }
  }
}

/**
 * Runs `build`, which makes job directories (listing each in `made`) and applies caps; when it
 * throws, removes what it made, last first, and rethrows. They are fresh and empty, so rmdir succeeds
 * at once; a failed removal stays quiet (the build's error matters more, and dispose() retries).
 */
export function withRollback(made: readonly string[], ops: DirOps, build: () => void): void {
  try {
    build();
  } catch (err) {
    for (const dir of [...made].reverse()) {
      try {
        rmdirWithBackoffSync(dir, ops, 100);
      } catch {
        // left for dispose()
      }
    }
    throw err;
  }
}
