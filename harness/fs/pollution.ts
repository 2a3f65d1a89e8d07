// The pollution report (`--fs overlay`): what a job wrote outside its workdir, /tmp and volumes. Its
// writes there went to the upper layers of its overlays (native/launcher/overlay.c), one per host
// mount point, in `<scratch>.fs/<N>/upper`; after the job ended — every process of it gone — and
// before the scratch is removed, each layer is walked and every entry named by the path the job saw:
//   - a character device 0/0 is overlayfs's whiteout: the job deleted that path;
//   - a directory the host also has is only a parent copied up for what is below it, unless it is
//     opaque (`trusted.overlay.opaque`, or `user.overlay.opaque` in a user namespace, = "y": the
//     job removed the host's directory and made its own) or its owner or mode changed;
//   - anything else is `changed` when the host has something at that path, else `added`.
// The walk never follows a symlink (lstat, lgetxattr; a directory is opened only when lstat said it
// is one, and nothing of the job runs any more to swap it) and is bounded: at most `listed` changes
// are listed (the rest counted), at most `visited` entries read and `depth` levels descended, and it
// stops at `ms` — a job that leaves a million files or a tree ten thousand levels deep gets a report
// that says it is incomplete, not a harness that hangs or runs out of memory. Layers on a tmpfs are
// counted before the walk: when the job left no inode in them, there is nothing to walk (untouched).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readXattr } from '../../native/bindings.js';
import type { LauncherReport } from '../launcher.js';
import { keepLayer } from './layer.js';
import { isWithin } from '../protect.js';
import type { FsChange, JobFilesystem } from '../result.js';
import type { FsMode } from '../spec.js';
import type { UpperLayer } from './upper.js';

export interface WalkLimits {
  /** changes listed; the rest are counted in `truncated` */
  listed: number;
  /** entries read, over all layers */
  visited: number;
  /** directory levels below a layer's root */
  depth: number;
  /** wall-clock budget of the whole walk */
  ms: number;
}

export const WALK_LIMITS: WalkLimits = { listed: 1000, visited: 100_000, depth: 128, ms: 5000 };

export interface Pollution {
  changes: FsChange[];
  truncated: number;
  incomplete: boolean;
}

/** What the host has at `p` (lstat: a symlink is not followed), or null. */
export type HostStat = (p: string) => fs.Stats | null;

const hostStat: HostStat = (p) => {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
};

function typeOf(st: fs.Stats | null): FsChange['type'] {
  if (st?.isFile()) return 'file';
  if (st?.isDirectory()) return 'dir';
  if (st?.isSymbolicLink()) return 'symlink';
  return 'other';
}

function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(dir: string): boolean {
  for (const name of ['trusted.overlay.opaque', 'user.overlay.opaque']) {
    if (readXattr(dir, name)?.toString('latin1') === 'y') return true;
  }
  return false;
}

interface Pending {
  dir: string;
  jobPath: string;
  depth: number;
  /** a directory the host does not have there: listed itself when it turns out empty */
  added: boolean;
}

/**
 * Every path the job added, changed or deleted in these upper layers, outside `skip` (the job's
 * paths that are not overlaid: its /tmp, workdir and volumes), sorted by path.
 */
export function readPollution(
  layers: readonly UpperLayer[],
  skip: readonly string[],
  limits: WalkLimits = WALK_LIMITS,
  host: HostStat = hostStat,
): Pollution {
  const changes: FsChange[] = [];
  let truncated = 0;
  let incomplete = false;
  let visited = 0;
  const deadline = performance.now() + limits.ms;
  const record = (change: FsChange): void => {
    if (changes.length < limits.listed) changes.push(change);
    else truncated++;
  };

  walk: for (const layer of layers) {
    const pending: Pending[] = [{ dir: layer.upper, jobPath: layer.mountPoint, depth: 0, added: false }];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      let dir: fs.Dir;
      try {
        dir = fs.opendirSync(next.dir);
      } catch {
        incomplete = true; // unreadable, or a name past PATH_MAX
        continue;
      }
      let entries = 0;
      try {
        for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
          entries++;
          if (++visited > limits.visited || performance.now() > deadline) {
            incomplete = true;
            break walk;
          }
          const upper = path.join(next.dir, entry.name);
          const jobPath = path.posix.join(next.jobPath, entry.name);
          if (skip.some((s) => isWithin(jobPath, s))) continue;
          let st: fs.Stats;
          try {
            st = fs.lstatSync(upper);
          } catch {
            incomplete = true;
            continue;
          }
          const before = host(jobPath);
          if (isWhiteout(st)) {
            record({ path: jobPath, kind: 'deleted', bytes: 0, type: typeOf(before) });
            continue;
          }
          if (!st.isDirectory()) {
            record({ path: jobPath, kind: before ? 'changed' : 'added', bytes: st.size, type: typeOf(st) });
            continue;
          }
          const hostDir = before?.isDirectory() ?? false;
          const opaque = hostDir && isOpaque(upper);
          if (before && (!hostDir || opaque)) {
            record({
              path: jobPath,
              kind: 'changed',
              bytes: 0,
              type: 'dir',
              ...(opaque ? { replaced: true } : {}),
            });
          } else if (before && (before.mode !== st.mode || before.uid !== st.uid || before.gid !== st.gid)) {
            record({ path: jobPath, kind: 'changed', bytes: 0, type: 'dir' });
          }
          if (next.depth + 1 > limits.depth) {
            // too deep to go on: the directory stands for what is below it
            incomplete = true;
            if (!before) record({ path: jobPath, kind: 'added', bytes: 0, type: 'dir' });
            continue;
          }
          pending.push({ dir: upper, jobPath, depth: next.depth + 1, added: !before });
        }
      } finally {
        dir.closeSync();
      }
      if (entries === 0 && next.added) record({ path: next.jobPath, kind: 'added', bytes: 0, type: 'dir' });
    }
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { changes, truncated, incomplete };
}

/**
 * The job's `filesystem` result: in overlay mode its upper layers (named by the launcher's `overlay`
 * lines) read, and the mount points it bound read-only instead (`fs-ro`). A walk that fails is an
 * incomplete report, never a failed job.
 */
export function jobFilesystem(
  mode: FsMode,
  overlayDir: string | null,
  reports: readonly LauncherReport[],
  skip: readonly string[],
  limits: WalkLimits = WALK_LIMITS,
  keep: { path: string; format: 'dir' | 'tar' } | null = null,
  layersUntouched = false,
): JobFilesystem {
  if (mode === 'host') return { mode, changes: null, truncated: 0 };
  if (mode === 'read-only' || overlayDir === null) return { mode, changes: [], truncated: 0 };
  const layers = upperLayers(overlayDir, reports);
  const readOnly: NonNullable<JobFilesystem['readOnly']> = [];
  for (const r of reports) {
    if (r.kind === 'fs-ro') readOnly.push({ path: r.mountPoint, code: r.code });
    if (r.kind === 'fs-split') readOnly.push({ path: r.mountPoint, code: r.code, dirsOverlaid: true });
  }
  let found: Pollution;
  try {
    found = layersUntouched ? NOTHING : readPollution(layers, skip, limits);
  } catch {
    found = { changes: [], truncated: 0, incomplete: true };
  }
  return {
    mode,
    changes: found.changes,
    truncated: found.truncated,
    ...(found.incomplete ? { incomplete: true } : {}),
    ...(readOnly.length ? { readOnly } : {}),
    ...(keep ? { kept: keepLayer(layers, skip, keep) } : {}),
  };
}

const NOTHING: Pollution = { changes: [], truncated: 0, incomplete: false };

/**
 * Whether the layers tmpfs holds as many inodes now (`inodesNow`, after the job) as the launcher
 * counted right before the job started: nothing of the job's is in an upper layer then — each file it
 * left, each parent copied up, each whiteout is an inode more, and it can remove none of the
 * launcher's own (the layers' directories are outside its tree) — and the walk is skipped (~0.1 ms a
 * job). Any other count, or none, and the layers are walked.
 */
export function untouched(reports: readonly LauncherReport[], inodesNow: number | null): boolean {
  const before = reports.find((r) => r.kind === 'layers');
  return before?.kind === 'layers' && inodesNow !== null && inodesNow === before.inodes;
}

/** The job's upper layers, as the launcher's `overlay` lines name them. */
function upperLayers(overlayDir: string, reports: readonly LauncherReport[]): UpperLayer[] {
  return reports.flatMap((r) =>
    r.kind === 'overlay'
      ? [{ upper: path.join(overlayDir, String(r.index), 'upper'), mountPoint: r.mountPoint }]
      : [],
  );
}

/** `wrote 3 paths outside its workdir: /etc/hostname (deleted), /etc/rf-probe, /root/probe`, or null. */
export function pollutionSummary(filesystem: JobFilesystem | undefined, shown = 5): string | null {
  if (!filesystem?.changes) return null;
  const total = filesystem.changes.length + filesystem.truncated;
  if (total === 0) return null;
  const names = filesystem.changes
    .slice(0, shown)
    .map((c) => (c.kind === 'deleted' ? `${c.path} (deleted)` : c.path));
  const more = total - names.length;
  const count = `${filesystem.incomplete ? 'at least ' : ''}${total} path${total === 1 ? '' : 's'}`;
  return `wrote ${count} outside its workdir: ${names.join(', ')}${more > 0 ? `, and ${more} more` : ''}`;
}

/**
 * `overlay refused for /mnt/fuse (EINVAL): bound read-only instead …`, or null. A mount whose
 * directories were overlaid one by one is said apart: only the entries right in it are read-only.
 */
export function readOnlySummary(filesystem: JobFilesystem | undefined): string | null {
  const list = filesystem?.readOnly;
  if (!list?.length) return null;
  const name = (r: { path: string; code: string }): string => `${r.path} (${r.code})`;
  const parts: string[] = [];
  const whole = list.filter((r) => !r.dirsOverlaid);
  const split = list.filter((r) => r.dirsOverlaid);
  if (whole.length) {
    const more = whole.length > 5 ? `, and ${whole.length - 5} more` : '';
    parts.push(
      `overlay refused for ${whole.slice(0, 5).map(name).join(', ')}${more}: bound read-only instead (writes there fail with EROFS)`,
    );
  }
  if (split.length)
    parts.push(
      `overlay refused for ${split.map(name).join(', ')} (its submounts are locked in a user namespace): each directory in it is overlaid on its own, the entries right in it are read-only`,
    );
  return parts.join('; ');
}

/** `--keep-layer`'s line: where the layer went, or why there is none. */
export function keptSummary(filesystem: JobFilesystem | undefined): string {
  const kept = filesystem?.kept;
  if (!kept)
    return `--keep-layer: nothing kept: the job ran without an overlay (--fs ${filesystem?.mode ?? 'host'})`;
  if (kept.error) return `--keep-layer: could not keep the layer in ${kept.path}: ${kept.error}`;
  const notes = [
    ...(kept.skipped ? [`${kept.skipped} sockets, FIFOs or devices left out`] : []),
    ...(kept.incomplete ? ['incomplete: a bound was reached or a mount point had become a link'] : []),
  ];
  return `kept the job's layer in ${kept.path} (${kept.entries} entr${kept.entries === 1 ? 'y' : 'ies'}${notes.length ? `; ${notes.join('; ')}` : ''})`;
}
