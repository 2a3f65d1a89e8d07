// Sealed memfds (memfd_create(2), fcntl(2) sealing; linux/memfd.h, linux/fcntl.h, the same on
// every architecture): what the sealed copies of the native files are (native/sealed.ts).
import { SyscallError } from '../errors.js';
import { close, errno, libcFunction } from './library.js';

const MFD_CLOEXEC = 0x0001;
const MFD_ALLOW_SEALING = 0x0002;
const F_DUPFD_CLOEXEC = 1030;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x0001;
export const F_SEAL_SHRINK = 0x0002;
export const F_SEAL_GROW = 0x0004;
export const F_SEAL_WRITE = 0x0008;

// glibc >= 2.27; its syscall number differs between architectures, the libc name does not
const memfd = libcFunction<(name: string, flags: number) => number>(
  'int memfd_create(const char *name, unsigned int flags)',
);
// the int-argument form of fcntl: every command used here takes an int
const fcntl = libcFunction<(fd: number, cmd: number, arg: number) => number>(
  'int fcntl(int fd, int cmd, int arg)',
);

/** A close-on-exec memfd that can be sealed, moved to a number at or above `minFd`. */
export function memfdCreate(name: string, minFd: number): number {
  const fd = memfd()(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw new SyscallError('memfd_create', errno());
  // out of the way of every fd number a child's stdio layout (0..63) could be given
  const high = fcntl()(fd, F_DUPFD_CLOEXEC, minFd);
  const err = errno();
  close()(fd);
  if (high < 0) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', err);
  return high;
}

export function addSeals(fd: number, seals: number): void {
  if (fcntl()(fd, F_ADD_SEALS, seals) < 0) throw new SyscallError('fcntl(F_ADD_SEALS)', errno());
}

/** The seals on `fd`; -1 when it is not a memfd (or not open). */
export function getSeals(fd: number): number {
  return fcntl()(fd, F_GET_SEALS, 0);
}
