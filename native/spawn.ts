// koffi bindings to native/spawn/ (libringfence-spawn.so): a constant-cost spawn that does not fork
// the Node process (see spawn.c for why), its reaper, close-on-exec pipes, the removal of a tree a
// job left (remove.c), one write or rmdir on each of a job's cgroup directories (cgfiles.c), a
// listening socket in a job's network namespace (netns.c; rootless, with the user namespace that owns
// it: usernet.c) and the byte relay of its admitted
// connections (relay.c).
// The library is loaded from its sealed copy (sealed.ts), never from disk.
import { createRequire } from 'node:module';
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { SyscallError } from './bindings.js';
import { sealedNative } from './sealed.js';

type Koffi = typeof import('koffi');

interface SpawnLib {
  spawn: (
    file: string,
    argv: Buffer,
    argc: number,
    env: Buffer,
    envc: number,
    fds: Int32Array,
    nfds: number,
    pidOut: Int32Array,
  ) => number;
  reap: (pid: number, statusOut: Int32Array) => number;
  pipe: (fds: Int32Array) => number;
  removeTree: ((path: string) => number) & {
    async: (path: string, callback: (error: unknown, result: number) => void) => void;
  };
  writeEach: ((paths: Buffer, n: number, value: string) => number) & {
    async: (
      paths: Buffer,
      n: number,
      value: string,
      callback: (error: unknown, result: number) => void,
    ) => void;
  };
  rmdirEach: ((paths: Buffer, n: number) => number) & {
    async: (paths: Buffer, n: number, callback: (error: unknown, result: number) => void) => void;
  };
  netnsListen: ((
    netFd: number,
    port: number,
    netOut: Int32Array,
    listenOut: Int32Array,
    portOut: Int32Array,
  ) => number) & {
    async: (
      netFd: number,
      port: number,
      netOut: Int32Array,
      listenOut: Int32Array,
      portOut: Int32Array,
      callback: (error: unknown, result: number) => void,
    ) => void;
  };
  usernetListen: ((
    userOut: Int32Array,
    netOut: Int32Array,
    listenOut: Int32Array,
    portOut: Int32Array,
  ) => number) & {
    async: (
      userOut: Int32Array,
      netOut: Int32Array,
      listenOut: Int32Array,
      portOut: Int32Array,
      callback: (error: unknown, result: number) => void,
    ) => void;
  };
  userTmpfs: (out: Int32Array) => number;
  keepsUserXattrs: (root: number) => number;
  readProcs: (pids: Int32Array, n: number, out: Buffer, cap: number, lengths: Int32Array) => number;
  gettid: () => number;
  relayStart: (
    client: number,
    upstream: number,
    stop: number,
    report: number,
    id: number,
    toUp: Buffer,
    toUpLen: number,
    toClient: Buffer,
    toClientLen: number,
  ) => number;
}

let lib: SpawnLib | null = null;

function load(): SpawnLib {
  if (lib) return lib;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as Koffi;
  const so = koffi.load(sealedNative('libringfence-spawn.so').path);
  lib = {
    spawn: so.func(
      'int rf_spawn(const char *path, const uint8_t *argv, int argc, const uint8_t *env, int envc, const int *fds, int nfds, _Out_ int *pid)',
    ) as SpawnLib['spawn'],
    reap: so.func('int rf_reap(int pid, _Out_ int *status)') as SpawnLib['reap'],
    gettid: so.func('int rf_gettid(void)') as SpawnLib['gettid'],
    pipe: so.func('int rf_pipe(_Out_ int *fds)') as SpawnLib['pipe'],
    removeTree: so.func('int rf_remove_tree(const char *path)') as SpawnLib['removeTree'],
    writeEach: so.func(
      'int rf_write_each(const uint8_t *paths, int n, const char *value)',
    ) as SpawnLib['writeEach'],
    rmdirEach: so.func('int rf_rmdir_each(const uint8_t *paths, int n)') as SpawnLib['rmdirEach'],
    netnsListen: so.func(
      'int rf_netns_listen(int net_fd, int port, _Out_ int *net_out, _Out_ int *listen_out, _Out_ int *port_out)',
    ) as SpawnLib['netnsListen'],
    usernetListen: so.func(
      'int rf_usernet_listen(_Out_ int *user_out, _Out_ int *net_out, _Out_ int *listen_out, _Out_ int *port_out)',
    ) as SpawnLib['usernetListen'],
    userTmpfs: so.func('int rf_userns_tmpfs(_Out_ int *out)') as SpawnLib['userTmpfs'],
    keepsUserXattrs: so.func('int rf_keeps_user_xattrs(int root)') as SpawnLib['keepsUserXattrs'],
    readProcs: so.func(
      'long rf_read_procs(const int *pids, int n, _Out_ uint8_t *out, long cap, _Out_ int *lengths)',
    ) as SpawnLib['readProcs'],
    relayStart: so.func(
      'int rf_relay_start(int client, int upstream, int stop, int report, double id, const uint8_t *to_up, int to_up_len, const uint8_t *to_client, int to_client_len)',
    ) as SpawnLib['relayStart'],
  };
  return lib;
}

function pack(strings: readonly string[]): Buffer {
  return Buffer.concat(strings.map((s) => Buffer.from(`${s}\0`, 'utf8')));
}

/**
 * Starts `file` with `fds[i]` as its fd i, in a session of its own. Returns the pid. `file` may be a
 * sealed copy's /proc/self/fd/N: the child inherits that fd until its exec, which opens it first.
 */
export function spawnWithFds(
  file: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  fds: readonly number[],
): number {
  const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const pid = new Int32Array(1);
  const err = load().spawn(
    file,
    pack(argv),
    argv.length,
    pack(envList),
    envList.length,
    Int32Array.from(fds),
    fds.length,
    pid,
  );
  if (err !== 0) throw new SyscallError(`posix_spawn ${file}`, err);
  return pid[0] ?? 0;
}

/** This JavaScript thread's id: each worker thread has its own module, so its own cached value. */
let ownTid: number | null = null;

/**
 * The id of the thread this runs on, which spawnWithFds's children have for parent: their
 * PR_SET_PDEATHSIG follows it (the launcher's --parent-tid).
 */
export function threadTid(): number {
  ownTid ??= load().gettid();
  return ownTid;
}

export type WaitStatus = { code: number; signal: null } | { code: null; signal: number };

/** Reaps an own child without blocking: its status once it has exited, null while it runs. */
export function reapChild(pid: number): WaitStatus | null {
  const status = new Int32Array(1);
  const rc = load().reap(pid, status);
  if (rc < 0) throw new SyscallError('waitpid', -rc);
  if (rc === 0) return null;
  const raw = status[0] ?? 0;
  // WIFEXITED: low 7 bits zero; then the code is in bits 8-15, else the signal in the low 7 bits
  return (raw & 0x7f) === 0 ? { code: (raw >> 8) & 0xff, signal: null } : { code: null, signal: raw & 0x7f };
}

const ENOSPC = os.constants.errno.ENOSPC;

/** rf_read_procs's buffer: kept between snapshots up to PROC_TEXT_KEEP, a bigger one used once. */
const PROC_TEXT_BYTES = 256 * 1024;
const PROC_TEXT_KEEP = 4 * 1024 * 1024;
let procText: Buffer | null = null;

/** The raw bytes of a tree's /proc files: two lengths a pid (status, cmdline), -1 for a file that was gone. */
export interface ProcFiles {
  bytes: Buffer;
  lengths: Int32Array;
}

/**
 * /proc/PID/status and /proc/PID/cmdline of each pid, read in one call (proctree.c) and kept as
 * bytes: a frozen tree waits for this read, not for turning it into text.
 */
export function readProcFiles(pids: readonly number[]): ProcFiles {
  const lengths = new Int32Array(pids.length * 2);
  const list = Int32Array.from(pids);
  // only the bytes C wrote (lengths) are ever read from it
  let text = (procText ??= Buffer.allocUnsafe(PROC_TEXT_BYTES));
  let used = load().readProcs(list, pids.length, text, text.length, lengths);
  while (used === -ENOSPC) {
    text = Buffer.allocUnsafe(text.length * 2);
    used = load().readProcs(list, pids.length, text, text.length, lengths);
  }
  // a tree of huge command lines does not hold its buffer for good
  if (text.length <= PROC_TEXT_KEEP) procText = text;
  if (used < 0) throw new SyscallError('read /proc', -used);
  return { bytes: Buffer.from(text.subarray(0, used)), lengths };
}

/** A pair of texts per pid of what readProcFiles read, null for one that was gone. */
export function procFileTexts(files: ProcFiles): ([string, string] | null)[] {
  const out: ([string, string] | null)[] = [];
  let at = 0;
  const next = (length: number): string | null => {
    if (length < 0) return null;
    at += length;
    return files.bytes.toString('utf8', at - length, at);
  };
  for (let i = 0; i < files.lengths.length / 2; i++) {
    const status = next(files.lengths[2 * i] ?? -1);
    const cmdline = next(files.lengths[2 * i + 1] ?? -1);
    out.push(status === null || cmdline === null ? null : [status, cmdline]);
  }
  return out;
}

/** A close-on-exec pipe: [read end, write end]. */
export function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  const err = load().pipe(fds);
  if (err !== 0) throw new SyscallError('pipe2', err);
  return [fds[0] ?? -1, fds[1] ?? -1];
}

/**
 * Removes a directory tree without following symlinks, at any depth (remove.c), on koffi's worker
 * thread so the event loop goes on. Rejects with the errno of what could not be removed.
 */
export function removeTreeNative(target: string): Promise<void> {
  if (!isMainThread) return onNextTurn(() => removeTreeNativeSync(target));
  return new Promise((resolve, reject) => {
    load().removeTree.async(target, (error, errno) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else if (errno !== 0) reject(new SyscallError(`remove ${target}`, errno));
      else resolve();
    });
  });
}

/**
 * On a worker thread the async calls below run synchronously instead, on the loop's next turn: koffi
 * completes an async call even while its thread is being torn down and then throws into JS that can
 * no longer run, a fatal error for the whole process (Koromix/koffi#190) — so a Harness worker that
 * dies with a removal in flight would take every other job with it.
 */
function onNextTurn<T>(work: () => T): Promise<T> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(work());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }),
  );
}

/** removeTreeNative for exit handlers, which cannot wait. */
export function removeTreeNativeSync(target: string): void {
  const errno = load().removeTree(target);
  if (errno !== 0) throw new SyscallError(`remove ${target}`, errno);
}

/**
 * Input buffers of async calls in flight: koffi hands C the Buffer's own memory and keeps no
 * reference to it, so each is held here from the call to its callback — otherwise a collection while
 * the worker thread waits on the kernel could free (and another job's paths reuse) what it reads.
 */
const inFlight = new Set<Buffer>();

/** rf_write_each's failure: which of the paths, and the errno value. */
export class WriteEachError extends SyscallError {
  constructor(
    readonly path: string,
    errno: number,
  ) {
    super(`write ${path}`, errno);
  }
}

/**
 * Writes `value` into each file (one write(2), no O_CREAT), in order, on koffi's worker thread: one
 * thread-pool trip for all of them. Rejects with a WriteEachError naming the first that failed.
 */
export function writeEachNative(paths: readonly string[], value: string): Promise<void> {
  const packed = pack(paths);
  if (!isMainThread)
    return onNextTurn(() => {
      const rc = load().writeEach(packed, paths.length, value);
      if (rc !== 0) throw new WriteEachError(paths[(rc >> 16) - 1] ?? paths[0] ?? '', rc & 0xffff);
    });
  inFlight.add(packed);
  return new Promise((resolve, reject) => {
    load().writeEach.async(packed, paths.length, value, (error, rc) => {
      inFlight.delete(packed);
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else if (rc === 0) resolve();
      else reject(new WriteEachError(paths[(rc >> 16) - 1] ?? paths[0] ?? '', rc & 0xffff));
    });
  });
}

/** The most directories one rmdirEachNative call takes (a bit each in an int). */
export const RMDIR_EACH_MAX = 31;

/**
 * rmdir of each directory (at most RMDIR_EACH_MAX) on koffi's worker thread, in one trip; one
 * already gone counts as removed. Resolves with those still there, for a slower path to retry.
 */
export function rmdirEachNative(dirs: readonly string[]): Promise<string[]> {
  if (dirs.length > RMDIR_EACH_MAX) return Promise.reject(new RangeError('rmdirEachNative: too many paths'));
  const packed = pack(dirs);
  if (!isMainThread)
    return onNextTurn(() => {
      const left = load().rmdirEach(packed, dirs.length);
      return dirs.filter((_, i) => (left & (1 << i)) !== 0);
    });
  inFlight.add(packed);
  return new Promise((resolve, reject) => {
    load().rmdirEach.async(packed, dirs.length, (error, left) => {
      inFlight.delete(packed);
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(dirs.filter((_, i) => (left & (1 << i)) !== 0));
    });
  });
}

/**
 * A listening TCP socket on 127.0.0.1 (port 0: the kernel picks) inside the network namespace of
 * `netFd`, or (netFd null) inside a new one with lo up, whose fd comes back as `netFd` (netns.c).
 * The socket is non-blocking and close-on-exec; the caller owns every fd returned.
 */
export function listenInNetns(
  netFd: number | null,
  port = 0,
): { netFd: number | null; listenFd: number; port: number } {
  const net = new Int32Array(1);
  const listen = new Int32Array(1);
  const bound = new Int32Array(1);
  const err = load().netnsListen(netFd ?? -1, port, net, listen, bound);
  if (err !== 0) throw new SyscallError(netFd === null ? 'unshare(CLONE_NEWNET)' : 'setns', err);
  return { netFd: netFd === null ? (net[0] ?? -1) : null, listenFd: listen[0] ?? -1, port: bound[0] ?? 0 };
}

/**
 * listenInNetns(null) on koffi's worker thread (a new namespace costs a millisecond of kernel work,
 * which must not hold up the event loop while a job starts); netns.c enters and leaves the namespace
 * on that thread alone. On a worker thread: synchronously, on the loop's next turn (onNextTurn).
 */
export function listenInNewNetnsAsync(): Promise<{ netFd: number; listenFd: number; port: number }> {
  if (!isMainThread)
    return onNextTurn(() => {
      const made = listenInNetns(null);
      return { netFd: made.netFd ?? -1, listenFd: made.listenFd, port: made.port };
    });
  const net = new Int32Array(1);
  const listen = new Int32Array(1);
  const bound = new Int32Array(1);
  return new Promise((resolve, reject) => {
    load().netnsListen.async(-1, 0, net, listen, bound, (error, err) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else if (err !== 0) reject(new SyscallError('unshare(CLONE_NEWNET)', err));
      else resolve({ netFd: net[0] ?? -1, listenFd: listen[0] ?? -1, port: bound[0] ?? 0 });
    });
  });
}

/** A way out's namespaces made rootless (usernet.c): the user namespace that owns the network one. */
export interface MadeUsernet {
  userFd: number;
  netFd: number;
  listenFd: number;
  port: number;
}

/**
 * Rootless, the way out's namespaces: a new user namespace mapping our uid and gid to 0 (as the
 * launcher maps its own rootless jobs), a network namespace it owns with lo up, and a listener on
 * 127.0.0.1 there (usernet.c: a short-lived child makes them). The caller owns every fd returned.
 */
export function listenInNewUsernet(): MadeUsernet {
  const out = [new Int32Array(1), new Int32Array(1), new Int32Array(1), new Int32Array(1)] as const;
  const err = load().usernetListen(...out);
  if (err !== 0) throw new SyscallError('clone(CLONE_NEWUSER|CLONE_NEWNET)', err);
  return { userFd: out[0][0] ?? -1, netFd: out[1][0] ?? -1, listenFd: out[2][0] ?? -1, port: out[3][0] ?? 0 };
}

/** listenInNewUsernet on koffi's worker thread, as listenInNewNetnsAsync (the clone is its own process). */
export function listenInNewUsernetAsync(): Promise<MadeUsernet> {
  if (!isMainThread) return onNextTurn(listenInNewUsernet);
  const out = [new Int32Array(1), new Int32Array(1), new Int32Array(1), new Int32Array(1)] as const;
  return new Promise((resolve, reject) => {
    load().usernetListen.async(...out, (error, err) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else if (err !== 0) reject(new SyscallError('clone(CLONE_NEWUSER|CLONE_NEWNET)', err));
      else
        resolve({
          userFd: out[0][0] ?? -1,
          netFd: out[1][0] ?? -1,
          listenFd: out[2][0] ?? -1,
          port: out[3][0] ?? 0,
        });
    });
  });
}

/**
 * Rootless, a tmpfs for a job's overlay layers, mounted nowhere: made in a user namespace of its own
 * (usertmpfs.c), where only root could make one in ours (detachedTmpfs). Throws where the kernel
 * refuses it, or where its tmpfs keeps no user.* attributes (EOPNOTSUPP: overlayfs in a user
 * namespace needs them). The caller owns the fd.
 */
export function detachedTmpfsInOwnUserns(): number {
  const out = new Int32Array(1);
  const err = load().userTmpfs(out);
  if (err !== 0) throw new SyscallError('tmpfs in a user namespace', err);
  return out[0] ?? -1;
}

/**
 * Whether a file on the filesystem whose root `rootFd` is keeps user.* attributes (a probe file made
 * and removed there): what overlayfs in a user namespace needs of its upper layer (a tmpfs: Linux 6.6+).
 */
export function keepsUserXattrs(rootFd: number): boolean {
  return load().keepsUserXattrs(rootFd) === 0;
}

/** What the report pipe gets when a relay ends (relay.c's struct relay_report): its size in bytes. */
export const RELAY_REPORT_BYTES = 32;

/**
 * Relays between two connected TCP sockets on a detached native thread (relay.c), after writing
 * `toUp` to the upstream and `toClient` to the client: the fds are dup'ed, so the caller closes its
 * own at once. When both ways are done, or `stopFd` (a pipe's read end) is readable or hung up, it
 * closes its fds and writes a RELAY_REPORT_BYTES record with `id` to `reportFd`. A sync call that
 * starts a thread: no koffi async call is in flight, so a worker thread can end at any time.
 */
export function startRelay(
  clientFd: number,
  upstreamFd: number,
  stopFd: number,
  reportFd: number,
  id: number,
  toUp: Buffer,
  toClient: Buffer,
): void {
  const err = load().relayStart(
    clientFd,
    upstreamFd,
    stopFd,
    reportFd,
    id,
    toUp,
    toUp.length,
    toClient,
    toClient.length,
  );
  if (err !== 0) throw new SyscallError('relay', err);
}
