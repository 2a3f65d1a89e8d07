// Each job's scratch directory: its private /tmp inside the sandbox. Made by mkdtemp(3) under the
// host's tmpdir with the owner instance in its name, removed without following any symlink the job
// left (fs.rm unlinks links, it never descends into them), and swept when an earlier ringfence died.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeFd } from '../../native/libc/fd.js';
import { cloneMount, detachedTmpfs } from '../../native/libc/mount.js';
import { rmdirEachNative } from '../../native/spawn-lib/cgfiles.js';
import { removeTreeNative, removeTreeNativeSync } from '../../native/spawn-lib/remove.js';
import { detachedTmpfsInOwnUserns, keepsUserXattrs } from '../../native/spawn-lib/usertmpfs.js';
import { formatInstanceName, isInstanceStale, ownInstanceId, type InstanceId } from '../cgroup/instance.js';
import { diskUsage, type DiskCaps, type DiskUsage } from '../fs/disk.js';
import { makeTemplateAhead } from '../fs/disk-template.js';
import {
  TMP_DIR,
  prepareSpareDisk,
  recycle,
  releaseDisks,
  spareDiskSettled,
  takeCappedFs,
} from './disk-pool.js';
import { isRoot } from '../identity.js';

// ringfence-<pid>-<starttime>-<threadId>-<random>: the cgroup instance name plus mkdtemp's suffix
const NAME = /^ringfence-(\d+)-(\d+)-(\d+)-/;

export interface Scratch {
  /** The job's /tmp. */
  path: string;
  /**
   * Where the job's overlay layers go (`--fs overlay`): a sibling of `path`, `<path>.fs`, so the job
   * never sees it (its /tmp is `path`); swept and removed with it. null when not asked for.
   */
  overlay: string | null;
  /**
   * Where the layers live when they are on a tmpfs of their own (root, no user namespace): the
   * launcher's `--overlay-mount` (this process's fd of a detached tmpfs, attached in the job's mount
   * namespace at `overlay`), and the path this process reads them through afterwards. null: on disk,
   * in `overlay` itself.
   */
  layers: { mount: string; read: string } | null;
  /** What the launcher binds at the job's /tmp: `path`, or a directory of the capped filesystem. */
  tmpDir: string;
  /** --disk / --files: the capped filesystem that holds /tmp and the layers; null without a cap. */
  disk: { caps: DiskCaps; baseline: DiskUsage; usage: () => DiskUsage | null } | null;
  remove(): Promise<void>;
  /** remove() for exit handlers, which cannot wait. */
  removeSync(): void;
}

let prefix: string | null = null;
/** A directory made while the previous job ran (see prepareSpareScratch). */
let spare: string | null = null;
/** `<spare>.fs`, made with it once this process's jobs use overlays: their layers' mount point. */
let spareLayersDir: string | null = null;
/**
 * A layers tmpfs made while the previous job ran (prepareSpareScratch), once a job has used one: an
 * fd of this process only (close-on-exec), empty, that no job has seen; taken by the next overlay job
 * whose root inside is its `owner` (null: ours).
 */
let spareTmpfs: { fd: number; owner: number | null } | null = null;
/** This process's jobs have used overlays: the spares then include their mount point. */
let overlayUsed = false;
/** The owner the last job's layers tmpfs had (undefined: no job had one): the spare's is made so. */
let tmpfsOwner: number | null | undefined;
function makeDir(): string {
  // synchronous on purpose: a mkdir is microseconds, a thread-pool round trip is not. mkdtemp: one
  // system call, mode 0700, never an existing name; tmp-promise's dirSync resolved the tmpdir's real
  // path and stat'ed (and threw on) a name before each mkdir, on every job's path
  prefix ??= `${formatInstanceName(ownInstanceId())}-`;
  return fs.mkdtempSync(path.join(realTmpdir(), prefix));
}

/** The host's tmpdir as a real path (the launcher binds and mounts under it), resolved once a value. */
let tmpdirSeen: { value: string; real: string } | null = null;
function realTmpdir(): string {
  const value = os.tmpdir();
  if (tmpdirSeen?.value !== value) tmpdirSeen = { value, real: fs.realpathSync(value) };
  return tmpdirSeen.real;
}

/**
 * The capped filesystems' templates (fs/disk-template.ts) for jobs about to come, made on the side
 * now: `ci` knows its jobs' caps before the first one starts.
 */
export function prepareDiskTemplates(caps: readonly DiskCaps[]): void {
  prefix ??= `${formatInstanceName(ownInstanceId())}-`;
  for (const each of caps) makeTemplateAhead(each, path.join(os.tmpdir(), prefix));
}

/**
 * Root inside a job's user namespace, when ringfence runs as root: the first id of the range the
 * launcher maps (native/launcher/userns.c, SUBID_BASE). Rootless, root inside is the user.
 */
export const USERNS_ROOT_ID = 100000;

/**
 * `shared` widens the job's /tmp to 1777 for jobs that run as another uid (--user, --userns).
 * `overlay` adds `<path>.fs` for the overlay's layers, which the job's init makes: owned by the
 * id init runs as (root in a user namespace is uid 100000 when ringfence is root) and open to no
 * one else, so nothing can be planted there before it.
 */
export function createScratch(
  shared: boolean,
  overlay: { userns: boolean } | null = null,
  caps: DiskCaps | null = null,
): Scratch {
  const dir = spare ?? makeDir();
  spare = null;
  // --disk / --files: /tmp and the layers in one capped filesystem (planJob degraded the caps where
  // this process cannot make one)
  const capped = caps ? takeCappedFs(caps, `${dir}.`) : null;
  // the job's launcher attaches a copy, which goes with its namespace; `capped` stays this process's
  const cloneFd = capped ? cloneMount(capped.fd) : null;
  // the spare's layers dir, when this job has no overlay, goes with its scratch (off the job's path)
  const unusedLayers = !overlay && spareLayersDir === `${dir}.fs` ? spareLayersDir : null;
  if (unusedLayers) spareLayersDir = null;
  if (shared) fs.chmodSync(dir, 0o1777);
  let layers: string | null = null;
  let tmpfs: number | null = null;
  if (overlay) {
    overlayUsed = true;
    layers = `${dir}.fs`;
    if (spareLayersDir === layers)
      spareLayersDir = null; // made with the spare dir, off the job's path
    else fs.mkdirSync(layers, { mode: 0o700 });
    if (cloneFd !== null) tmpfs = cloneFd;
    else {
      // root's --userns job: its root inside is USERNS_ROOT_ID, which must own its layers
      const owner = overlay.userns && isRoot() ? USERNS_ROOT_ID : null;
      tmpfs = layersTmpfs(owner);
      if (tmpfs === null && owner !== null) fs.chownSync(layers, owner, owner);
    }
  }
  const root = capped ? `/proc/self/fd/${capped.fd}` : null;
  if (root && shared) fs.chmodSync(`${root}/${TMP_DIR}`, 0o1777);
  const paths = [dir, ...(layers ? [layers] : []), ...(unusedLayers ? [unusedLayers] : [])];
  // the tmpfs and all the job wrote in it go with the last reference: this fd (its namespace is gone)
  let open = true;
  let cloneClosed = false;
  const release = (): void => {
    if (tmpfs !== null && tmpfs !== cloneFd) closeFd(tmpfs);
    tmpfs = null;
    if (cloneFd !== null && !cloneClosed) closeFd(cloneFd);
    cloneClosed = true;
  };
  // the capped filesystem, emptied for the next job or dropped, off this thread: removal waits for it
  const releaseDisk = async (): Promise<void> => {
    if (!capped || !caps || !open) return;
    open = false;
    await recycle(caps, capped);
  };
  const releaseDiskSync = (): void => {
    if (capped && open) closeFd(capped.fd);
    open = false;
  };
  return {
    path: dir,
    overlay: layers,
    layers:
      tmpfs === null ? null : { mount: `/proc/${process.pid}/fd/${tmpfs}`, read: `/proc/self/fd/${tmpfs}` },
    tmpDir: cloneFd === null ? dir : `/proc/${process.pid}/fd/${cloneFd}/${TMP_DIR}`,
    disk:
      caps && capped && root
        ? { caps, baseline: capped.baseline, usage: () => (open ? diskUsage(root) : null) }
        : null,
    remove: async () => {
      release();
      await releaseDisk();
      // the common case, directories the job left empty, in one trip to a worker thread; the rest
      // (what the job left in its /tmp) the slower ways of removeTree
      const left = await rmdirEachNative(paths);
      await Promise.all(left.map((p) => removeTree(p)));
    },
    removeSync: () => {
      release();
      releaseDiskSync();
      for (const p of paths) removeTreeSync(p);
    },
  };
}

/**
 * A detached tmpfs for a job's upper layers (cheap to make, where overlayfs would probe a journalled
 * disk at every mount), its root owned by `owner` (null: us), or null where none can be had (an old
 * kernel, no user namespaces): the layers then go on disk beside the scratch, as before. Without
 * CAP_SYS_ADMIN (rootless, a container's root) it is made in a user namespace of its own
 * (native/spawn/usertmpfs.c), which maps our ids alone, and the launcher attaches it in the job's
 * namespace just the same. A way refused once (EPERM, ENOSYS, EOPNOTSUPP) is not tried again.
 */
let rootTmpfs = isRoot();
let userTmpfs = true;
/**
 * Whether root's tmpfs keeps user.* attributes (checked once): overlayfs in a --userns job's user
 * namespace keeps its own there (an opaque directory), which a tmpfs does only on Linux 6.6+.
 */
let userXattrs: boolean | undefined;

function newTmpfs(owner: number | null): number | null {
  if (process.env.RINGFENCE_LAYERS === 'disk') return null;
  if (rootTmpfs && (owner === null || userXattrs !== false)) {
    let fd: number;
    try {
      fd = detachedTmpfs({ mode: '0700', ...(owner === null ? {} : { uid: `${owner}`, gid: `${owner}` }) });
    } catch {
      rootTmpfs = false;
      return newTmpfs(owner);
    }
    if (owner === null || (userXattrs ??= keepsUserXattrs(fd))) return fd;
    closeFd(fd);
    return null;
  }
  if (userTmpfs && owner === null) {
    try {
      return detachedTmpfsInOwnUserns();
    } catch {
      userTmpfs = false;
    }
  }
  return null;
}

function layersTmpfs(owner: number | null): number | null {
  tmpfsOwner = owner;
  const ready = spareTmpfs;
  spareTmpfs = null;
  // RINGFENCE_LAYERS=disk set after the spare was made still wins
  if (ready !== null && (ready.owner !== owner || process.env.RINGFENCE_LAYERS === 'disk')) closeFd(ready.fd);
  else if (ready !== null) return ready.fd;
  return newTmpfs(owner);
}

/**
 * Makes the next job's scratch dir now, while the harness waits on a running job — and its layers
 * tmpfs, once this process's jobs use them (fsopen, fsconfig and fsmount, off the next job's path).
 */
export function prepareSpareScratch(): void {
  spare ??= makeDir();
  if (overlayUsed && spareLayersDir === null) {
    fs.mkdirSync(`${spare}.fs`, { mode: 0o700 });
    spareLayersDir = `${spare}.fs`;
  }
  if (tmpfsOwner !== undefined && spareTmpfs === null) {
    const fd = newTmpfs(tmpfsOwner);
    if (fd !== null) spareTmpfs = { fd, owner: tmpfsOwner };
  }
  prepareSpareDisk(`${spare}.`);
}

/** Resolves once no spare capped filesystem is being made (its image file is gone by then). */
export function spareScratchSettled(): Promise<void> {
  return spareDiskSettled();
}

export function releaseSpareScratch(): void {
  if (spareLayersDir) fs.rmdirSync(spareLayersDir);
  spareLayersDir = null;
  if (spare) fs.rmdirSync(spare);
  spare = null;
  if (spareTmpfs !== null) closeFd(spareTmpfs.fd);
  spareTmpfs = null;
  releaseDisks();
}

/**
 * Removes a scratch dir and all the job left in it. fs.rm unlinks symlinks, it never follows them; but
 * it walks by full path, so a tree nested past PATH_MAX (a job builds one with relative mkdir and
 * chdir) ends in ENAMETOOLONG, and fs.rmSync overflows the stack on it. ringfence's own walk by
 * directory fd (native/spawn/remove.c) then removes the rest. Never rm(1): after a job ran, the
 * harness executes nothing from the host's filesystem, which a job may have been able to write.
 */
export async function removeTree(target: string): Promise<void> {
  try {
    await fs.promises.rmdir(target); // the common case: the job left its /tmp empty
  } catch {
    try {
      await fs.promises.rm(target, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      await removeTreeNative(target);
    }
  }
}

/** removeTree for exit handlers, which cannot wait. */
export function removeTreeSync(target: string): void {
  try {
    fs.rmSync(target, { recursive: true, force: true });
  } catch {
    removeTreeNativeSync(target);
  }
}

/**
 * Removes the scratch dirs of one instance of this process whatever its liveness (a worker thread
 * that died: the stale sweep leaves them while the process lives); returns the paths removed.
 */
export async function removeInstanceScratch(instance: InstanceId, tmpdir = os.tmpdir()): Promise<string[]> {
  const prefix = `${formatInstanceName(instance)}-`;
  const names = await fs.promises.readdir(tmpdir).catch(() => []);
  const removed: string[] = [];
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    await removeTree(path.join(tmpdir, name));
    removed.push(path.join(tmpdir, name));
  }
  return removed;
}

/** Removes scratch dirs of ringfence processes that are gone; returns the paths removed. */
export async function sweepStaleScratch(tmpdir = os.tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(tmpdir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = NAME.exec(name);
    if (
      !match ||
      !isInstanceStale({ pid: Number(match[1]), startTime: match[2] ?? '', threadId: Number(match[3]) })
    )
      continue;
    const target = path.join(tmpdir, name);
    await removeTree(target);
    removed.push(target);
  }
  return removed;
}

/**
 * Inodes in use on a job's layers tmpfs (`Scratch.layers.read`), or null (layers on disk, or a tmpfs
 * without an inode limit, which counts none): compared with the launcher's count from before the job
 * (pollution.ts, untouched).
 */
export function layersInodes(read: string | null): number | null {
  if (read === null) return null;
  try {
    const st = fs.statfsSync(read);
    return st.files > 0 ? st.files - st.ffree : null;
  } catch {
    return null;
  }
}
