// close(2) from the harness, for fds the native bindings made: Node's fs.closeSync warns, in a worker
// thread, about closing an fd it did not open there; and on libuv's thread pool, for the last fd of
// a detached mount, whose unmount happens at that close.
import { isMainThread } from 'node:worker_threads';
import { SyscallError } from '../errors.js';
import { close, errno, libcFunction } from './library.js';

const closeAsync = libcFunction<{ async: (fd: number, cb: (error: unknown, rc: number) => void) => void }>(
  'close',
  'int',
  ['int'],
);

/** close(2) for fds a native binding made. */
export function closeFd(fd: number): void {
  if (close()(fd) !== 0) throw new SyscallError('close', errno());
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
  return new Promise((resolve) => closeAsync().async(fd, () => resolve()));
}
