// Filesystems mounted nowhere, through the new mount API (fsopen, fsconfig, fsmount, open_tree;
// Linux >= 5.2): an fd of the root keeps one alive until closed, and with no mount point nothing
// can be left mounted on the host, even by a crash. Needs CAP_SYS_ADMIN.
import { SyscallError } from '../errors.js';
import { SYS_FSCONFIG, SYS_FSMOUNT, SYS_FSOPEN, SYS_OPEN_TREE, close, errno, syscall } from './library.js';

const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const AT_EMPTY_PATH = 0x1000;
export const FSOPEN_CLOEXEC = 1;
const FSCONFIG_SET_FLAG = 0;
const FSCONFIG_SET_STRING = 1;
export const FSCONFIG_CMD_CREATE = 6;
export const FSMOUNT_CLOEXEC = 1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;

/**
 * A tmpfs that is mounted nowhere: an fd of its root. A job's overlay layers go in it (the launcher
 * attaches it in the job's own mount namespace), and their pages are charged to the job's memory
 * cgroup, which writes them.
 */
export function detachedTmpfs(options: Record<string, string> = {}): number {
  return detachedMount('tmpfs', options);
}

/** fsconfig's strings (`options`) and flags on an fsopen fd, before its create. */
export function configureFs(fs: number, options: Record<string, string>, flags: readonly string[]): void {
  const call = syscall();
  for (const [key, value] of Object.entries(options))
    if (call(SYS_FSCONFIG, 'int', fs, 'uint', FSCONFIG_SET_STRING, 'str', key, 'str', value, 'int', 0) < 0)
      throw new SyscallError(`fsconfig ${key}`, errno());
  for (const flag of flags)
    if (call(SYS_FSCONFIG, 'int', fs, 'uint', FSCONFIG_SET_FLAG, 'str', flag, 'void *', null, 'int', 0) < 0)
      throw new SyscallError(`fsconfig ${flag}`, errno());
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
  const call = syscall();
  const fs = call(SYS_FSOPEN, 'str', type, 'uint', FSOPEN_CLOEXEC);
  if (fs < 0) throw new SyscallError('fsopen', errno());
  try {
    configureFs(fs, options, flags);
    if (
      call(SYS_FSCONFIG, 'int', fs, 'uint', FSCONFIG_CMD_CREATE, 'void *', null, 'void *', null, 'int', 0) < 0
    )
      throw new SyscallError('fsconfig create', errno());
    const attrs = type === 'tmpfs' ? 0 : MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    const mount = call(SYS_FSMOUNT, 'int', fs, 'uint', FSMOUNT_CLOEXEC, 'uint', attrs);
    if (mount < 0) throw new SyscallError('fsmount', errno());
    return mount;
  } finally {
    close()(fs);
  }
}

/**
 * A detached copy of the mount `fd` is the root of (open_tree OPEN_TREE_CLONE): the same filesystem,
 * another mount. What a job's launcher attaches in its namespace is gone with that namespace; the
 * original stays detached here, and can be handed to the next job.
 */
export function cloneMount(fd: number): number {
  const flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
  const clone = syscall()(SYS_OPEN_TREE, 'int', fd, 'str', '', 'uint', flags);
  if (clone < 0) throw new SyscallError('open_tree', errno());
  return clone;
}
