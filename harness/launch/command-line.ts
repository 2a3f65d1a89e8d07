// The launcher's command line (native/launcher/options.c parses it) and the fds it names: the gate
// it waits on until it is inside the job's cgroup, the status pipe it reports on, the fds the job
// keeps. The volumes go in the order the launcher attaches them, the protected paths after all.
import { threadTid } from '../../native/spawn-lib/spawn.js';
import { protectionFor, throughWritableVolumes } from '../job/protect.js';
import type { JobSpec, Volume } from '../job/spec.js';
import { hiddenByPrivateTmp, pinsFor, readOnlyProjectPaths } from '../job/workdir-binds.js';
import type { Subids } from '../services/subids.js';

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

/** Where a Node IPC job finds its channel: right after stdio, as a Node child of `fork` does. */
export const IPC_CHANNEL_FD = 3;
/** Node's IPC channel at fd 3, then the gate and the status pipe. */
export const IPC_FD_LAYOUT: FdLayout = { gate: 4, status: 5, keep: [IPC_CHANNEL_FD] };
/**
 * Where an IPC launcher's further fds start (startLauncher's kept fds with `ipc`: the network namespace
 * it joins, then its cgroup's directory), as the kept fds start after STATUS_FD in the plain layout.
 */
export const IPC_EXTRA_FD = 6;

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
  const project = readOnlyProjectPaths(spec, extraVolumes);
  const protect = new Set([
    ...protectionFor(volumes),
    ...project,
    ...throughWritableVolumes(project, spec.volumes),
  ]);
  for (const p of pinsFor(spec, volumes, protect)) args.push(`--pin=${p}`);
  for (const p of protect) args.push(`--protect=${p}`);
  if (spec.nofile !== null) args.push(`--nofile=${spec.nofile}`);
  if (spec.user) args.push(`--uid=${spec.user.uid}`, `--gid=${spec.user.gid}`);
  for (const fd of fds.keep) args.push(`--keep-fd=${fd}`);
  if (mode.trace) args.push('--trace');
  // not args.push(...command): a spread into a call puts every argument on the stack, and a job with
  // a few hundred thousand arguments would end in a RangeError here instead of the kernel's E2BIG
  return [...args, '--', ...spec.command];
}
