// A job's launcher command line and the fds it names. After the launcher's fixed fds come the job's
// kept ones (plain layout), a network namespace to join and the user namespace that owns it (rootless
// services: joined only by a job in a user namespace), then (cgroup v2) the cgroup's directory —
// launch/start.ts lays them out in that order. A spare launcher got its fds when it was started:
// it opens the namespaces by this process's /proc/PID/fd/N instead.
import { IPC_EXTRA_FD, IPC_FD_LAYOUT, STATUS_FD, launcherArgs } from '../launch/command-line.js';
import type { RunOptions } from './run-options.js';
import type { Scratch } from './scratch.js';
import type { JobSpec, Volume } from './spec.js';

export interface LaunchArgs {
  /** The first fd after the launcher's fixed ones. */
  firstFree: number;
  /** The fds to pass from there on, in order (none for a spare: it has its own). */
  kept: number[];
  /** The command line, naming `cgroupFd` (the launcher's fd of the cgroup's directory) where there is one. */
  argsFor(cgroupFd: number | null): string[];
}

export function launchArgs(
  spec: JobSpec,
  options: RunOptions,
  scratch: Scratch,
  extraVolumes: readonly Volume[],
  noNamespaces: boolean,
  /** A spare launcher, started ahead. */
  spare: boolean,
): LaunchArgs {
  const usernsFd = spec.userns && options.netnsFd !== undefined ? options.usernsFd : undefined;
  const netns =
    options.netnsFd === undefined || spare
      ? []
      : [options.netnsFd, ...(usernsFd === undefined ? [] : [usernsFd])];
  const firstFree = options.ipc ? IPC_EXTRA_FD : STATUS_FD + 1;
  const kept = options.ipc ? netns : [...spec.keepFds, ...netns];
  const netAt = firstFree + kept.length - netns.length;
  const byPath = (fd: number): string => `/proc/${process.pid}/fd/${fd}`;
  const argsFor = (cgroupFd: number | null): string[] =>
    launcherArgs(spec, scratch.tmpDir, extraVolumes, options.ipc ? IPC_FD_LAYOUT : undefined, {
      noNamespaces,
      overlayDir: scratch.overlay,
      overlayMount: scratch.layers?.mount ?? null,
      overlayVolatile: scratch.disk !== null,
      trace: options.trace === true,
      ...(options.netnsFd === undefined
        ? {}
        : spare
          ? { netPath: byPath(options.netnsFd) }
          : { netFd: netAt }),
      ...(usernsFd === undefined ? {} : spare ? { usernsPath: byPath(usernsFd) } : { usernsFd: netAt + 1 }),
      ...(options.subids === undefined ? {} : { subids: options.subids }),
      ...(cgroupFd === null ? {} : { cgroupFd }),
    });
  return { firstFree, kept, argsFor };
}
