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
import { readXattr } from '../../native/libc/xattr.js';
import type { LauncherReport } from '../launch/status.js';
import { keepLayer } from './layer.js';
import type { OutputRules } from './outputs.js';
import { WriteBack, type Vet } from './writeback.js';
import { isWithin } from '../job/protect.js';
import type { FsChange, JobFilesystem } from '../job/result.js';
import type { FsMode } from '../job/spec.js';
import type { Claim, UpperLayer } from './upper.js';

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
  hostPath: string;
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
  claim: Claim | null = null,
): Pollution {
  const changes: FsChange[] = [];
  let truncated = 0;
  let incomplete = false;
  let visited = 0;
  const deadline = performance.now() + limits.ms;
  const listed = (change: FsChange): void => {
    if (changes.length < limits.listed) changes.push(change);
    else truncated++;
  };
  let layerRoot = '/';
  const record = (change: FsChange, where: { upper: string; hostPath: string; stat: fs.Stats }): void => {
    if (!claim?.({ ...change, ...where, layerRoot })) listed(change);
  };

  walk: for (const layer of layers) {
    layerRoot = layer.source ?? layer.mountPoint;
    // a layer mounted inside a path that is not overlaid (an overlay volume under /tmp) is its own
    const layerSkip = skip.filter((s) => !isWithin(layer.mountPoint, s));
    const pending: Pending[] = [
      { dir: layer.upper, jobPath: layer.mountPoint, hostPath: layerRoot, depth: 0, added: false },
    ];
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
          if (layerSkip.some((s) => isWithin(jobPath, s))) continue;
          const hostPath = path.posix.join(next.hostPath, entry.name);
          let st: fs.Stats;
          try {
            st = fs.lstatSync(upper);
          } catch {
            incomplete = true;
            continue;
          }
          const where = { upper, hostPath, stat: st };
          const before = host(hostPath);
          if (isWhiteout(st)) {
            record({ path: jobPath, kind: 'deleted', bytes: 0, type: typeOf(before) }, where);
            continue;
          }
          if (!st.isDirectory()) {
            const kind = before ? 'changed' : 'added';
            record({ path: jobPath, kind, bytes: st.size, type: typeOf(st) }, where);
            continue;
          }
          const hostDir = before?.isDirectory() ?? false;
          const opaque = hostDir && isOpaque(upper);
          if (before && (!hostDir || opaque)) {
            record(
              {
                path: jobPath,
                kind: 'changed',
                bytes: 0,
                type: 'dir',
                ...(opaque ? { replaced: true } : {}),
              },
              where,
            );
          } else if (before && (before.mode !== st.mode || before.uid !== st.uid || before.gid !== st.gid)) {
            record({ path: jobPath, kind: 'changed', bytes: 0, type: 'dir' }, where);
          }
          if (next.depth + 1 > limits.depth) {
            // too deep to go on: the directory stands for what is below it
            incomplete = true;
            if (!before) record({ path: jobPath, kind: 'added', bytes: 0, type: 'dir' }, where);
            continue;
          }
          pending.push({ dir: upper, jobPath, hostPath, depth: next.depth + 1, added: !before });
        }
      } finally {
        dir.closeSync();
      }
      if (entries === 0 && next.added) {
        let stat: fs.Stats | null = null;
        try {
          stat = fs.lstatSync(next.dir);
        } catch {
          incomplete = true;
        }
        const change: FsChange = { path: next.jobPath, kind: 'added', bytes: 0, type: 'dir' };
        if (stat) record(change, { upper: next.dir, hostPath: next.hostPath, stat });
        else listed(change);
      }
    }
  }
  changes.sort(byPath);
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
  outputs: { rules: OutputRules; vet: Vet | null; sources?: ReadonlyMap<string, string> } | null = null,
): JobFilesystem {
  if (mode === 'host') return { mode, changes: null, truncated: 0 };
  if (mode === 'read-only' || overlayDir === null) return { mode, changes: [], truncated: 0 };
  const layers = upperLayers(overlayDir, reports, outputs?.sources);
  const writeBack = outputs ? new WriteBack(outputs.rules, outputs.vet) : null;
  const readOnly: NonNullable<JobFilesystem['readOnly']> = [];
  for (const r of reports) {
    if (r.kind === 'fs-ro') readOnly.push({ path: r.mountPoint, code: r.code });
    if (r.kind === 'fs-split') readOnly.push({ path: r.mountPoint, code: r.code, dirsOverlaid: true });
  }
  let found: Pollution;
  try {
    found = layersUntouched
      ? NOTHING
      : readPollution(layers, skip, limits, undefined, writeBack?.claim ?? null);
  } catch {
    found = { changes: [], truncated: 0, incomplete: true };
  }
  let written: JobFilesystem['outputs'];
  if (writeBack && outputs) {
    writeBack.apply();
    // what could not be written back was discarded like any other change: listed with them
    for (const change of writeBack.discarded) {
      if (found.changes.length < limits.listed) found.changes.push(change);
      else found.truncated++;
    }
    if (writeBack.discarded.length) found.changes.sort(byPath);
    written = {
      workdir: outputs.rules.workdir,
      written: writeBack.written.slice(0, limits.listed),
      ...(writeBack.written.length > limits.listed
        ? { writtenTruncated: writeBack.written.length - limits.listed }
        : {}),
      refused: writeBack.refused.slice(0, limits.listed),
      ...(found.incomplete ? { incomplete: true } : {}),
    };
  }
  return {
    mode,
    changes: found.changes,
    truncated: found.truncated,
    ...(found.incomplete ? { incomplete: true } : {}),
    ...(readOnly.length ? { readOnly } : {}),
    ...(keep ? { kept: keepLayer(layers, skip, keep) } : {}),
    ...(written ? { outputs: written } : {}),
  };
}

function byPath(a: FsChange, b: FsChange): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

const NOTHING: Pollution = { changes: [], truncated: 0, incomplete: false };

/**
 * Whether the layers tmpfs holds as many inodes now (`inodesNow`, after the job) as the launcher
 * counted right before the job started: nothing of the job's is in an upper layer then — each file it
 * left, each parent copied up, each whiteout is an inode more, and it can remove none of the
 * launcher's own (the layers' directories are outside its tree) — and the walk is skipped, off every
 * clean job's path. Any other count, or none, and the layers are walked.
 */
export function untouched(reports: readonly LauncherReport[], inodesNow: number | null): boolean {
  const before = reports.find((r) => r.kind === 'layers');
  return before?.kind === 'layers' && inodesNow !== null && inodesNow === before.inodes;
}

/**
 * The job's upper layers, as the launcher's `overlay` lines name them; `sources`: the host's path of
 * an overlay volume's target, where it is another.
 */
function upperLayers(
  overlayDir: string,
  reports: readonly LauncherReport[],
  sources: ReadonlyMap<string, string> = new Map(),
): UpperLayer[] {
  return reports.flatMap((r) => {
    if (r.kind !== 'overlay') return [];
    const source = sources.get(r.mountPoint);
    const upper = path.join(overlayDir, String(r.index), 'upper');
    return [{ upper, mountPoint: r.mountPoint, ...(source && source !== r.mountPoint ? { source } : {}) }];
  });
}

/**
 * `wrote 3 paths outside its workdir: /etc/hostname (deleted), /etc/rf-probe, /root/probe`, or null.
 * With `outputs`, what the job wrote in its workdir and was not written back comes first, relative:
 * `wrote 2 paths in the project: src/x.ts, package.json; wrote 1 path outside its workdir: /etc/x`.
 */
export function pollutionSummary(filesystem: JobFilesystem | undefined, shown = 5): string | null {
  if (!filesystem?.changes) return null;
  const workdir = filesystem.outputs?.workdir ?? null;
  const inside = workdir === null ? [] : filesystem.changes.filter((c) => isWithin(c.path, workdir));
  const outside =
    workdir === null ? filesystem.changes : filesystem.changes.filter((c) => !isWithin(c.path, workdir));
  const parts: string[] = [];
  const say = (changes: FsChange[], more: number, where: string, name: (p: string) => string): void => {
    const total = changes.length + more;
    if (total === 0) return;
    const names = changes
      .slice(0, shown)
      .map((c) => (c.kind === 'deleted' ? `${name(c.path)} (deleted)` : name(c.path)));
    const rest = total - names.length;
    const count = `${filesystem.incomplete ? 'at least ' : ''}${total} path${total === 1 ? '' : 's'}`;
    parts.push(`wrote ${count} ${where}: ${names.join(', ')}${rest > 0 ? `, and ${rest} more` : ''}`);
  };
  // the ones past the listed bound are not known by place: counted with the last part
  const outsideMore = outside.length > 0 || inside.length === 0 ? filesystem.truncated : 0;
  if (workdir !== null)
    say(
      inside,
      filesystem.truncated - outsideMore,
      'in the project',
      (p) => path.relative(workdir, p) || '.',
    );
  say(outside, outsideMore, 'outside its workdir', (p) => p);
  return parts.length ? parts.join('; ') : null;
}

/** `not written back: package.json (package.json is protected …)`: outputs refused, or null. */
export function refusedSummary(filesystem: JobFilesystem | undefined, shown = 5): string | null {
  const outputs = filesystem?.outputs;
  if (!outputs) return null;
  const parts: string[] = [];
  if (outputs.refused.length) {
    const names = outputs.refused
      .slice(0, shown)
      .map((r) => `${path.relative(outputs.workdir, r.path) || r.path} (${r.reason})`);
    const more = outputs.refused.length - names.length;
    parts.push(`not written back: ${names.join(', ')}${more > 0 ? `, and ${more} more` : ''}`);
  }
  // a walk that stopped at a bound wrote back only what it had reached: said, never silent
  if (outputs.incomplete)
    parts.push('the walk of its layer stopped at a bound: outputs beyond it were not written back');
  return parts.length ? parts.join('; ') : null;
}

/**
 * `overlay refused for /mnt/fuse (EINVAL): bound read-only instead …`, or null. A mount whose
 * directories were overlaid one by one (`dirsOverlaid`) is the normal layout in a user namespace, so
 * it is said only when `verbose`: a line on every rootless run would teach people to skip warnings.
 */
export function readOnlySummary(filesystem: JobFilesystem | undefined, verbose = false): string | null {
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
  if (split.length && verbose)
    parts.push(
      `overlay refused for ${split.map(name).join(', ')} (its submounts are locked in a user namespace, as expected): each directory in it is overlaid on its own, the entries right in it are read-only`,
    );
  return parts.length ? parts.join('; ') : null;
}

/** `a, b, c, d, e, and 3 more` */
function firstOf(paths: readonly string[], shown = 5): string {
  const more = paths.length - shown;
  return `${paths.slice(0, shown).join(', ')}${more > 0 ? `, and ${more} more` : ''}`;
}

/** `--keep-layer`'s line: where the layer went, or why there is none. */
export function keptSummary(filesystem: JobFilesystem | undefined): string {
  const kept = filesystem?.kept;
  if (!kept)
    return `--keep-layer: nothing kept: the job ran without an overlay (--fs ${filesystem?.mode ?? 'host'})`;
  if (kept.error) return `--keep-layer: could not keep the layer in ${kept.path}: ${kept.error}`;
  const notes = [
    ...(kept.skipped ? [`${kept.skipped} sockets, FIFOs or devices left out`] : []),
    ...(kept.stripped ? [`kept without set-uid/set-gid: ${firstOf(kept.stripped)}`] : []),
    ...(kept.incomplete ? ['incomplete: a bound was reached or a mount point had become a link'] : []),
  ];
  return `kept the job's layer in ${kept.path} (${kept.entries} entr${kept.entries === 1 ? 'y' : 'ies'}${notes.length ? `; ${notes.join('; ')}` : ''})`;
}
