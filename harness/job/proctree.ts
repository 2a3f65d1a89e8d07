// Reads what every task of a job was doing, from /proc, while the job's cgroup is frozen: after a
// timeout this is the only evidence of what hung, so it goes into the result's diagnostics.
import fs from 'node:fs';
import { procFileTexts, readProcFiles, type ProcFiles } from '../../native/spawn-lib/proctree.js';
import type { ProcessInfo } from './result.js';

/**
 * What a frozen tree's processes were doing, as read while it waits: only the reads happen here,
 * and parseSnapshot() turns them into ProcessInfo once the tree is killed and thawed.
 */
export interface ProcessSnapshot {
  pids: readonly number[];
  /** The native read of the whole tree; null where it could not run and JavaScript read instead. */
  files: ProcFiles | null;
  /** JavaScript's reads, where the native one could not run: [status, cmdline] or null (gone). */
  texts: ([string, string] | null)[] | null;
}

export function captureProcesses(pids: readonly number[]): ProcessSnapshot {
  try {
    // the whole tree's files in one native call: the tree waits frozen for this, and it runs cold
    return { pids, files: readProcFiles(pids), texts: null };
  } catch {
    // no spawn library (a job could not have started without it): read from here instead
    return { pids, files: null, texts: pids.map(readProcessFiles) };
  }
}

export function parseSnapshot(snapshot: ProcessSnapshot): ProcessInfo[] {
  const texts = snapshot.files ? procFileTexts(snapshot.files) : (snapshot.texts ?? []);
  const out: ProcessInfo[] = [];
  snapshot.pids.forEach((pid, i) => {
    const read = texts[i];
    if (read) out.push(parseProcess(pid, read[0], read[1]));
  });
  return out.sort((a, b) => a.pid - b.pid);
}

function readProcessFiles(pid: number): [string, string] | null {
  try {
    // two files, not three: status holds all that stat would add, and after a deadline every
    // millisecond of reading keeps the frozen tree from being killed
    return [readProcFile(`/proc/${pid}/status`), readProcFile(`/proc/${pid}/cmdline`)];
  } catch {
    return null; // gone between listing and reading
  }
}

/** One buffer for every read of a snapshot, grown for a long cmdline: no allocation per file. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * A /proc file whole: readFileSync's fstat and its chunked reads are wasted on a file whose size
 * reads 0, and this runs while the frozen tree waits for its kill.
 */
function readProcFile(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, length);
        scratch = bigger;
      }
      const read = fs.readSync(fd, scratch, length, scratch.length - length, null);
      if (read === 0) return scratch.toString('utf8', 0, length);
      length += read;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Pure parser over /proc/PID/status and /proc/PID/cmdline, so it can be tested on captured text. */
export function parseProcess(pid: number, status: string, cmdline: string): ProcessInfo {
  const lines = `\n${status}`;
  const field = (key: string): string | undefined => statusField(lines, key);
  const comm = field('Name') ?? '?';
  const state = field('State')?.[0] ?? '?';
  const ppid = Number(field('PPid')?.trim() ?? 0);
  // VmRSS is in kB, and absent where there is no address space (a zombie, a kernel thread)
  const rssKiB = Number(/^\s*(\d+) kB$/.exec(field('VmRSS') ?? '')?.[1] ?? 0);
  // NSpid lists the pid in each namespace from the reader's down: the last is the job's own
  const nsLine = field('NSpid')?.trim().split(/\s+/);
  const nsPid = nsLine && nsLine.length > 1 ? Number(nsLine[nsLine.length - 1]) : null;
  const args = cmdline.split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1);
  return {
    pid,
    ppid,
    nsPid,
    state,
    rssBytes: rssKiB * 1024,
    cmdline: args.length ? args.join(' ') : `[${comm}]`,
  };
}

/**
 * One value of /proc/PID/status ("Key:\tvalue" lines, the text given with a newline in front), or
 * undefined. Name comes escaped by the kernel: a newline in a comm reads "\n", so every value is one
 * line. Looked up by key rather than split into a map: the snapshot runs while a tree waits frozen.
 */
function statusField(lines: string, key: string): string | undefined {
  const head = `\n${key}:\t`;
  const at = lines.indexOf(head);
  if (at < 0) return undefined;
  const end = lines.indexOf('\n', at + head.length);
  return lines.slice(at + head.length, end < 0 ? undefined : end);
}
