// pidfds (Linux >= 5.3): a handle on one process that a recycled pid can never be mistaken for.
import os from 'node:os';
import { SyscallError } from '../errors.js';
import { SYS_PIDFD_OPEN, SYS_PIDFD_SEND_SIGNAL, close, errno, syscall } from './library.js';

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
    const fd = syscall()(SYS_PIDFD_OPEN, 'int', pid, 'uint', 0);
    if (fd < 0) throw new SyscallError('pidfd_open', errno());
    return new Pidfd(pid, fd);
  }

  /** Sends a signal; returns false when the process has already exited (ESRCH). */
  signal(signal: NodeJS.Signals | number): boolean {
    if (this.fd < 0) return false;
    const signo = typeof signal === 'number' ? signal : os.constants.signals[signal];
    const rc = syscall()(SYS_PIDFD_SEND_SIGNAL, 'int', this.fd, 'int', signo, 'void *', null, 'uint', 0);
    if (rc === 0) return true;
    const err = errno();
    if (err === os.constants.errno.ESRCH) return false;
    throw new SyscallError('pidfd_send_signal', err);
  }

  close(): void {
    if (this.fd >= 0) close()(this.fd);
    this.fd = -1;
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
