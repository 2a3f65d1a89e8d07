// The harness side of native/launcher: where the binary is, the command line it takes, and the
// status lines it writes back (see native/launcher/proto.c).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errnoName } from '../../native/errors.js';
import { nativeBuild } from '../../native/paths.js';
import { sealedNative } from '../../native/sealed.js';
import { threadTid } from '../../native/spawn-lib/spawn.js';
import { existingTooling } from '../fs/tooling.js';
import { insideProtected, isWithin, protectionFor } from '../job/protect.js';
import type { JobSpec, Volume } from '../job/spec.js';
import type { Subids } from '../services/subids.js';
import { isRoot } from '../identity.js';

/** Fds the launcher gets besides stdio: it waits on the gate until it is in the cgroup, reports on status. */
export const GATE_FD = 3;
export const STATUS_FD = 4;

/**
 * Where the launcher finds its gate and status pipe, and which inherited fds the job keeps. The
 * default puts the caller's keep-fds after the status pipe; a Node IPC job keeps its channel at fd 3
 * (where NODE_CHANNEL_FD points), so the gate and status move up.
 */
export interface FdLayout {
  gate: number;
  status: number;
  keep: number[];
}

export function defaultFdLayout(spec: JobSpec): FdLayout {
  return { gate: GATE_FD, status: STATUS_FD, keep: spec.keepFds.map((_fd, i) => STATUS_FD + 1 + i) };
}

/** Node's IPC channel at fd 3, then the gate and the status pipe. */
export const IPC_FD_LAYOUT: FdLayout = { gate: 4, status: 5, keep: [3] };
/**
 * Where an IPC launcher's further fds start (startLauncherWithIpc's extra fds: the network namespace
 * it joins, then its cgroup's directory), as the kept fds start after STATUS_FD in the plain layout.
 */
export const IPC_EXTRA_FD = 6;

/** The launcher as installed: checked and copied from here once per process (native/sealed.ts). */
export function installedLauncherPath(): string {
  return nativeBuild('ringfence-launcher');
}

/**
 * What every job executes: the sealed copy of the launcher (/proc/self/fd/N), never the file on disk.
 * Throws ENOENT when it was never built, IntegrityError when the file is not what the install built.
 */
export function launcherPath(): string {
  return sealedNative('ringfence-launcher').path;
}

/** argv[0] of every launcher: its path names an fd, which says nothing in `ps`. */
export const LAUNCHER_ARGV0 = 'ringfence-launcher';

/** Whether `pid` runs a sealed launcher copy (of any ringfence process): its exe is that memfd. */
export function isLauncherProcess(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`) === '/memfd:ringfence:ringfence-launcher (deleted)';
  } catch {
    return false; // exited, or not ours to look at
  }
}

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
 * The directories between a writable workdir and each read-only path inside it (node_modules above
 * node_modules/.bin), bound onto themselves (--pin): a job that renamed one would take the read-only
 * mount with it and could make the path again, writable, beside it. Real directories only, checked
 * with lstat from the workdir down; the walk stops at a symlink (a bind would pin its target).
 */
export function pinsFor(
  spec: JobSpec,
  extraVolumes: readonly Volume[],
  readOnly: Iterable<string>,
): string[] {
  const workdir = extraVolumes.find((v) => v.target === spec.workdir);
  if (!workdir || workdir.readOnly || workdir.overlay) return [];
  const pins = new Set<string>();
  const checked = new Map<string, boolean>();
  for (const p of readOnly) {
    if (!isWithin(p, spec.workdir) || p === spec.workdir) continue;
    let dir = spec.workdir;
    for (const part of path.relative(spec.workdir, path.dirname(p)).split(path.sep).filter(Boolean)) {
      dir = path.join(dir, part);
      let real = checked.get(dir);
      if (real === undefined) {
        real = fs.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
        checked.set(dir, real);
      }
      if (!real) break;
      pins.add(dir);
    }
  }
  return [...pins];
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A directory or a file (a `.git` file of a worktree, a manifest), never a symlink: not followed. */
function isPlainEntry(p: string): boolean {
  try {
    const st = fs.lstatSync(p);
    return st.isDirectory() || st.isFile();
  } catch {
    return false;
  }
}

export function launcherArgs(
  spec: JobSpec,
  scratchDir: string,
  extraVolumes: readonly Volume[] = [],
  fds: FdLayout = defaultFdLayout(spec),
  mode: {
    noNamespaces?: boolean;
    overlayDir?: string | null;
    overlayMount?: string | null;
    /** The layers' mount is a disk filesystem thrown away with the job: overlays without syncs. */
    overlayVolatile?: boolean;
    netFd?: number;
    /** A launcher started ahead: the namespace to join by this process's /proc/PID/fd/N. */
    netPath?: string;
    /** With netFd: the fd of the user namespace that owns it, joined first (services, rootless). */
    usernsFd?: number;
    /** With netPath: that user namespace by this process's /proc/PID/fd/N (a launcher started ahead). */
    usernsPath?: string;
    /** The user's subordinate ranges, mapped inside this sandbox's new user namespace. */
    subids?: Subids;
    trace?: boolean;
    /** The launcher's fd of the job's cgroup directory: init is cloned into it (cgroup v2). */
    cgroupFd?: number;
  } = {},
): string[] {
  const args = [
    `--gate-fd=${fds.gate}`,
    `--status-fd=${fds.status}`,
    `--parent-pid=${process.pid}`,
    `--parent-tid=${threadTid()}`,
  ];
  if (mode.cgroupFd !== undefined) args.push(`--cgroup-fd=${mode.cgroupFd}`);
  if (mode.noNamespaces) {
    // a host that allows no namespaces (job/enforce.ts named what is lost): a plain child of a
    // subreaping launcher, with only what needs no namespace
    args.push('--no-namespaces', '--net=host', `--workdir=${spec.workdir}`);
    if (spec.nofile !== null) args.push(`--nofile=${spec.nofile}`);
    if (spec.user) args.push(`--uid=${spec.user.uid}`, `--gid=${spec.user.gid}`);
    for (const fd of fds.keep) args.push(`--keep-fd=${fd}`);
    if (mode.trace) args.push('--trace');
    return [...args, '--', ...spec.command];
  }
  const net =
    mode.netPath !== undefined
      ? ['--net=join', `--net-path=${mode.netPath}`]
      : mode.netFd === undefined
        ? [`--net=${spec.network}`]
        : ['--net=join', `--net-fd=${mode.netFd}`];
  args.push(`--hostname=${spec.hostname}`, ...net, `--workdir=${spec.workdir}`);
  if (spec.tmpSizeBytes !== null) args.push(`--tmp-size=${spec.tmpSizeBytes}`);
  else args.push(`--tmp-dir=${scratchDir}`);
  if (spec.userns) args.push('--userns');
  if (spec.userns && mode.usernsFd !== undefined) args.push(`--userns-fd=${mode.usernsFd}`);
  else if (spec.userns && mode.usernsPath !== undefined) args.push(`--userns-path=${mode.usernsPath}`);
  else if (spec.userns && mode.subids)
    args.push(
      `--subids=${mode.subids.uid.start}:${mode.subids.uid.count}:${mode.subids.gid.start}:${mode.subids.gid.count}`,
    );
  if (spec.cgroupns) args.push('--cgroupns');
  if (spec.fs === 'read-only') args.push('--read-only');
  if (spec.fs === 'overlay' && mode.overlayDir) {
    args.push(`--overlay-dir=${mode.overlayDir}`);
    if (mode.overlayMount) args.push(`--overlay-mount=${mode.overlayMount}`);
    if (mode.overlayMount && mode.overlayVolatile) args.push('--overlay-volatile');
  }
  // The workdir goes first, so that a volume inside it is attached over it, not covered by it — but
  // after them where it is made inside the job's /tmp: a mount point is never made through a mount
  const volumes = hiddenByPrivateTmp(spec.workdir)
    ? [...spec.volumes, ...extraVolumes]
    : [...extraVolumes, ...spec.volumes];
  for (const v of volumes)
    args.push(`--volume=${v.source}:${v.target}${v.overlay ? ':overlay' : v.readOnly ? ':ro' : ''}`);
  // after every volume, so that none can show these writable again (harness/job/protect.ts)
  // once each: a workdir bound onto itself shows the protected paths in it at their own paths
  const protect = new Set([...protectionFor(volumes), ...readOnlyProjectPaths(spec, extraVolumes)]);
  for (const p of pinsFor(spec, extraVolumes, protect)) args.push(`--pin=${p}`);
  for (const p of protect) args.push(`--protect=${p}`);
  if (spec.nofile !== null) args.push(`--nofile=${spec.nofile}`);
  if (spec.user) args.push(`--uid=${spec.user.uid}`, `--gid=${spec.user.gid}`);
  for (const fd of fds.keep) args.push(`--keep-fd=${fd}`);
  if (mode.trace) args.push('--trace');
  // not args.push(...command): a spread into a call puts every argument on the stack, and a job with
  // a few hundred thousand arguments would end in a RangeError here instead of the kernel's E2BIG
  return [...args, '--', ...spec.command];
}

/** The job tree's I/O from init's task counters (see native/launcher/init.c). */
export interface TaskIo {
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

interface EndFigures {
  maxRssKiB: number;
  userUs: number;
  systemUs: number;
  /** null when the kernel keeps no task I/O counters (or an older launcher sent none) */
  io: TaskIo | null;
}

export type LauncherReport =
  | ({ kind: 'exit'; code: number } & EndFigures)
  | ({ kind: 'signal'; signal: number } & EndFigures)
  | { kind: 'error'; step: string; errno: number; code: string }
  /**
   * The whole job tree's rusage (the outer launcher's RUSAGE_CHILDREN once every descendant was
   * reaped: orphans included, whoever reaped them); maxRssKiB is the largest single process. Written
   * last, in every mode, after init has been reaped.
   */
  | { kind: 'tree'; maxRssKiB: number; userUs: number; systemUs: number }
  /** `--overlay-dir`: the mount point whose upper layer is OVERLAY_DIR/<index>/upper. */
  | { kind: 'overlay'; index: number; mountPoint: string }
  /**
   * `--overlay-dir`: a mount point overlayfs refused (errno), bound read-only instead; `fs-split`:
   * and each directory in it overlaid on its own (`overlay` lines follow for them).
   */
  | { kind: 'fs-ro' | 'fs-split'; errno: number; code: string; mountPoint: string }
  /**
   * `--overlay-mount`: the inodes in use on the layers tmpfs once every mount step was done, before
   * the job existed (native/launcher/init.c); the pollution report is empty when it has not grown.
   */
  | { kind: 'layers'; inodes: number }
  /** `--trace`: a phase of the launcher, init or the job reached at CLOCK_MONOTONIC `ns`. */
  | { kind: 'trace'; phase: string; ns: bigint }
  /** The job's init as the host sees it, once it is the launcher's one child (first line of a start). */
  | { kind: 'init'; pid: number };

/** Undoes the launcher's (and mountinfo's) `\ooo` escapes of a path. */
export function unescapeMountPath(text: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const octal = raw[i] === 0x5c ? /^[0-7]{3}$/.exec(raw.subarray(i + 1, i + 4).toString('latin1')) : null;
    if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += 3;
    } else bytes.push(raw[i] ?? 0);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses the launcher's status lines; unknown or partial lines are ignored (a killed launcher may cut one). */
export function parseLauncherReports(text: string): LauncherReport[] {
  const reports: LauncherReport[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    const [kind, a = '', b = '0', c = '0', d = '0'] = fields;
    if (kind === 'error' && fields.length === 3) {
      const errno = Number(b);
      reports.push({ kind: 'error', step: a, errno, code: errnoName(errno) });
    } else if ((kind === 'exit' || kind === 'signal') && (fields.length === 5 || fields.length === 9)) {
      const [rchar, wchar, readBytes, writeBytes] = fields.slice(5).map(Number);
      const io =
        rchar === undefined || wchar === undefined || readBytes === undefined || writeBytes === undefined
          ? null
          : { rchar, wchar, readBytes, writeBytes };
      const common = { maxRssKiB: Number(b), userUs: Number(c), systemUs: Number(d), io };
      if (kind === 'exit') reports.push({ kind, code: Number(a), ...common });
      else reports.push({ kind, signal: Number(a), ...common });
    } else if (kind === 'tree' && fields.length === 4) {
      reports.push({ kind, maxRssKiB: Number(a), userUs: Number(b), systemUs: Number(c) });
    } else if (kind === 'layers' && fields.length === 2 && /^\d+$/.test(a)) {
      // written once, before the job could exist: a later one is not the launcher's
      if (!reports.some((r) => r.kind === 'layers')) reports.push({ kind, inodes: Number(a) });
    } else if (kind === 'init' && fields.length === 2 && /^[1-9]\d*$/.test(a)) {
      if (!reports.some((r) => r.kind === 'init')) reports.push({ kind, pid: Number(a) });
    } else if (kind === 'trace' && fields.length === 3 && /^[a-z-]+$/.test(a) && /^\d+$/.test(b)) {
      reports.push({ kind, phase: a, ns: BigInt(b) });
    } else if (kind === 'overlay' && fields.length === 3 && /^\d+$/.test(a) && b.startsWith('/')) {
      reports.push({ kind, index: Number(a), mountPoint: unescapeMountPath(b) });
    } else if (
      (kind === 'fs-ro' || kind === 'fs-split') &&
      fields.length === 3 &&
      /^\d+$/.test(a) &&
      b.startsWith('/')
    ) {
      const errno = Number(a);
      reports.push({ kind, errno, code: errnoName(errno), mountPoint: unescapeMountPath(b) });
    }
  }
  return reports;
}

/**
 * A setup failure the launcher reported, as one line with the fix where the cause is known: the
 * namespaces a job needs are what a host most often refuses.
 */
export function launcherErrorMessage(
  report: { step: string; code: string },
  job: { userns: boolean },
  root: boolean = isRoot(),
): string {
  const what = `${report.step}: ${report.code}`;
  if (report.step !== 'clone' || report.code !== 'EPERM') return what;
  if (job.userns)
    return `${what} — this host refuses new user namespaces (user.max_user_namespaces=0, kernel.unprivileged_userns_clone=0, Ubuntu's kernel.apparmor_restrict_unprivileged_userns=1 or a container's seccomp profile): allow them, or run as root without --userns`;
  if (!root)
    return `${what} — a job's namespaces need root or a user namespace: pass --userns (run), userns: true (manifest, Vitest pool), or run as root`;
  return `${what} — the namespaces were refused even to root (a container's seccomp profile or missing capabilities): run the container privileged or with seccomp=unconfined`;
}

export function signalName(signo: number): string {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === signo) return name;
  return `SIG${signo}`;
}

/** Why the launcher cannot be used, with the fix. */
export function launcherProblem(error: unknown): Error {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT')
    return new Error(
      `${installedLauncherPath()} is missing — run npm install (it builds native/launcher with the C compiler)`,
    );
  return error instanceof Error ? error : new Error(String(error));
}
