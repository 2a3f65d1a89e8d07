// Where the launcher is: the install's build, checked and copied once per process into a sealed
// memfd that every job executes (native/sealed.ts) — never the file on disk, which a job might
// reach — and how a launcher process is told apart from others.
import fs from 'node:fs';
import { nativeBuild } from '../../native/paths.js';
import { sealedNative } from '../../native/sealed.js';

/** The launcher as installed: checked and copied from here once per process (native/sealed.ts). */
export function installedLauncherPath(): string {
  return nativeBuild('ringfence-launcher');
}

/**
 * What every job executes: the sealed copy of the launcher (/proc/self/fd/N), never the file on disk.
 * Throws ENOENT when it was never built, IntegrityError when the file is not what the install built.
 */
export function launcherPath(): string {
  return sealedNative('ringfence-launcher').path;
}

/** argv[0] of every launcher: its path names an fd, which says nothing in `ps`. */
export const LAUNCHER_ARGV0 = 'ringfence-launcher';

/** Whether `pid` runs a sealed launcher copy (of any ringfence process): its exe is that memfd. */
export function isLauncherProcess(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`) === '/memfd:ringfence:ringfence-launcher (deleted)';
  } catch {
    return false; // exited, or not ours to look at
  }
}

/** Why the launcher cannot be used, with the fix. */
export function launcherProblem(error: unknown): Error {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT')
    return new Error(
      `${installedLauncherPath()} is missing — run npm install (it builds native/launcher with the C compiler)`,
    );
  return error instanceof Error ? error : new Error(String(error));
}
