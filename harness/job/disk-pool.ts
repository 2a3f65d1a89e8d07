// The capped filesystems (--disk, --files; fs/disk.ts) this process hands its jobs: a spare made on
// the thread pool while a job runs, and the filesystems of ended jobs, emptied and kept for the
// next job with the same caps. Making one (a loop device, an ext4 mount) and dropping one (its
// unmount, the loop device's release) each take milliseconds of kernel work; emptying one that a
// job left all but empty takes a few directory removals.
import fs from 'node:fs';
import { closeFd, closeFdAsync } from '../../native/libc/fd.js';
import { removeTreeNative } from '../../native/spawn-lib/remove.js';
import { TMP_DIR, cappedFs, cappedFsAsync, diskUsage, type CappedFs, type DiskCaps } from '../fs/disk.js';

export { TMP_DIR };
/** mke2fs's, invisible to jobs: kept when a filesystem is emptied. */
const LOST_FOUND = 'lost+found';
/** Emptied filesystems kept per caps: one for the next job, one for a job still being removed. */
const POOL_MAX = 2;

function capsKey(caps: DiskCaps): string {
  return `${caps.bytes ?? '-'}:${caps.files ?? '-'}`;
}

/** A spare being made (fs null) or ready, for the caps the last capped job had. */
let spare: { key: string; fs: CappedFs | null } | null = null;
let spareMaking: Promise<void> = Promise.resolve();
let lastCaps: DiskCaps | null = null;
const pool = new Map<string, CappedFs[]>();

/** A capped filesystem for a job: an emptied one, the spare, or a new one (made here, synchronously). */
export function takeCappedFs(caps: DiskCaps, scratchPrefix: string): CappedFs {
  lastCaps = caps;
  const key = capsKey(caps);
  const kept = pool.get(key)?.pop();
  if (kept) return kept;
  if (spare?.fs) {
    const ready = spare;
    spare = null;
    if (ready.key === key && ready.fs) return ready.fs;
    if (ready.fs) void closeFdAsync(ready.fs.fd);
  }
  return cappedFs(caps, scratchPrefix);
}

/** While a job runs: a spare for the next, unless one is kept or being made. */
export function prepareSpareDisk(scratchPrefix: string): void {
  if (!lastCaps || spare !== null || (pool.get(capsKey(lastCaps))?.length ?? 0) > 0) return;
  const making = { key: capsKey(lastCaps), fs: null as CappedFs | null };
  spare = making;
  spareMaking = cappedFsAsync(lastCaps, scratchPrefix).then(
    (made) => {
      if (spare === making) making.fs = made;
      else void closeFdAsync(made.fd); // released meanwhile
    },
    () => {
      if (spare === making) spare = null; // the next job makes its own, and says why it could not
    },
  );
}

/**
 * A job's filesystem once the job is gone: emptied (everything but lost+found, on the thread pool)
 * and kept for the next job with the same caps when it is back to what it held new; else dropped.
 */
export async function recycle(caps: DiskCaps, made: CappedFs): Promise<void> {
  const root = `/proc/self/fd/${made.fd}`;
  try {
    const names = await fs.promises.readdir(root);
    await Promise.all(names.filter((n) => n !== LOST_FOUND).map((n) => removeTreeNative(`${root}/${n}`)));
    await fs.promises.mkdir(`${root}/${TMP_DIR}`, { mode: 0o700 });
    const now = diskUsage(root);
    const list = pool.get(capsKey(caps)) ?? [];
    // as new, or not reused: a file the job could leave behind must not reach the next job
    if (
      now &&
      now.files === made.baseline.files &&
      now.bytes <= made.baseline.bytes &&
      list.length < POOL_MAX
    ) {
      list.push(made);
      pool.set(capsKey(caps), list);
      return;
    }
  } catch {
    // dropped below
  }
  await closeFdAsync(made.fd);
}

/** Resolves once no spare is being made (its image file is gone by then). */
export function spareDiskSettled(): Promise<void> {
  return spareMaking;
}

/** Drops the spare and every kept filesystem (synchronously: exit handlers and settle call it). */
export function releaseDisks(): void {
  if (spare?.fs) closeFd(spare.fs.fd);
  spare = null;
  for (const list of pool.values()) for (const kept of list) closeFd(kept.fd);
  pool.clear();
}
