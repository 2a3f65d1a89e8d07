// A job's capped storage (--disk, --files): one small ext4 filesystem of its own, in a sparse file on
// the host's disk attached to a loop device and mounted nowhere (an fd, as the layers tmpfs), that
// holds the job's /tmp and its overlay layers. The kernel refuses a write past its size (ENOSPC) and
// a file past its inode count at once; its pages are page cache, written back to disk, so the cap is
// not charged to the job's memory as a tmpfs would be. The image file is unlinked as soon as it is
// open (the loop device attaches by fd): the space comes back when the mount is gone, whatever ends
// the harness, even a Ctrl-C while a spare's loop device is being attached.
//
// Each job's image is a template's few data blocks written into a new sparse file (disk-template.ts:
// mke2fs once per size and file count in a thread, no exec per job).
import fs from 'node:fs';
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { closeFd } from '../../native/libc/fd.js';
import { loopAttach, loopMountAsync, type DeviceFiles } from '../../native/libc/loop.js';
import { detachedMount } from '../../native/libc/mount.js';
import { isRoot } from '../identity.js';
import { mke2fs, template, type DiskCaps } from './disk-template.js';

export type { DiskCaps };

export interface CappedFs {
  /** An fd of the mounted filesystem's root (close-on-exec); the filesystem lives while it is open. */
  fd: number;
  /** What it held when the job got it: the root, lost+found, the job's /tmp. */
  baseline: DiskUsage;
}

export interface DiskUsage {
  bytes: number;
  files: number;
  /** Bytes and inodes still free. */
  freeBytes: number;
  freeFiles: number;
}

/** Loop devices opened and closed by Node's fs, read-write and close-on-exec (as every fd Node opens). */
const devices: DeviceFiles = {
  open: (device) => fs.openSync(device, fs.constants.O_RDWR),
  close: (fd) => fs.closeSync(fd),
};

/**
 * noinit_itable: the lazy inode-table zeroing thread would write the whole table, sparse no more.
 * nobarrier: no cache flushes, which the loop device turns into an fsync of the image on the host's
 * disk (an overlay's unmount syncs its upper filesystem): what the job leaves is thrown away.
 */
const MOUNT_FLAGS = ['noinit_itable', 'nobarrier'];

/** Images made by this process: each gets its own name (a spare's may still be in the making). */
let images = 0;

/** A new sparse image with the template's blocks written in, open read-write, its name already gone. */
function writeImage(caps: DiskCaps, scratchPrefix: string): number {
  const t = template(caps, scratchPrefix);
  const image = `${scratchPrefix}disk-${++images}`;
  const fd = fs.openSync(image, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  fs.unlinkSync(image);
  try {
    fs.ftruncateSync(fd, t.size);
    for (const b of t.blocks) fs.writeSync(fd, b.data, 0, b.data.length, b.offset);
    return fd;
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** The job's /tmp in its capped filesystem: made with it, so the job's files count from here. */
export const TMP_DIR = 'tmp';

/**
 * A capped filesystem for one job, with its `tmp` directory (0700). `scratchPrefix` names the image
 * beside the job's scratch dir (the stale sweep removes one a crash left before it was unlinked).
 * Throws where the host cannot have one (no loop devices, not root, no mke2fs): the caller says so.
 */
export function cappedFs(caps: DiskCaps, scratchPrefix: string): CappedFs {
  const fd = writeImage(caps, scratchPrefix);
  let loop: { fd: number; path: string } | null = null;
  try {
    loop = loopAttach(fd, devices);
    const mount = detachedMount('ext4', { source: loop.path }, MOUNT_FLAGS);
    fs.mkdirSync(`/proc/self/fd/${mount}/${TMP_DIR}`, { mode: 0o700 });
    return { fd: mount, baseline: diskUsage(`/proc/self/fd/${mount}`) ?? zero() };
  } finally {
    if (loop) devices.close(loop.fd);
    fs.closeSync(fd);
  }
}

/**
 * cappedFs with the kernel's slow steps (attaching the loop device, reading the new filesystem) on
 * libuv's thread pool: for the spare made while a job runs, which must not hold up this thread.
 */
export async function cappedFsAsync(caps: DiskCaps, scratchPrefix: string): Promise<CappedFs> {
  // a worker thread makes it synchronously: koffi's async completion in a thread being torn down is
  // fatal to the process (Koromix/koffi#190, native/spawn-lib/library.ts)
  if (!isMainThread) {
    await new Promise((resolve) => setImmediate(resolve));
    return cappedFs(caps, scratchPrefix);
  }
  const fd = writeImage(caps, scratchPrefix);
  try {
    const mount = await loopMountAsync(fd, devices, 'ext4', MOUNT_FLAGS);
    const root = `/proc/self/fd/${mount}`;
    try {
      await fs.promises.mkdir(`${root}/${TMP_DIR}`, { mode: 0o700 });
      const st = await fs.promises.statfs(root);
      return { fd: mount, baseline: usageOf(st) };
    } catch (error) {
      closeFd(mount);
      throw error;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function zero(): DiskUsage {
  return { bytes: 0, files: 0, freeBytes: 0, freeFiles: 0 };
}

/** What a capped filesystem holds now (statfs), or null when it cannot be read. */
export function diskUsage(root: string): DiskUsage | null {
  try {
    return usageOf(fs.statfsSync(root));
  } catch {
    return null;
  }
}

function usageOf(st: fs.StatsFs): DiskUsage {
  return {
    bytes: (st.blocks - st.bfree) * st.bsize,
    files: st.files - st.ffree,
    freeBytes: st.bavail * st.bsize,
    freeFiles: st.ffree,
  };
}

/** Whether this process may make capped filesystems: root, with loop devices and mke2fs. */
let possible: boolean | null = null;

export function cappedFsPossible(): boolean {
  possible ??= probe();
  return possible;
}

function probe(): boolean {
  if (!isRoot() || os.platform() !== 'linux' || !fs.existsSync('/dev/loop-control')) return false;
  try {
    mke2fs();
    return true;
  } catch {
    return false;
  }
}
