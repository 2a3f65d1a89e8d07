// Extended attributes read from the harness: overlayfs's marks on a job's upper layer (an opaque
// directory's), which say what the job did to the directory below.
import { libcFunction } from './library.js';

const lgetxattr = libcFunction<(path: string, name: string, value: Buffer, size: number) => number>(
  'long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)',
);

/**
 * An extended attribute of `path` itself (lgetxattr(2): a symlink is never followed), at most
 * `max` bytes; null when it has none (ENODATA), the filesystem keeps none, or the path is gone.
 */
export function readXattr(path: string, name: string, max = 64): Buffer | null {
  const value = Buffer.alloc(max);
  const n = lgetxattr()(path, name, value, max);
  return n < 0 ? null : value.subarray(0, n);
}
