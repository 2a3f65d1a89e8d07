// Binds native/spawn/remove.c: the removal of a directory tree a job left, at any depth, without
// following symlinks and without running a host program.
import { isMainThread } from 'node:worker_threads';
import { SyscallError } from '../errors.js';
import { asError, nativeFunction, onNextTurn } from './library.js';

type RemoveTree = ((path: string) => number) & {
  async: (path: string, callback: (error: unknown, result: number) => void) => void;
};
const removeTree = nativeFunction<RemoveTree>('int rf_remove_tree(const char *path)');

/**
 * Removes a directory tree on koffi's worker thread, so the event loop goes on (on a worker thread
 * of our own: on the loop's next turn, library.ts says why). Rejects with the errno of what could
 * not be removed.
 */
export function removeTreeNative(target: string): Promise<void> {
  if (!isMainThread) return onNextTurn(() => removeTreeNativeSync(target));
  return new Promise((resolve, reject) => {
    removeTree().async(target, (error, errno) => {
      if (error) reject(asError(error));
      else if (errno !== 0) reject(new SyscallError(`remove ${target}`, errno));
      else resolve();
    });
  });
}

/** removeTreeNative for exit handlers, which cannot wait. */
export function removeTreeNativeSync(target: string): void {
  const errno = removeTree()(target);
  if (errno !== 0) throw new SyscallError(`remove ${target}`, errno);
}
