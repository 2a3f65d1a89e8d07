// The result's `disk` (--disk / --files): what a job left in its capped filesystem (fs/disk.ts), read
// once it has ended, and whether it reached a cap — with the line its reason carries. Pure.
import type { DiskCaps, DiskUsage } from '../fs/disk.js';
import type { LauncherReport } from '../launch/status.js';
import { formatBytes } from './format.js';
import type { JobDisk } from './result.js';

/**
 * Free space below which the byte cap counts as reached: ext4 keeps a little back for the blocks
 * that map a file's data, so a writer stops at ENOSPC with up to about this much unused.
 */
function slack(limit: number): number {
  return Math.max(2 * 2 ** 20, limit / 100);
}

/**
 * The figures, from the filesystem's usage at the job's end against its start: the inodes in use
 * once the launcher had made the overlay's directories there (its `layers` report), else when the
 * harness made it.
 */
export function jobDisk(
  d: { caps: DiskCaps; baseline: DiskUsage; usage: () => DiskUsage | null },
  reports: readonly LauncherReport[],
): JobDisk {
  const { caps, baseline } = d;
  const now = d.usage();
  const layers = reports.find((r) => r.kind === 'layers');
  const startFiles = layers?.kind === 'layers' ? layers.inodes : baseline.files;
  const bytes = now === null ? null : Math.max(0, now.bytes - baseline.bytes);
  const files = now === null ? null : Math.max(0, now.files - startFiles);
  let capReached: JobDisk['capReached'] = null;
  if (now !== null && caps.files !== null && now.freeFiles === 0) capReached = 'files';
  if (now !== null && caps.bytes !== null && now.freeBytes < slack(caps.bytes)) capReached = 'disk';
  return { bytes, files, limitBytes: caps.bytes, limitFiles: caps.files, capReached };
}

/** `disk: 99.9 MiB written, cap 100 MiB reached`, for a job that reached a cap; null otherwise. */
export function diskCapText(disk: JobDisk | undefined): string | null {
  if (!disk?.capReached) return null;
  if (disk.capReached === 'files')
    return `files: ${disk.files ?? '?'} created, cap ${disk.limitFiles ?? '?'} reached`;
  return `disk: ${disk.bytes === null ? '?' : formatBytes(disk.bytes)} written, cap ${formatBytes(disk.limitBytes ?? 0)} reached`;
}
