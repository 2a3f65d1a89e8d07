// What v1 and v2 share besides the kill path (kill.ts): errors that name the cap and the fix, and the
// scan for parents left by a harness that died.
import path from 'node:path';
import { CgroupError, type CgroupLimits } from './types.js';
import { childDirs, errnoOf, writeText } from './fsutil.js';
import { isInstanceStale, parseInstanceName } from './instance.js';

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
 * `ringfence-*` parents under the given base directories whose owner is gone (or whose pid now names
 * a different process), grouped by name: on v1 one name has a directory in every hierarchy.
 * Never lists `ownName`, nor a parent whose owner is alive (another thread of this process included).
 */
export function findStaleInstances(
  baseDirs: readonly string[],
  ownName: string,
  procRoot?: string,
): Map<string, string[]> {
  const stale = new Map<string, string[]>();
  const verdict = new Map<string, boolean>();
  for (const base of baseDirs) {
    for (const dir of childDirs(base)) {
      const name = path.basename(dir);
      if (name === ownName) continue;
      const id = parseInstanceName(name);
      if (id === null) continue;
      let isStale = verdict.get(name);
      if (isStale === undefined) {
        isStale = isInstanceStale(id, procRoot);
        verdict.set(name, isStale);
      }
      if (!isStale) continue;
      const list = stale.get(name) ?? [];
      list.push(dir);
      stale.set(name, list);
    }
  }
  return stale;
}
