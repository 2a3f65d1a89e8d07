// How a job's workdir is bound in, and what of it stays read-only: the workdir at its own path
// where the job would not otherwise write the host's copy (the overlay, a private /tmp), its `.git`,
// node_modules/.bin, hook directories and guarded paths read-only (what a job wrote there would run
// on the host next), and the directories above every read-only path, wherever the job writes host
// files (a writable volume, the root with --fs host), pinned so that a rename cannot move them away.
import fs from 'node:fs';
import path from 'node:path';
import { existingTooling } from '../fs/tooling.js';
import { insideProtected, isWithin } from './protect.js';
import type { JobSpec, Volume } from './spec.js';

/** Whether `p` lies under /tmp (not /tmp itself): the job's own /tmp hides it. */
export function hiddenByPrivateTmp(p: string): boolean {
  return p !== '/tmp' && isWithin(p, '/tmp');
}

/**
 * The workdir, bound in at its own path where the job would not otherwise write the host's copy:
 * - `--fs overlay`: the host's files are seen through an overlay whose writes are discarded, but the
 *   workdir stays the host's, writable (a build leaves dist/ for the next job) — except its `.git`,
 *   its node_modules/.bin and hook directories and the guarded paths, read-only unless asked (what
 *   a job wrote there would run on the host next). A workdir of `/` is not bound: that would undo
 *   the overlay. With `outputs` it is an overlay volume instead: the job's writes there are kept in
 *   a layer of their own, and only its outputs are written back (harness/fs/writeback.ts).
 * - otherwise, a workdir under the host's /tmp, which the job's private /tmp (a scratch dir or a
 *   --tmp-size tmpfs) would hide (a project checked out there, a test's temp project); the launcher
 *   makes its mount point inside the job's /tmp.
 * Not when the workdir lies in a volume's target (that volume shows it). Returns the extra volumes.
 */
export function exposeHiddenWorkdir(spec: JobSpec): Volume[] {
  const overlay = spec.fs === 'overlay';
  if (!overlay && !hiddenByPrivateTmp(spec.workdir)) return [];
  if (spec.workdir === '/' || spec.volumes.some((v) => isWithin(spec.workdir, v.target))) return [];
  // a workdir that does not exist fails at chdir, with its own error, as in every mode
  if (overlay && !isDirectory(spec.workdir)) return [];
  // --read-only covers the workdir as it covers the rest of the host's filesystem, and a workdir
  // inside what the harness runs from stays as read-only as that is everywhere else
  const readOnly = spec.readOnly || insideProtected(spec.workdir);
  if (overlay && spec.outputs !== null && !readOnly)
    return [{ source: spec.workdir, target: spec.workdir, readOnly: false, overlay: true }];
  return [{ source: spec.workdir, target: spec.workdir, readOnly }];
}

/**
 * What of a workdir that `--fs overlay` binds in writable the job may not write: its `.git` (unless
 * `allowGitWrite`), its node_modules/.bin and hook directories and the guarded paths in it (unless
 * `allowToolingWrite`) — each bound read-only onto itself with the harness's own files, after every
 * volume (--protect). None for a workdir under `outputs`: there nothing reaches the host unasked.
 */
export function readOnlyProjectPaths(spec: JobSpec, extraVolumes: readonly Volume[]): string[] {
  const workdir = extraVolumes.find((v) => v.target === spec.workdir);
  if (spec.fs !== 'overlay' || !workdir || workdir.readOnly || workdir.overlay) return [];
  const paths: string[] = [];
  const git = path.join(spec.workdir, '.git');
  if (!spec.allowGitWrite && isPlainEntry(git)) paths.push(git);
  if (!spec.allowToolingWrite) {
    paths.push(...existingTooling(spec.workdir));
    for (const p of spec.guardedPaths) if (isWithin(p, spec.workdir) && isPlainEntry(p)) paths.push(p);
  }
  return paths;
}

/**
 * The directories between each writable place the job sees host files through and each read-only
 * path inside it (node_modules above node_modules/.bin, above a protected package), bound onto
 * themselves (--pin): a job that renamed one would take the read-only mount with it and could make
 * the path again, writable, beside it. The places: every writable volume (a workdir bound onto
 * itself among them) and, with `--fs host`, the host's root. Real directories only, checked with
 * lstat on the host from the place down; the walk stops at a symlink (a bind would pin its target).
 */
export function pinsFor(spec: JobSpec, volumes: readonly Volume[], readOnly: Iterable<string>): string[] {
  const places = writablePlaces(spec, volumes);
  if (places.length === 0) return [];
  const pins = new Set<string>();
  const checked = new Map<string, boolean>();
  for (const p of readOnly) {
    for (const place of places) {
      // the host's own /tmp is hidden behind the job's: nothing of it shows through the root
      if (place.target === '/' && hiddenByPrivateTmp(p)) continue;
      for (const dir of between(place.target, p)) {
        const host = hostPath(place, dir);
        let real = checked.get(host);
        if (real === undefined) {
          real = fs.lstatSync(host, { throwIfNoEntry: false })?.isDirectory() ?? false;
          checked.set(host, real);
        }
        if (!real) break;
        pins.add(dir);
      }
    }
  }
  return [...pins];
}

/** Where the job writes the host's files: its writable volumes, and the root with `--fs host`. */
function writablePlaces(spec: JobSpec, volumes: readonly Volume[]): { source: string; target: string }[] {
  const places = volumes
    .filter((v) => !v.readOnly && !v.overlay)
    .map((v) => ({ source: path.resolve(v.source), target: path.resolve(v.target) }));
  if (spec.fs === 'host') places.push({ source: '/', target: '/' });
  return places;
}

/** `dir`, a path below a place's target, as the host has it below the place's source. */
function hostPath(place: { source: string; target: string }, dir: string): string {
  const below = dir.slice(place.target === '/' ? 0 : place.target.length);
  return place.source === '/' ? below : `${place.source}${below}`;
}

/** between()'s answers: the same protected paths come with every job of a place. */
const betweenCache = new Map<string, readonly string[]>();
const BETWEEN_CACHE_MAX = 10_000;

/** The directories strictly between `outer` and `p`, outermost first; none where p is not below it. */
function between(outer: string, p: string): readonly string[] {
  const key = `${outer}\0${p}`;
  const known = betweenCache.get(key);
  if (known) return known;
  const found: string[] = [];
  if (isWithin(p, outer) && p !== outer) {
    let dir = outer;
    for (const part of path.relative(outer, path.dirname(p)).split(path.sep).filter(Boolean)) {
      dir = path.join(dir, part);
      found.push(dir);
    }
  }
  if (betweenCache.size >= BETWEEN_CACHE_MAX) betweenCache.clear();
  betweenCache.set(key, found);
  return found;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/** A directory or a file (a `.git` file of a worktree, a manifest), never a symlink: not followed. */
function isPlainEntry(p: string): boolean {
  try {
    // an absent path answers undefined rather than an error built with its stack, on every job's path
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    return st !== undefined && (st.isDirectory() || st.isFile());
  } catch {
    return false;
  }
}
