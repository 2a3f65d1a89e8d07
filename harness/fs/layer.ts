// `--keep-layer`: a job's writes outside its workdir kept as a layer, the diff of its run on the
// host's files, instead of being discarded with its scratch. The upper layers of its overlays (one per
// host mount point, harness/fs/pollution.ts) are merged into one tree rooted at the job's `/`, in the
// OCI image-layer form that Docker, podman and `tar -x` all read:
//   - a deletion (overlayfs's whiteout, a 0/0 character device) becomes an empty file `.wh.<name>`;
//   - a directory the job replaced (opaque) holds an empty `.wh..wh..opq`;
//   - files, directories and symlinks are copied as they are — a symlink is copied, never followed —
//     with permission bits only and no extended attributes: a job cannot make a set-uid file (the
//     launcher's seccomp filter), but a host file with one that it touched is copied up with the bit,
//     and must not become a set-uid file of the layer's user; each such path is named in the result
//     (`stripped`). Sockets, FIFOs and devices are left out and counted.
// The tree is made in a staging directory beside the target and renamed into place (a tar file is
// written from it by node-tar and renamed likewise), so a target never holds half a layer. Every
// directory of the target is made by this code and checked with lstat before anything is put in it:
// a layer whose mount point the job turned into a symlink (it renamed the mount point's parent and
// planted a link there) is skipped, not followed out of the target.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readXattr } from '../../native/libc/xattr.js';
import { isWithin } from '../job/protect.js';
import type { KeptLayer } from '../job/result.js';
import type { UpperLayer } from './upper.js';

/**
 * node-tar, loaded when a layer is first written as a tar file: every `run`, `ci` and Vitest run
 * loads this module, and only `--keep-layer …:tar` needs tar (tens of ms to load on a slow host).
 * Loaded after a job has run, it is ringfence's own dependency (its CommonJS build), which jobs see
 * read-only (job/protect.ts), as the reporters loaded late are.
 */
let tarModule: typeof import('tar') | null = null;
function tar(): typeof import('tar') {
  tarModule ??= createRequire(import.meta.url)('tar') as typeof import('tar');
  return tarModule;
}

/** Bounds of the copy: a layer is the job's output, but a tree ten thousand levels deep is an attack. */
export const KEEP_LIMITS = { entries: 1_000_000, depth: 128 };

const WHITEOUT_PREFIX = '.wh.';
/** S_ISUID | S_ISGID: never copied into a layer. */
const PRIVILEGE_BITS = 0o6000;
const OPAQUE_MARKER = '.wh..wh..opq';

function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(dir: string): boolean {
  return ['trusted.overlay.opaque', 'user.overlay.opaque'].some(
    (name) => readXattr(dir, name)?.toString('latin1') === 'y',
  );
}

interface Copy {
  /** read from the upper layers: the bound */
  visited: number;
  /** written to the layer */
  entries: number;
  skipped: number;
  /** Job paths copied without their set-uid or set-gid bit. */
  stripped: string[];
  incomplete: boolean;
  /** Directories made, deepest last: their modes are set once everything is inside. */
  dirs: { path: string; mode: number }[];
}

/**
 * The directory of `root` for the job's path `jobDir` (`/` → root), made where missing. null when a
 * component exists and is not a directory this code made (a symlink, a file): the caller skips.
 */
function targetDir(root: string, jobDir: string): string | null {
  let dir = root;
  for (const part of jobDir.split('/').filter((p) => p !== '')) {
    dir = path.join(dir, part);
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (st === undefined) fs.mkdirSync(dir, { mode: 0o755 });
    else if (!st.isDirectory()) return null;
  }
  return dir;
}

/** Copies one upper layer into `into` (the target directory of its mount point). */
function copyLayer(upper: string, jobRoot: string, into: string, skip: readonly string[], copy: Copy): void {
  const pending = [{ from: upper, to: into, jobPath: jobRoot, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let names: string[];
    try {
      names = fs.readdirSync(next.from);
    } catch {
      copy.incomplete = true;
      continue;
    }
    for (const name of names) {
      const jobPath = path.posix.join(next.jobPath, name);
      if (skip.some((s) => isWithin(jobPath, s))) continue;
      if (++copy.visited > KEEP_LIMITS.entries) {
        copy.incomplete = true;
        return;
      }
      const from = path.join(next.from, name);
      const to = path.join(next.to, name);
      const st = fs.lstatSync(from);
      if (isWhiteout(st)) {
        fs.writeFileSync(path.join(next.to, WHITEOUT_PREFIX + name), '', { flag: 'wx', mode: 0o644 });
      } else if (st.isDirectory()) {
        if (next.depth + 1 > KEEP_LIMITS.depth) {
          copy.incomplete = true;
          continue;
        }
        // a directory of this layer may already be there from an earlier layer's copied-up parent
        const there = fs.lstatSync(to, { throwIfNoEntry: false });
        if (there === undefined) {
          fs.mkdirSync(to, { mode: 0o700 });
          copy.dirs.push({ path: to, mode: st.mode & 0o777 });
        } else if (!there.isDirectory()) {
          copy.incomplete = true;
          continue;
        }
        if (isOpaque(from)) fs.writeFileSync(path.join(to, OPAQUE_MARKER), '', { flag: 'wx', mode: 0o644 });
        pending.push({ from, to, jobPath, depth: next.depth + 1 });
      } else if (st.isFile()) {
        fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL);
        fs.chmodSync(to, st.mode & 0o777);
        fs.utimesSync(to, st.atime, st.mtime);
      } else if (st.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(from), to);
      } else {
        copy.skipped++; // a socket, FIFO or device: not part of a layer one can apply
        continue;
      }
      if ((st.isFile() || st.isDirectory()) && st.mode & PRIVILEGE_BITS) copy.stripped.push(jobPath);
      copy.entries++;
    }
  }
}

/**
 * Keeps the job's layer at `target` (see the file comment). Never throws: a layer that could not be
 * kept is a result with `error`, the job's own outcome stands.
 */
export function keepLayer(
  layers: readonly UpperLayer[],
  skip: readonly string[],
  target: { path: string; format: 'dir' | 'tar' },
): KeptLayer {
  const staging = `${target.path}.ringfence-partial-${process.pid}-${Date.now()}`;
  const copy: Copy = { visited: 0, entries: 0, skipped: 0, stripped: [], incomplete: false, dirs: [] };
  try {
    fs.mkdirSync(staging, { mode: 0o700 });
    // parents first: `/`'s layer, then `/home`'s, so a mount point's directory is checked as made
    const sorted = [...layers].sort((a, b) => a.mountPoint.length - b.mountPoint.length);
    for (const layer of sorted) {
      const into = targetDir(staging, layer.mountPoint);
      if (into === null) copy.incomplete = true;
      else copyLayer(layer.upper, layer.mountPoint, into, skip, copy);
    }
    // a tar is read from the staging tree afterwards: its directories stay open to their owner
    const readable = target.format === 'tar' ? 0o700 : 0;
    for (const dir of copy.dirs.reverse()) fs.chmodSync(dir.path, dir.mode | readable);
    fs.chmodSync(staging, 0o755);
    if (target.format === 'dir') {
      // the target was checked absent or empty before the job; it may have been filled since
      try {
        fs.rmdirSync(target.path); // an empty directory only: a full one is ENOTEMPTY, kept as it is
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      fs.renameSync(staging, target.path);
    } else {
      const partial = `${staging}.tar`;
      const top = fs.readdirSync(staging);
      if (top.length === 0)
        fs.writeFileSync(partial, Buffer.alloc(1024)); // an empty archive
      else tar().create({ file: partial, cwd: staging, sync: true, portable: true }, top);
      fs.renameSync(partial, target.path);
      fs.rmSync(staging, { recursive: true, force: true });
    }
    return {
      path: target.path,
      format: target.format,
      entries: copy.entries,
      ...(copy.skipped ? { skipped: copy.skipped } : {}),
      ...(copy.stripped.length ? { stripped: copy.stripped } : {}),
      ...(copy.incomplete ? { incomplete: true } : {}),
    };
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.rmSync(`${staging}.tar`, { force: true });
    const err = error as NodeJS.ErrnoException;
    return {
      path: target.path,
      format: target.format,
      entries: copy.entries,
      error: err.code ?? err.message,
    };
  }
}
