// How many CPUs this process may really use: the affinity mask (cpuset) and, unlike os.cpus(), its
// own cgroup's CPU quota. A CI container limited to 2 CPUs on a 64-core host must not run 64 jobs.
import os from 'node:os';
import path from 'node:path';
import { detectCgroupHost } from '../cgroup/detect.js';
import { readOptional as readFileOrNull } from '../cgroup/fsutil.js';

function readOptional(file: string): string | null {
  try {
    return readFileOrNull(file)?.trim() ?? null;
  } catch {
    return null; // unreadable counts as unlimited: the quota only ever lowers the default
  }
}

/** quota/period → CPUs, walking up from the own cgroup (a parent's quota caps the children too). */
function quotaCpus(): number | null {
  let host;
  try {
    host = detectCgroupHost();
  } catch {
    return null;
  }
  let best: number | null = null;
  const consider = (cpus: number): void => {
    if (cpus > 0 && (best === null || cpus < best)) best = cpus;
  };
  if (host.version === 'v2' && host.unified) {
    for (let dir = host.unified.ownPath; ; dir = path.posix.dirname(dir)) {
      const max = readOptional(path.join(host.unified.mountPoint, dir, 'cpu.max'));
      const [quota, period] = (max ?? '').split(' ');
      if (quota && quota !== 'max' && period) consider(Number(quota) / Number(period));
      if (dir === '/') break;
    }
  } else {
    const cpu = host.controllers.cpu;
    if (cpu) {
      for (let dir = cpu.ownPath; ; dir = path.posix.dirname(dir)) {
        const quota = Number(readOptional(path.join(cpu.mountPoint, dir, 'cpu.cfs_quota_us')) ?? -1);
        const period = Number(readOptional(path.join(cpu.mountPoint, dir, 'cpu.cfs_period_us')) ?? 0);
        if (quota > 0 && period > 0) consider(quota / period);
        if (dir === '/') break;
      }
    }
  }
  return best;
}

/** The CPUs this process may use: min(affinity, cgroup quota rounded up), at least 1. */
export function usableCpus(): number {
  const affinity = os.availableParallelism();
  const quota = quotaCpus();
  return Math.max(1, quota === null ? affinity : Math.min(affinity, Math.ceil(quota)));
}
