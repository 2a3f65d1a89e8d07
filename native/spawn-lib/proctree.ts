// Binds native/spawn/proctree.c: the /proc files of a frozen tree read in one call, kept as bytes
// (a frozen tree waits for this read, not for turning it into text).
import os from 'node:os';
import { SyscallError } from '../errors.js';
import { nativeFunction } from './library.js';

const readProcs = nativeFunction<
  (pids: Int32Array, n: number, out: Buffer, cap: number, lengths: Int32Array) => number
>('long rf_read_procs(const int *pids, int n, _Out_ uint8_t *out, long cap, _Out_ int *lengths)');

const ENOSPC = os.constants.errno.ENOSPC;

/** rf_read_procs's buffer: kept between snapshots up to PROC_TEXT_KEEP, a bigger one used once. */
const PROC_TEXT_BYTES = 256 * 1024;
const PROC_TEXT_KEEP = 4 * 1024 * 1024;
let procText: Buffer | null = null;

/** The raw bytes of a tree's /proc files: two lengths a pid (status, cmdline), -1 for a file that was gone. */
export interface ProcFiles {
  bytes: Buffer;
  lengths: Int32Array;
}

/** /proc/PID/status and /proc/PID/cmdline of each pid, read in one call. */
export function readProcFiles(pids: readonly number[]): ProcFiles {
  const lengths = new Int32Array(pids.length * 2);
  const list = Int32Array.from(pids);
  // only the bytes C wrote (lengths) are ever read from it
  let text = (procText ??= Buffer.allocUnsafe(PROC_TEXT_BYTES));
  let used = readProcs()(list, pids.length, text, text.length, lengths);
  while (used === -ENOSPC) {
    text = Buffer.allocUnsafe(text.length * 2);
    used = readProcs()(list, pids.length, text, text.length, lengths);
  }
  // a tree of huge command lines does not hold its buffer for good
  if (text.length <= PROC_TEXT_KEEP) procText = text;
  if (used < 0) throw new SyscallError('read /proc', -used);
  return { bytes: Buffer.from(text.subarray(0, used)), lengths };
}

/** A pair of texts per pid of what readProcFiles read, null for one that was gone. */
export function procFileTexts(files: ProcFiles): ([string, string] | null)[] {
  const out: ([string, string] | null)[] = [];
  let at = 0;
  const next = (length: number): string | null => {
    if (length < 0) return null;
    at += length;
    return files.bytes.toString('utf8', at - length, at);
  };
  for (let i = 0; i < files.lengths.length / 2; i++) {
    const status = next(files.lengths[2 * i] ?? -1);
    const cmdline = next(files.lengths[2 * i + 1] ?? -1);
    out.push(status === null || cmdline === null ? null : [status, cmdline]);
  }
  return out;
}
