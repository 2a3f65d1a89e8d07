// Binds native/spawn/cgfiles.c: one write, or one rmdir, on each of a job's cgroup directories in a
// single trip to koffi's worker thread.
import { isMainThread } from 'node:worker_threads';
import { SyscallError } from '../errors.js';
import { asError, inFlight, nativeFunction, onNextTurn, pack } from './library.js';

type WriteEach = ((paths: Buffer, n: number, value: string) => number) & {
  async: (
    paths: Buffer,
    n: number,
    value: string,
    callback: (error: unknown, result: number) => void,
  ) => void;
};
type RmdirEach = ((paths: Buffer, n: number) => number) & {
  async: (paths: Buffer, n: number, callback: (error: unknown, result: number) => void) => void;
};
const writeEach = nativeFunction<WriteEach>(
  'int rf_write_each(const uint8_t *paths, int n, const char *value)',
);
const rmdirEach = nativeFunction<RmdirEach>('int rf_rmdir_each(const uint8_t *paths, int n)');

/** rf_write_each's failure: which of the paths, and the errno value. */
export class WriteEachError extends SyscallError {
  constructor(
    readonly path: string,
    errno: number,
  ) {
    super(`write ${path}`, errno);
  }
}

/**
 * Writes `value` into each file (one write(2), no O_CREAT), in order, on koffi's worker thread: one
 * thread-pool trip for all of them. Rejects with a WriteEachError naming the first that failed.
 */
export function writeEachNative(paths: readonly string[], value: string): Promise<void> {
  const packed = pack(paths);
  // rc: the failed path's index + 1 in the high bits, its errno in the low 16
  const failure = (rc: number): WriteEachError =>
    new WriteEachError(paths[(rc >> 16) - 1] ?? paths[0] ?? '', rc & 0xffff);
  if (!isMainThread)
    return onNextTurn(() => {
      const rc = writeEach()(packed, paths.length, value);
      if (rc !== 0) throw failure(rc);
    });
  inFlight.add(packed);
  return new Promise((resolve, reject) => {
    writeEach().async(packed, paths.length, value, (error, rc) => {
      inFlight.delete(packed);
      if (error) reject(asError(error));
      else if (rc === 0) resolve();
      else reject(failure(rc));
    });
  });
}

/** The most directories one rmdirEachNative call takes (a bit each in an int). */
export const RMDIR_EACH_MAX = 31;

/**
 * rmdir of each directory (at most RMDIR_EACH_MAX) on koffi's worker thread, in one trip; one
 * already gone counts as removed. Resolves with those still there, for a slower path to retry.
 */
export function rmdirEachNative(dirs: readonly string[]): Promise<string[]> {
  if (dirs.length > RMDIR_EACH_MAX) return Promise.reject(new RangeError('rmdirEachNative: too many paths'));
  const packed = pack(dirs);
  const left = (mask: number): string[] => dirs.filter((_, i) => (mask & (1 << i)) !== 0);
  if (!isMainThread) return onNextTurn(() => left(rmdirEach()(packed, dirs.length)));
  inFlight.add(packed);
  return new Promise((resolve, reject) => {
    rmdirEach().async(packed, dirs.length, (error, mask) => {
      inFlight.delete(packed);
      if (error) reject(asError(error));
      else resolve(left(mask));
    });
  });
}
