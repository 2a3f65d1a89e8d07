// Binds native/spawn/spawn.c: a constant-cost spawn that does not fork the Node process (spawn.c
// says why), the reap of its children, the thread id they follow, and close-on-exec pipes.
import { SyscallError } from '../errors.js';
import { nativeFunction, pack } from './library.js';

const spawn = nativeFunction<
  (
    file: string,
    argv: Buffer,
    argc: number,
    env: Buffer,
    envc: number,
    fds: Int32Array,
    nfds: number,
    pidOut: Int32Array,
  ) => number
>(
  'int rf_spawn(const char *path, const uint8_t *argv, int argc, const uint8_t *env, int envc, const int *fds, int nfds, _Out_ int *pid)',
);
const reap = nativeFunction<(pid: number, statusOut: Int32Array) => number>(
  'int rf_reap(int pid, _Out_ int *status)',
);
const gettid = nativeFunction<() => number>('int rf_gettid(void)');
const pipe = nativeFunction<(fds: Int32Array) => number>('int rf_pipe(_Out_ int *fds)');

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
  const err = spawn()(
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
  ownTid ??= gettid()();
  return ownTid;
}

export type WaitStatus = { code: number; signal: null } | { code: null; signal: number };

/** Reaps an own child without blocking: its status once it has exited, null while it runs. */
export function reapChild(pid: number): WaitStatus | null {
  const status = new Int32Array(1);
  const rc = reap()(pid, status);
  if (rc < 0) throw new SyscallError('waitpid', -rc);
  if (rc === 0) return null;
  const raw = status[0] ?? 0;
  // WIFEXITED: low 7 bits zero; then the code is in bits 8-15, else the signal in the low 7 bits
  return (raw & 0x7f) === 0 ? { code: (raw >> 8) & 0xff, signal: null } : { code: null, signal: raw & 0x7f };
}

/** A close-on-exec pipe: [read end, write end]. */
export function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  const err = pipe()(fds);
  if (err !== 0) throw new SyscallError('pipe2', err);
  return [fds[0] ?? -1, fds[1] ?? -1];
}
