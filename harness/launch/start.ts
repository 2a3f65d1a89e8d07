// Starts the launcher for one job: pipes for its stdio, its gate and its status line (and for a Node
// worker the socket of its IPC channel), then the constant-cost spawn of native/spawn. The launcher
// blocks on the gate until released.
import fs from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { closeFd } from '../../native/libc/fd.js';
import { streamSocketPair } from '../../native/libc/socket.js';
import {
  makePipe,
  reapChild,
  spawnWithFds,
  threadTid,
  type WaitStatus,
} from '../../native/spawn-lib/spawn.js';
import { LAUNCHER_ARGV0 } from './binary.js';
import { GATE_FD, IPC_CHANNEL_FD, STATUS_FD } from './command-line.js';
import { NodeChannel, channelEnv, type IpcMode } from './node-channel.js';
import { parseLauncherReports } from './status.js';
import type { JobCgroup } from '../cgroup/types.js';
import type { StdinMode } from '../job/spec.js';

export interface LauncherProcess {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly status: Readable;
  readonly stdin: Writable | null;
  /** With an `ipc` mode: the job's Node IPC channel (send, 'message'). */
  readonly channel: NodeChannel | null;
  /** Lets the launcher go on (it is inside the cgroup now). */
  releaseGate(): void;
  /**
   * Lets a launcher that was started ahead of its job go on, handing it the job's whole command line
   * and environment through the gate (see wait_gate in native/launcher/main.c).
   */
  releaseWithConfig(args: readonly string[], env: Readonly<Record<string, string>>): void;
  /**
   * Tells a launcher started with `--ahead` that it is in its cgroups now (a 'P' on the gate, which
   * stays open): it makes the job's init, namespaces and all, before the job is known.
   */
  placed(): void;
  /** Closes the gate unreleased: the launcher exits without starting anything. */
  cancel(): void;
  /** Resolves once the launcher has exited, been reaped, and its output pipes are drained. */
  readonly exited: Promise<WaitStatus>;
  /** For a launcher still at its gate: cancel it and reap it before returning (exit handlers). */
  cancelSync(): void;
  /**
   * Whether this launcher keeps the event loop alive. A spare waiting for a job that may never come
   * must not hold a process open; it is ref'd again when a job takes it.
   */
  setRef(ref: boolean): void;
  /** Whether it is still running (a spare waiting at its gate can die there). */
  alive(): boolean;
}

/** The namespaces of the init a spare makes ahead of its job (pendingLauncherArgs). */
export interface AheadInit {
  userns: boolean;
  /** The next job most likely joins a network namespace: the init makes none of its own. */
  joins?: boolean;
}

/**
 * Arguments of a launcher started before its job is known: the real ones arrive through the gate.
 * `ahead`: once placed (LauncherProcess.placed), it makes the job's init with the namespaces a job
 * of this harness usually gets (a private network, or with `joins` none, the job joining one: an
 * allow-list's, services'; a user namespace when `userns`), and a job that wants others gets its
 * init the usual way (native/launcher/ahead.h). null: no init before the job.
 * `cgroupFd`: its fd of the job's cgroup directory, to clone init into (cgroup v2, intocg.h).
 */
export function pendingLauncherArgs(
  fds: { gate: number; status: number } = { gate: GATE_FD, status: STATUS_FD },
  ahead: AheadInit | null = null,
  cgroupFd: number | null = null,
): string[] {
  return [
    `--gate-fd=${fds.gate}`,
    `--status-fd=${fds.status}`,
    `--parent-pid=${process.pid}`,
    `--parent-tid=${threadTid()}`,
    ...(cgroupFd === null ? [] : [`--cgroup-fd=${cgroupFd}`]),
    ...(ahead
      ? ['--ahead', ...(ahead.userns ? ['--userns'] : []), ...(ahead.joins ? ['--ahead-joins'] : [])]
      : []),
    '--',
    'ringfence-pending',
  ];
}

/** NUL-terminated entries: the argument count, the arguments, the environment (apply_config parses it). */
function configBlob(args: readonly string[], env: Readonly<Record<string, string>>): Buffer {
  const argv = args.filter((arg) => !arg.startsWith('--gate-fd='));
  const entries = [String(argv.length), ...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  return Buffer.from(entries.map((entry) => `${entry}\0`).join(''), 'utf8');
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function readStream(fd: number): net.Socket {
  return new net.Socket({ fd, readable: true, writable: false });
}

/**
 * Reaps after EOF: the pipes close during exit, a moment (microseconds) before the process is a
 * zombie. Retries on the next loop turns first — a timer's 1 ms floor would dominate a short job —
 * then backs off to timers in case the exit is held up.
 */
function reapWhenExited(pid: number): Promise<WaitStatus> {
  return new Promise((resolve, reject) => {
    const attempt = (tries: number): void => {
      try {
        const status = reapChild(pid);
        if (status) resolve(status);
        else if (tries < 100) setImmediate(() => attempt(tries + 1));
        else setTimeout(() => attempt(tries + 1), Math.min(tries - 99, 20));
      } catch (error) {
        reject(error);
      }
    };
    attempt(0);
  });
}

function closed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) resolve();
    else stream.once('close', () => resolve());
  });
}

/**
 * Starts the launcher with `fds` as its 0, 1, 2 (stdin as `stdinMode`, stdout and stderr pipes), then
 * the gate and the status pipe, then `keepFds`. With `ipc`, a Node worker's layout instead
 * (IPC_FD_LAYOUT): no stdin, the channel's socket at 3, the gate and the status at 4 and 5, and the
 * variables a Node child finds its channel by in the environment.
 */
export function startLauncher(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  stdinMode: StdinMode,
  keepFds: readonly number[],
  ipc: IpcMode | null = null,
): LauncherProcess {
  const parentEnds: number[] = [];
  const childEnds: number[] = [];
  const pipe = (childReads: boolean): number => {
    const [r, w] = makePipe();
    childEnds.push(childReads ? r : w);
    parentEnds.push(childReads ? w : r);
    return childReads ? w : r;
  };
  let stdinFd: number;
  let pid = 0;
  let stdinWriteEnd: number | null = null;
  let devNull: number | null = null;
  let channelEnd: number | null = null;
  const channelFds: number[] = [];
  /** Parent ends a stream has taken: it closes them; any other is closed here on an error. */
  const adopted = new Set<number>();
  const adopt = (fd: number): number => {
    adopted.add(fd);
    return fd;
  };
  try {
    if (ipc) {
      const [ours, theirs] = streamSocketPair();
      channelEnd = ours;
      parentEnds.push(ours);
      childEnds.push(theirs);
      channelFds.push(theirs);
    }
    if (stdinMode === 'inherit' && !ipc) stdinFd = 0;
    else if (stdinMode !== 'pipe' || ipc) stdinFd = devNull = fs.openSync('/dev/null', 'r');
    else {
      stdinWriteEnd = pipe(true);
      stdinFd = childEnds[childEnds.length - 1] ?? -1;
    }
    const stdoutRead = pipe(false);
    const stdoutChild = childEnds[childEnds.length - 1] ?? -1;
    const stderrRead = pipe(false);
    const stderrChild = childEnds[childEnds.length - 1] ?? -1;
    const gateWrite = pipe(true);
    const gateChild = childEnds[childEnds.length - 1] ?? -1;
    const statusRead = pipe(false);
    const statusChild = childEnds[childEnds.length - 1] ?? -1;

    const childEnv = ipc ? { ...env, ...channelEnv(ipc, IPC_CHANNEL_FD) } : env;
    pid = spawnWithFds(file, [LAUNCHER_ARGV0, ...args], childEnv, [
      stdinFd,
      stdoutChild,
      stderrChild,
      ...channelFds,
      gateChild,
      statusChild,
      ...keepFds,
    ]);
    for (const fd of childEnds.splice(0)) closeFd(fd);
    if (devNull !== null) fs.closeSync(devNull);
    devNull = null;

    const stdout = readStream(adopt(stdoutRead));
    const stderr = readStream(adopt(stderrRead));
    const status = readStream(adopt(statusRead));
    const stdin =
      stdinWriteEnd === null
        ? null
        : new net.Socket({ fd: adopt(stdinWriteEnd), readable: false, writable: true });
    const channel = channelEnd === null || !ipc ? null : new NodeChannel(adopt(channelEnd), ipc);
    let gateOpen = true;
    const closeGate = (data: string | Buffer | null): void => {
      if (!gateOpen) return;
      gateOpen = false;
      try {
        // a blocking pipe: a config longer than the pipe buffer is read by the launcher meanwhile
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        for (let off = 0; bytes && off < bytes.length;) off += fs.writeSync(gateWrite, bytes, off);
      } catch (error) {
        // EPIPE: the launcher already exited (a bad argument, reported on its status pipe)
        if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      } finally {
        closeFd(gateWrite);
      }
    };
    let reaped: WaitStatus | null = null;
    // the channel too, as Node's 'close' waits for it: every message the job sent is heard before its end
    const exited = Promise.all([closed(stdout), closed(stderr), closed(status), channel?.closed]).then(
      async () => {
        reaped ??= await reapWhenExited(pid);
        return reaped;
      },
    );
    return {
      pid,
      stdout,
      stderr,
      status,
      stdin,
      channel,
      releaseGate: () => closeGate('g'),
      releaseWithConfig: (config, jobEnv) => closeGate(configBlob(config, jobEnv)),
      placed: () => {
        try {
          if (gateOpen) fs.writeSync(gateWrite, 'P');
        } catch {
          // EPIPE: it died at its gate; takeSpare finds it dead and makes another
        }
      },
      cancel: () => closeGate(null),
      exited,
      alive: () => reaped === null && !exitedOrZombie(pid),
      setRef: (ref) => {
        for (const stream of [stdout, stderr, status, stdin, channel]) {
          if (ref) stream?.ref();
          else stream?.unref();
        }
      },
      cancelSync: () => {
        closeGate(null);
        for (const stream of [stdout, stderr, status, stdin]) stream?.destroy();
        channel?.close();
        // it exits at once on EOF at its gate
        for (let waited = 0; reaped === null && waited < 2000; waited++) {
          reaped = reapChild(pid);
          if (reaped === null) Atomics.wait(sleeper, 0, 0, 1);
        }
      },
    };
  } catch (error) {
    for (const fd of childEnds) closeFd(fd);
    if (devNull !== null) fs.closeSync(devNull);
    // once spawned, the ends a stream took are the stream's; the launcher exits on its closed gate
    for (const fd of parentEnds) if (!adopted.has(fd)) closeFd(fd);
    throw error;
  }
}

/** Whether the process is gone or a zombie (exited, not yet reaped). */
function exitedOrZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * Starts a launcher whose fds from `firstFree` on are `kept`, followed — where the job's cgroup offers
 * its directory (cgroup v2) — by that directory, for the launcher to clone init straight into the
 * cgroup (native/launcher/intocg.h). `start` gets the fds and the directory's number in the launcher;
 * a null number means the launcher must be moved into the cgroup instead.
 */
export function startIntoCgroup(
  cgroup: JobCgroup,
  firstFree: number,
  kept: readonly number[],
  start: (fds: readonly number[], cgroupFd: number | null) => LauncherProcess,
): { proc: LauncherProcess; cgroupFd: number | null } {
  const dirFd = cgroup.openForClone?.() ?? null;
  try {
    const cgroupFd = dirFd === null ? null : firstFree + kept.length;
    return { proc: start(dirFd === null ? kept : [...kept, dirFd], cgroupFd), cgroupFd };
  } finally {
    if (dirFd !== null) fs.closeSync(dirFd);
  }
}

/**
 * The job's init as its launcher names it (its `init` line), watched for in the status text as it
 * grows (`text`: all of it so far); null once the launcher exited without one.
 */
export function initPidFrom(
  status: Readable,
  text: () => string,
  exited: Promise<unknown>,
): Promise<number | null> {
  return new Promise((resolve) => {
    const look = (): void => {
      const init = parseLauncherReports(text()).find((r) => r.kind === 'init');
      if (init?.kind !== 'init') return;
      resolve(init.pid);
      status.off('data', look);
    };
    status.on('data', look);
    void exited.then(() => {
      look();
      resolve(null);
    });
  });
}
