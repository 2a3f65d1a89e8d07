// Loop devices for a job's disk image (harness/fs/disk.ts): a free device configured on the image
// file, which detaches itself when its last user is gone, and the image's data ranges.
import os from 'node:os';
import { SyscallError } from '../errors.js';
import {
  FSCONFIG_CMD_CREATE,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOSUID,
  configureFs,
} from './mount.js';
import { SYS_FSCONFIG, SYS_FSMOUNT, SYS_FSOPEN, close, errno, libcFunction, syscall } from './library.js';

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

type Callback = (error: unknown, rc: number) => void;
const ioctlInt = libcFunction<(fd: number, request: number, arg: number) => number>(
  'int ioctl(int fd, unsigned long request, long arg)',
);
const ioctlPtr = libcFunction<(fd: number, request: number, arg: Buffer) => number>('ioctl', 'int', [
  'int',
  'unsigned long',
  'uint8_t *',
]);
/** The same functions run on libuv's thread pool (errno is that thread's: only the result is known). */
const ioctlPtrAsync = libcFunction<{
  async: (fd: number, request: number, arg: Buffer, cb: Callback) => void;
}>('ioctl', 'int', ['int', 'unsigned long', 'uint8_t *']);
// syscall(2) with fsconfig's arguments: glibc's syscall only moves registers, so a fixed prototype does
const fsconfigAsync = libcFunction<{
  async: (nr: number, fd: number, cmd: number, key: null, value: null, aux: number, cb: Callback) => void;
}>('syscall', 'long', ['long', 'int', 'uint', 'void *', 'void *', 'int']);
const lseek = libcFunction<(fd: number, offset: number, whence: number) => number>(
  'int64_t lseek(int fd, int64_t offset, int whence)',
);

/**
 * How the loop functions open and close a device (read-write): the caller's own, so that an fd is
 * closed the way it was opened — Node warns when an fd it opened is opened again without its close.
 */
export interface DeviceFiles {
  open(path: string): number;
  close(fd: number): void;
}

/** struct loop_config for `backing`, detaching itself once unused. */
function loopConfig(backing: number): Buffer {
  const config = Buffer.alloc(LOOP_CONFIG_SIZE);
  config.writeUInt32LE(backing, 0);
  config.writeUInt32LE(LO_FLAGS_AUTOCLEAR, LOOP_CONFIG_FLAGS);
  return config;
}

/** The number of a free loop device. */
function freeLoop(control: number): number {
  const n = ioctlInt()(control, LOOP_CTL_GET_FREE, 0);
  if (n < 0) throw new SyscallError('LOOP_CTL_GET_FREE', errno());
  return n;
}

/**
 * Attaches the open file `backing` (read-write) to a free loop device that detaches itself when its
 * last user is gone (LO_FLAGS_AUTOCLEAR): returns the device's open fd and path. The caller mounts
 * it and closes the fd (devices.close); the mount's end then frees the device. Needs CAP_SYS_ADMIN
 * and /dev/loop-control.
 */
export function loopAttach(backing: number, devices: DeviceFiles): { fd: number; path: string } {
  const control = devices.open('/dev/loop-control');
  try {
    // another process may take the free device between the two calls: then LOOP_CONFIGURE says EBUSY
    for (let attempt = 0; attempt < 8; attempt++) {
      const path = `/dev/loop${freeLoop(control)}`;
      const fd = devices.open(path);
      if (ioctlPtr()(fd, LOOP_CONFIGURE, loopConfig(backing)) === 0) return { fd, path };
      const err = errno();
      devices.close(fd);
      if (err !== os.constants.errno.EBUSY) throw new SyscallError('LOOP_CONFIGURE', err);
    }
    throw new SyscallError('LOOP_CONFIGURE', os.constants.errno.EBUSY);
  } finally {
    devices.close(control);
  }
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
  const control = devices.open('/dev/loop-control');
  let device = -1;
  let fs = -1;
  try {
    const path = `/dev/loop${freeLoop(control)}`;
    device = devices.open(path);
    const config = loopConfig(backing);
    const configured = await new Promise<number>((resolve) =>
      ioctlPtrAsync().async(device, LOOP_CONFIGURE, config, (_e, rc) => resolve(rc)),
    );
    if (configured !== 0) throw new Error(`LOOP_CONFIGURE ${path} failed`);
    fs = syscall()(SYS_FSOPEN, 'str', type, 'uint', FSOPEN_CLOEXEC);
    if (fs < 0) throw new SyscallError('fsopen', errno());
    configureFs(fs, { source: path }, flags);
    const fsfd = fs;
    const created = await new Promise<number>((resolve) =>
      fsconfigAsync().async(SYS_FSCONFIG, fsfd, FSCONFIG_CMD_CREATE, null, null, 0, (_e, rc) => resolve(rc)),
    );
    if (created < 0) throw new Error(`fsconfig create (${type} on ${path}) failed`);
    const attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    const mount = syscall()(SYS_FSMOUNT, 'int', fs, 'uint', FSMOUNT_CLOEXEC, 'uint', attrs);
    if (mount < 0) throw new SyscallError('fsmount', errno());
    return mount;
  } finally {
    if (fs >= 0) close()(fs);
    if (device >= 0) devices.close(device);
    devices.close(control);
  }
}

/** The [offset, length] ranges of `fd` that hold data (lseek SEEK_DATA / SEEK_HOLE), up to `size`. */
export function dataRanges(fd: number, size: number): [number, number][] {
  const ranges: [number, number][] = [];
  let at = 0;
  while (at < size) {
    const data = lseek()(fd, at, SEEK_DATA);
    if (data < 0) break; // ENXIO: only a hole is left
    const hole = lseek()(fd, data, SEEK_HOLE);
    if (hole < 0) throw new SyscallError('lseek', errno());
    ranges.push([Number(data), Number(hole) - Number(data)]);
    at = Number(hole);
  }
  return ranges;
}
