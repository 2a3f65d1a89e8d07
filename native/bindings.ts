// koffi bindings for the few syscalls the harness process needs and Node lacks. Kept tiny and typed:
// everything else about a job happens in the C launcher or through plain files.
import { createRequire } from 'node:module';
import os from 'node:os';

type Koffi = typeof import('koffi');
type SyscallFn = (nr: number, ...typedArgs: unknown[]) => number;
type ErrnoFn = () => number;

// Unified syscall numbers (>= 424) are the same on every architecture Linux supports.
const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_FSOPEN = 430;
const SYS_FSCONFIG = 431;
const SYS_FSMOUNT = 432;
const SYS_PIDFD_OPEN = 434;
const FSOPEN_CLOEXEC = 1;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;

interface Libc {
  syscall: SyscallFn;
  errno: ErrnoFn;
  close: (fd: number) => number;
  memfdCreate: (name: string, flags: number) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer, size: number) => number;
}

let libc: Libc | null = null;

function load(): Libc {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  libc = {
    syscall: lib.func('long syscall(long number, ...)') as SyscallFn,
    errno: () => koffi.errno(),
    close: lib.func('int close(int fd)') as (fd: number) => number,
    // glibc >= 2.27; its syscall number differs between architectures, the libc name does not
    memfdCreate: lib.func('int memfd_create(const char *name, unsigned int flags)') as Libc['memfdCreate'],
    // the int-argument form of fcntl: every command used here takes an int
    fcntl: lib.func('int fcntl(int fd, int cmd, int arg)') as Libc['fcntl'],
    lgetxattr: lib.func(
      'long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)',
    ) as Libc['lgetxattr'],
  };
  return libc;
}

export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
  ) {
    super(`${syscall}: ${errnoName(errno)}`);
    this.name = 'SyscallError';
  }
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/**
 * A pidfd refers to one process for as long as it is held, so a signal sent through it can never hit
 * a recycled pid — the race a plain kill(pid) has once the process has been reaped.
 */
export class Pidfd {
  private constructor(
    readonly pid: number,
    private fd: number,
  ) {}

  static open(pid: number): Pidfd {
    const c = load();
    const fd = c.syscall(SYS_PIDFD_OPEN, 'int', pid, 'uint', 0);
    if (fd < 0) throw new SyscallError('pidfd_open', c.errno());
    return new Pidfd(pid, fd);
  }

  /** Sends a signal; returns false when the process has already exited (ESRCH). */
  signal(signal: NodeJS.Signals | number): boolean {
    if (this.fd < 0) return false;
    const c = load();
    const signo = typeof signal === 'number' ? signal : os.constants.signals[signal];
    const rc = c.syscall(SYS_PIDFD_SEND_SIGNAL, 'int', this.fd, 'int', signo, 'void *', null, 'uint', 0);
    if (rc === 0) return true;
    const errno = c.errno();
    if (errno === os.constants.errno.ESRCH) return false;
    throw new SyscallError('pidfd_send_signal', errno);
  }

  close(): void {
    if (this.fd >= 0) load().close(this.fd);
    this.fd = -1;
  }
}

/**
 * close(2) for fds this module or native/spawn made. Not fs.closeSync: in a worker thread Node warns
 * about closing an fd it did not open there.
 */
export function closeFd(fd: number): void {
  if (load().close(fd) !== 0) throw new SyscallError('close', load().errno());
}

/**
 * A tmpfs that is mounted nowhere (fsopen + fsmount, Linux >= 5.2): an fd of its root, which keeps it
 * alive until closed — no mount point, so nothing can be left mounted on the host, even by a crash.
 * A job's overlay layers go in it (the launcher attaches it in the job's own mount namespace), and
 * their pages are charged to the job's memory cgroup, which writes them. Needs CAP_SYS_ADMIN.
 */
export function detachedTmpfs(options: Record<string, string> = {}): number {
  const c = load();
  const fs = c.syscall(SYS_FSOPEN, 'str', 'tmpfs', 'uint', FSOPEN_CLOEXEC);
  if (fs < 0) throw new SyscallError('fsopen', c.errno());
  try {
    for (const [key, value] of Object.entries(options)) {
      if (
        c.syscall(SYS_FSCONFIG, 'int', fs, 'uint', FSCONFIG_SET_STRING, 'str', key, 'str', value, 'int', 0) <
        0
      )
        throw new SyscallError(`fsconfig ${key}`, c.errno());
    }
    if (
      c.syscall(
        SYS_FSCONFIG,
        'int',
        fs,
        'uint',
        FSCONFIG_CMD_CREATE,
        'void *',
        null,
        'void *',
        null,
        'int',
        0,
      ) < 0
    )
      throw new SyscallError('fsconfig create', c.errno());
    const mount = c.syscall(SYS_FSMOUNT, 'int', fs, 'uint', FSMOUNT_CLOEXEC, 'uint', 0);
    if (mount < 0) throw new SyscallError('fsmount', c.errno());
    return mount;
  } finally {
    c.close(fs);
  }
}

/** Whether pidfds work on this kernel (Linux >= 5.3). */
export function pidfdSupported(): boolean {
  try {
    Pidfd.open(process.pid).close();
    return true;
  } catch {
    return false;
  }
}

// memfd_create(2) and fcntl(2) sealing (linux/memfd.h, linux/fcntl.h); the same on every architecture
const MFD_CLOEXEC = 0x0001;
const MFD_ALLOW_SEALING = 0x0002;
const F_DUPFD_CLOEXEC = 1030;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x0001;
export const F_SEAL_SHRINK = 0x0002;
export const F_SEAL_GROW = 0x0004;
export const F_SEAL_WRITE = 0x0008;

/** A close-on-exec memfd that can be sealed, moved to a number at or above `minFd`. */
export function memfdCreate(name: string, minFd: number): number {
  const c = load();
  const fd = c.memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw new SyscallError('memfd_create', c.errno());
  // out of the way of every fd number a child's stdio layout (0..63) could be given
  const high = c.fcntl(fd, F_DUPFD_CLOEXEC, minFd);
  const errno = c.errno();
  c.close(fd);
  if (high < 0) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', errno);
  return high;
}

export function addSeals(fd: number, seals: number): void {
  const c = load();
  if (c.fcntl(fd, F_ADD_SEALS, seals) < 0) throw new SyscallError('fcntl(F_ADD_SEALS)', c.errno());
}

/** The seals on `fd`; -1 when it is not a memfd (or not open). */
export function getSeals(fd: number): number {
  return load().fcntl(fd, F_GET_SEALS, 0);
}

/**
 * An extended attribute of `path` itself (lgetxattr(2): a symlink is never followed), at most
 * `max` bytes; null when it has none (ENODATA), the filesystem keeps none, or the path is gone.
 */
export function readXattr(path: string, name: string, max = 64): Buffer | null {
  const c = load();
  const value = Buffer.alloc(max);
  const n = c.lgetxattr(path, name, value, max);
  return n < 0 ? null : value.subarray(0, n);
}
