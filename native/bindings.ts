// koffi bindings for the few syscalls the harness process needs and Node lacks. Kept tiny and typed:
// everything else about a job happens in the C launcher or through plain files.
import { createRequire } from 'node:module';
import os from 'node:os';

type Koffi = typeof import('koffi');
type SyscallFn = (nr: number, ...typedArgs: unknown[]) => number;
type ErrnoFn = () => number;

// Unified syscall numbers (>= 424) are the same on every architecture Linux supports.
const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;

interface Libc {
  syscall: SyscallFn;
  errno: ErrnoFn;
  close: (fd: number) => number;
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

/** Whether pidfds work on this kernel (Linux >= 5.3). */
export function pidfdSupported(): boolean {
  try {
    Pidfd.open(process.pid).close();
    return true;
  } catch {
    return false;
  }
}
