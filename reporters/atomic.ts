// Atomic file writes for reports: the data goes to a temp file in the target's own directory (so the
// rename cannot cross a filesystem), is fsynced, then renamed over the target. A reader, or a crash at
// any point, sees either the old file or the whole new one — never a half-written report. The temp
// file is removed on every error; only a crash between its creation and the rename (SIGKILL, power
// loss) can leave one behind, named `.<name>.<pid>.<random>.tmp` beside the target.
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** A report could not be written: names the file and the errno (`code`, e.g. `ENOENT`). */
export class ReportWriteError extends Error {
  override readonly name = 'ReportWriteError';
  constructor(
    readonly path: string,
    readonly code: string | null,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`cannot write ${path}: ${code ?? 'error'} (${detail})`, { cause });
  }
}

function errnoOf(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' ? code : null;
}

/** Writes `data` to `file` atomically (temp file + fsync + rename), or throws a ReportWriteError. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const target = resolve(file);
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | null = null;
  let created = false;
  try {
    // 'wx': never follow or reuse an existing path; 0o666 so the umask decides, as for any new file
    fd = openSync(temp, 'wx', 0o666);
    created = true;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, target);
    created = false;
  } catch (err) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    if (created) {
      try {
        unlinkSync(temp);
      } catch {
        // gone already, or the directory vanished under us
      }
    }
    throw new ReportWriteError(file, errnoOf(err), err);
  }
  syncDir(dir);
}

/** Makes the rename itself durable. Best effort: some filesystems refuse fsync on a directory. */
function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // the file is complete and in place; only its survival of a power cut is less certain
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Throws the ReportWriteError a write to `file` would end in, where that can be known before a run:
 * its directory is missing (ENOENT), not a directory (ENOTDIR) or not writable (EROFS, EACCES). A run
 * that takes an hour should not learn at its end that its report has nowhere to go. (A full disk can
 * only be found by writing.)
 */
export function assertWritable(file: string): void {
  const target = resolve(file);
  const dir = dirname(target);
  try {
    if (!statSync(dir).isDirectory()) {
      throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    }
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ReportWriteError(target, errnoOf(err), err);
  }
}
