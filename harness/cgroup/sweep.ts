// Removal of what a harness left behind, for v1 and v2 alike: the instance parents of a process that
// died (found by the owner named in the directory's name) and the job cgroups of a worker thread that
// died mid-job. Each job cgroup found is killed through the one kill path (kill.ts), then removed.
import path from 'node:path';
import type { SweepReport } from './types.js';
import { childDirs, rmdirWithBackoff, type DirOps } from './fsutil.js';
import { isInstanceStale, parseInstanceName } from './instance.js';
import type { KillableCgroup } from './kill.js';

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

/**
 * sweepStale of a driver: `sweepInstance` empties and removes each stale instance (its directories,
 * one per v1 hierarchy). One that fails stays listed as stale, for the next start to try again.
 */
export async function sweepStaleInstances(
  baseDirs: readonly string[],
  ownName: string,
  procRoot: string | undefined,
  sweepInstance: (instanceDirs: readonly string[], report: SweepReport) => Promise<void>,
): Promise<SweepReport> {
  const report: SweepReport = { removed: [], killedPids: [] };
  for (const instanceDirs of findStaleInstances(baseDirs, ownName, procRoot).values()) {
    try {
      await sweepInstance(instanceDirs, report);
    } catch {
      // a process stuck in D state (or a concurrent sweeper) must not stop this start
    }
  }
  return report;
}

/**
 * Kills and removes a dead instance's job cgroups, then its parent: a parent should hold no process
 * itself, but one that does must not block the removal of the instance's directories.
 */
export async function removeInstance(
  jobs: readonly KillableCgroup[],
  parent: KillableCgroup,
  instanceDirs: readonly string[],
  ops: DirOps,
  report: SweepReport,
): Promise<void> {
  for (const job of jobs) report.killedPids.push(...(await job.sweep()));
  report.killedPids.push(...(await parent.sweep()));
  for (const dir of instanceDirs) {
    await rmdirWithBackoff(dir, ops);
    report.removed.push(dir);
  }
}

/** reapThread of a driver: kills and removes the job cgroups of a worker thread that died. */
export async function reapJobs(jobs: readonly KillableCgroup[]): Promise<SweepReport> {
  const report: SweepReport = { removed: [], killedPids: [] };
  for (const job of jobs) {
    report.killedPids.push(...(await job.sweep()));
    report.removed.push(...job.paths);
  }
  return report;
}
