// The launcher's status lines (native/launcher/proto.c writes them): its exit, the job tree's
// figures, its overlays, trace marks and a setup failure, parsed into reports — and that failure
// said as one line with the fix where the cause is known.
import os from 'node:os';
import { errnoName } from '../../native/errors.js';
import { isRoot } from '../identity.js';

/** The job tree's I/O from init's task counters (see native/launcher/init.c). */
export interface TaskIo {
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

interface EndFigures {
  maxRssKiB: number;
  userUs: number;
  systemUs: number;
  /** null when the kernel keeps no task I/O counters (or an older launcher sent none) */
  io: TaskIo | null;
}

export type LauncherReport =
  | ({ kind: 'exit'; code: number } & EndFigures)
  | ({ kind: 'signal'; signal: number } & EndFigures)
  | { kind: 'error'; step: string; errno: number; code: string }
  /**
   * The whole job tree's rusage (the outer launcher's RUSAGE_CHILDREN once every descendant was
   * reaped: orphans included, whoever reaped them); maxRssKiB is the largest single process. Written
   * last, in every mode, after init has been reaped.
   */
  | { kind: 'tree'; maxRssKiB: number; userUs: number; systemUs: number }
  /** `--overlay-dir`: the mount point whose upper layer is OVERLAY_DIR/<index>/upper. */
  | { kind: 'overlay'; index: number; mountPoint: string }
  /**
   * `--overlay-dir`: a mount point overlayfs refused (errno), bound read-only instead; `fs-split`:
   * and each directory in it overlaid on its own (`overlay` lines follow for them).
   */
  | { kind: 'fs-ro' | 'fs-split'; errno: number; code: string; mountPoint: string }
  /**
   * `--overlay-mount`: the inodes in use on the layers tmpfs once every mount step was done, before
   * the job existed (native/launcher/init.c); the pollution report is empty when it has not grown.
   */
  | { kind: 'layers'; inodes: number }
  /** `--trace`: a phase of the launcher, init or the job reached at CLOCK_MONOTONIC `ns`. */
  | { kind: 'trace'; phase: string; ns: bigint }
  /** The job's init as the host sees it, once it is the launcher's one child (first line of a start). */
  | { kind: 'init'; pid: number };

/** Undoes the launcher's (and mountinfo's) `\ooo` escapes of a path. */
export function unescapeMountPath(text: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const octal = raw[i] === 0x5c ? /^[0-7]{3}$/.exec(raw.subarray(i + 1, i + 4).toString('latin1')) : null;
    if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += 3;
    } else bytes.push(raw[i] ?? 0);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses the launcher's status lines; unknown or partial lines are ignored (a killed launcher may cut one). */
export function parseLauncherReports(text: string): LauncherReport[] {
  const reports: LauncherReport[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    const [kind, a = '', b = '0', c = '0', d = '0'] = fields;
    if (kind === 'error' && fields.length === 3) {
      const errno = Number(b);
      reports.push({ kind: 'error', step: a, errno, code: errnoName(errno) });
    } else if ((kind === 'exit' || kind === 'signal') && (fields.length === 5 || fields.length === 9)) {
      const [rchar, wchar, readBytes, writeBytes] = fields.slice(5).map(Number);
      const io =
        rchar === undefined || wchar === undefined || readBytes === undefined || writeBytes === undefined
          ? null
          : { rchar, wchar, readBytes, writeBytes };
      const common = { maxRssKiB: Number(b), userUs: Number(c), systemUs: Number(d), io };
      if (kind === 'exit') reports.push({ kind, code: Number(a), ...common });
      else reports.push({ kind, signal: Number(a), ...common });
    } else if (kind === 'tree' && fields.length === 4) {
      reports.push({ kind, maxRssKiB: Number(a), userUs: Number(b), systemUs: Number(c) });
    } else if (kind === 'layers' && fields.length === 2 && /^\d+$/.test(a)) {
      // written once, before the job could exist: a later one is not the launcher's
      if (!reports.some((r) => r.kind === 'layers')) reports.push({ kind, inodes: Number(a) });
    } else if (kind === 'init' && fields.length === 2 && /^[1-9]\d*$/.test(a)) {
      if (!reports.some((r) => r.kind === 'init')) reports.push({ kind, pid: Number(a) });
    } else if (kind === 'trace' && fields.length === 3 && /^[a-z-]+$/.test(a) && /^\d+$/.test(b)) {
      reports.push({ kind, phase: a, ns: BigInt(b) });
    } else if (kind === 'overlay' && fields.length === 3 && /^\d+$/.test(a) && b.startsWith('/')) {
      reports.push({ kind, index: Number(a), mountPoint: unescapeMountPath(b) });
    } else if (
      (kind === 'fs-ro' || kind === 'fs-split') &&
      fields.length === 3 &&
      /^\d+$/.test(a) &&
      b.startsWith('/')
    ) {
      const errno = Number(a);
      reports.push({ kind, errno, code: errnoName(errno), mountPoint: unescapeMountPath(b) });
    }
  }
  return reports;
}

/**
 * A setup failure the launcher reported, as one line with the fix where the cause is known: the
 * namespaces a job needs are what a host most often refuses.
 */
export function launcherErrorMessage(
  report: { step: string; code: string },
  job: { userns: boolean },
  root: boolean = isRoot(),
): string {
  const what = `${report.step}: ${report.code}`;
  if (report.step !== 'clone' || report.code !== 'EPERM') return what;
  if (job.userns)
    return `${what} — this host refuses new user namespaces (user.max_user_namespaces=0, kernel.unprivileged_userns_clone=0, Ubuntu's kernel.apparmor_restrict_unprivileged_userns=1 or a container's seccomp profile): allow them, or run as root without --userns`;
  if (!root)
    return `${what} — a job's namespaces need root or a user namespace: pass --userns (run), userns: true (manifest, Vitest pool), or run as root`;
  return `${what} — the namespaces were refused even to root (a container's seccomp profile or missing capabilities): run the container privileged or with seccomp=unconfined`;
}

export function signalName(signo: number): string {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === signo) return name;
  return `SIG${signo}`;
}
