// koffi bindings for the few syscalls the harness process needs and Node lacks. Kept tiny and typed:
// everything else about a job happens in the C launcher or through plain files.
import { createRequire } from 'node:module';
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';

type Koffi = typeof import('koffi');
type SyscallFn = (nr: number, ...typedArgs: unknown[]) => number;
type ErrnoFn = () => number;

// Unified syscall numbers (>= 424) are the same on every architecture Linux supports.
const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_FSOPEN = 430;
const SYS_FSCONFIG = 431;
const SYS_FSMOUNT = 432;
const SYS_PIDFD_OPEN = 434;
const SYS_OPEN_TREE = 428;
const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const AT_EMPTY_PATH = 0x1000;
const FSOPEN_CLOEXEC = 1;
const FSCONFIG_SET_FLAG = 0;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
// linux/loop.h: the same on every architecture
const LOOP_CTL_GET_FREE = 0x4c82;
const LOOP_CONFIGURE = 0x4c0a;
const LO_FLAGS_AUTOCLEAR = 4;
/** sizeof(struct loop_config): fd, block_size, loop_info64 (232 bytes), 8 reserved u64. */
const LOOP_CONFIG_SIZE = 304;
/** offsetof(struct loop_config, info.lo_flags). */
const LOOP_CONFIG_FLAGS = 60;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

interface Libc {
  syscall: SyscallFn;
  errno: ErrnoFn;
  close: (fd: number) => number;
  memfdCreate: (name: string, flags: number) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer, size: number) => number;
  ioctlInt: (fd: number, request: number, arg: number) => number;
  ioctlPtr: (fd: number, request: number, arg: Buffer) => number;
  lseek: (fd: number, offset: number, whence: number) => number;
  /** The same functions run on libuv's thread pool (errno is that thread's: only the result is known). */
  closeAsync: { async: (fd: number, cb: (error: unknown, rc: number) => void) => void };
  ioctlPtrAsync: {
    async: (fd: number, request: number, arg: Buffer, cb: (error: unknown, rc: number) => void) => void;
  };
  fsconfigAsync: {
    async: (
      nr: number,
      fd: number,
      cmd: number,
      key: null,
      value: null,
      aux: number,
      cb: (error: unknown, rc: number) => void,
    ) => void;
  };
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
    ioctlInt: lib.func('int ioctl(int fd, unsigned long request, long arg)') as Libc['ioctlInt'],
    ioctlPtr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'uint8_t *']) as Libc['ioctlPtr'],
    lseek: lib.func('int64_t lseek(int fd, int64_t offset, int whence)') as Libc['lseek'],
    closeAsync: lib.func('close', 'int', ['int']) as Libc['closeAsync'],
    ioctlPtrAsync: lib.func('ioctl', 'int', ['int', 'unsigned long', 'uint8_t *']) as Libc['ioctlPtrAsync'],
    // syscall(2) with fsconfig's arguments: glibc's syscall only moves registers, so a fixed prototype does
    fsconfigAsync: lib.func('syscall', 'long', [
      'long',
      'int',
      'uint',
      'void *',
      'void *',
      'int',
    ]) as Libc['fsconfigAsync'],
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
  return detachedMount('tmpfs', options);
}

/** fsconfig's strings (`options`) and flags on an fsopen fd, before its create. */
function configureFs(fs: number, options: Record<string, string>, flags: readonly string[]): void {
  const c = load();
  for (const [key, value] of Object.entries(options))
    if (
      c.syscall(SYS_FSCONFIG, 'int', fs, 'uint', FSCONFIG_SET_STRING, 'str', key, 'str', value, 'int', 0) < 0
    )
      throw new SyscallError(`fsconfig ${key}`, c.errno());
  for (const flag of flags)
    if (
      c.syscall(SYS_FSCONFIG, 'int', fs, 'uint', FSCONFIG_SET_FLAG, 'str', flag, 'void *', null, 'int', 0) < 0
    )
      throw new SyscallError(`fsconfig ${flag}`, c.errno());
}

/**
 * A filesystem of `type` mounted nowhere, as detachedTmpfs: `options` are fsconfig strings, `flags`
 * fsconfig flags (no value); nosuid and nodev, since a job writes in it.
 */
export function detachedMount(
  type: string,
  options: Record<string, string>,
  flags: readonly string[] = [],
): number {
  const c = load();
  const fs = c.syscall(SYS_FSOPEN, 'str', type, 'uint', FSOPEN_CLOEXEC);
  if (fs < 0) throw new SyscallError('fsopen', c.errno());
  try {
    configureFs(fs, options, flags);
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
    const attrs = type === 'tmpfs' ? 0 : MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    const mount = c.syscall(SYS_FSMOUNT, 'int', fs, 'uint', FSMOUNT_CLOEXEC, 'uint', attrs);
    if (mount < 0) throw new SyscallError('fsmount', c.errno());
    return mount;
  } finally {
    c.close(fs);
  }
}

/**
 * A detached copy of the mount `fd` is the root of (open_tree OPEN_TREE_CLONE): the same filesystem,
 * another mount. What a job's launcher attaches in its namespace is gone with that namespace; the
 * original stays detached here, and can be handed to the next job.
 */
export function cloneMount(fd: number): number {
  const c = load();
  const clone = c.syscall(
    SYS_OPEN_TREE,
    'int',
    fd,
    'str',
    '',
    'uint',
    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH,
  );
  if (clone < 0) throw new SyscallError('open_tree', c.errno());
  return clone;
}

/**
 * How the loop functions open and close a device (read-write): the caller's own, so that an fd is
 * closed the way it was opened — Node warns when an fd it opened is opened again without its close.
 */
export interface DeviceFiles {
  open(path: string): number;
  close(fd: number): void;
}

/**
 * Attaches the open file `backing` (read-write) to a free loop device that detaches itself when its
 * last user is gone (LO_FLAGS_AUTOCLEAR): returns the device's open fd and path. The caller mounts
 * it and closes the fd (devices.close); the mount's end then frees the device. Needs CAP_SYS_ADMIN
 * and /dev/loop-control.
 */
export function loopAttach(backing: number, devices: DeviceFiles): { fd: number; path: string } {
  const c = load();
  const control = devices.open('/dev/loop-control');
  try {
    // another process may take the free device between the two calls: then LOOP_CONFIGURE says EBUSY
    for (let attempt = 0; attempt < 8; attempt++) {
      const n = c.ioctlInt(control, LOOP_CTL_GET_FREE, 0);
      if (n < 0) throw new SyscallError('LOOP_CTL_GET_FREE', c.errno());
      const path = `/dev/loop${n}`;
      const fd = devices.open(path);
      const config = Buffer.alloc(LOOP_CONFIG_SIZE);
      config.writeUInt32LE(backing, 0);
      config.writeUInt32LE(LO_FLAGS_AUTOCLEAR, LOOP_CONFIG_FLAGS);
      if (c.ioctlPtr(fd, LOOP_CONFIGURE, config) === 0) return { fd, path };
      const errno = c.errno();
      devices.close(fd);
      if (errno !== os.constants.errno.EBUSY) throw new SyscallError('LOOP_CONFIGURE', errno);
    }
    throw new SyscallError('LOOP_CONFIGURE', os.constants.errno.EBUSY);
  } finally {
    devices.close(control);
  }
}

/**
 * close(2) on libuv's thread pool: closing the last fd of a detached mount unmounts it there, and a
 * filesystem's unmount (its writeback, a loop device's release) takes milliseconds.
 */
export function closeFdAsync(fd: number): Promise<void> {
  // a worker thread closes at once: koffi's async completion in a thread being torn down is fatal to
  // the process (Koromix/koffi#190, native/spawn-lib/library.ts)
  if (!isMainThread) {
    closeFd(fd);
    return Promise.resolve();
  }
  return new Promise((resolve) => load().closeAsync.async(fd, () => resolve()));
}

/**
 * loopAttach and detachedMount's costly steps (LOOP_CONFIGURE, fsconfig's create: the kernel reads
 * the filesystem) on libuv's thread pool, the rest here: a detached mount of `type` on a free loop
 * device backed by `backing`. Rejects without the kernel's reason (errno is the pool thread's): the
 * synchronous path says it when it fails the same way.
 */
export async function loopMountAsync(
  backing: number,
  devices: DeviceFiles,
  type: string,
  flags: readonly string[],
): Promise<number> {
  const c = load();
  const control = devices.open('/dev/loop-control');
  let device = -1;
  let fs = -1;
  try {
    const n = c.ioctlInt(control, LOOP_CTL_GET_FREE, 0);
    if (n < 0) throw new SyscallError('LOOP_CTL_GET_FREE', c.errno());
    const path = `/dev/loop${n}`;
    device = devices.open(path);
    const config = Buffer.alloc(LOOP_CONFIG_SIZE);
    config.writeUInt32LE(backing, 0);
    config.writeUInt32LE(LO_FLAGS_AUTOCLEAR, LOOP_CONFIG_FLAGS);
    const configured = await new Promise<number>((resolve) =>
      c.ioctlPtrAsync.async(device, LOOP_CONFIGURE, config, (_e, rc) => resolve(rc)),
    );
    if (configured !== 0) throw new Error(`LOOP_CONFIGURE ${path} failed`);
    fs = c.syscall(SYS_FSOPEN, 'str', type, 'uint', FSOPEN_CLOEXEC);
    if (fs < 0) throw new SyscallError('fsopen', c.errno());
    configureFs(fs, { source: path }, flags);
    const fsfd = fs;
    const created = await new Promise<number>((resolve) =>
      c.fsconfigAsync.async(SYS_FSCONFIG, fsfd, FSCONFIG_CMD_CREATE, null, null, 0, (_e, rc) => resolve(rc)),
    );
    if (created < 0) throw new Error(`fsconfig create (${type} on ${path}) failed`);
    const mount = c.syscall(
      SYS_FSMOUNT,
      'int',
      fs,
      'uint',
      FSMOUNT_CLOEXEC,
      'uint',
      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    );
    if (mount < 0) throw new SyscallError('fsmount', c.errno());
    return mount;
  } finally {
    if (fs >= 0) c.close(fs);
    if (device >= 0) devices.close(device);
    devices.close(control);
  }
}

/** The [offset, length] ranges of `fd` that hold data (lseek SEEK_DATA / SEEK_HOLE), up to `size`. */
export function dataRanges(fd: number, size: number): [number, number][] {
  const c = load();
  const ranges: [number, number][] = [];
  let at = 0;
  while (at < size) {
    const data = c.lseek(fd, at, SEEK_DATA);
    if (data < 0) break; // ENXIO: only a hole is left
    const hole = c.lseek(fd, data, SEEK_HOLE);
    if (hole < 0) throw new SyscallError('lseek', c.errno());
    ranges.push([Number(data), Number(hole) - Number(data)]);
    at = Number(hole);
  }
  return ranges;
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
