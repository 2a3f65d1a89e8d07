// Binds native/spawn/usertmpfs.c: rootless, a tmpfs for a job's overlay layers made in a user
// namespace of its own, and the check that a filesystem keeps the user.* attributes overlayfs needs.
import { SyscallError } from '../errors.js';
import { nativeFunction } from './library.js';

const userTmpfs = nativeFunction<(out: Int32Array) => number>('int rf_userns_tmpfs(_Out_ int *out)');
const keepsXattrs = nativeFunction<(root: number) => number>('int rf_keeps_user_xattrs(int root)');

/**
 * Rootless, a tmpfs for a job's overlay layers, mounted nowhere: made in a user namespace of its own,
 * where only root could make one in ours (detachedTmpfs). Throws where the kernel refuses it, or
 * where its tmpfs keeps no user.* attributes (EOPNOTSUPP: overlayfs in a user namespace needs them).
 * The caller owns the fd.
 */
export function detachedTmpfsInOwnUserns(): number {
  const out = new Int32Array(1);
  const err = userTmpfs()(out);
  if (err !== 0) throw new SyscallError('tmpfs in a user namespace', err);
  return out[0] ?? -1;
}

/**
 * Whether a file on the filesystem whose root `rootFd` is keeps user.* attributes (a probe file made
 * and removed there): what overlayfs in a user namespace needs of its upper layer (a tmpfs: Linux 6.6+).
 */
export function keepsUserXattrs(rootFd: number): boolean {
  return keepsXattrs()(rootFd) === 0;
}
