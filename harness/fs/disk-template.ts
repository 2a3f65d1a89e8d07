// The template of a job's capped filesystem (disk.ts): mke2fs runs once per size and file count in a
// thread (a worker's module state is its own), into a sparse file in a private directory whose few
// data blocks are kept in memory; each job's image is those blocks written into a new sparse file.
// A run that knows its jobs' caps before they start (`ci`) has the template made on the side (an
// mke2fs of its own while the run starts) rather than on its first job's path; that job waits for
// it instead of making a second one.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { dataRanges } from '../../native/libc/loop.js';

export interface DiskCaps {
  /** Bytes the job may leave; null: no byte cap (the inode cap alone). */
  bytes: number | null;
  /** Files and directories it may create; null: no file cap. */
  files: number | null;
}

interface Template {
  size: number;
  inodes: number;
  blocks: { offset: number; data: Buffer }[];
}

/** Without a byte cap, the image is at most this large: the inode cap is what binds. */
const UNCAPPED_BYTES = 64 * 2 ** 30;
/** ext4 keeps at least 16 inodes in each 128 MiB block group: more groups would round a small file cap up. */
const GROUP_BYTES = 128 * 2 ** 20;
const MIN_GROUP_INODES = 16;
/** Without a file cap, one inode per this many bytes (mke2fs's own default ratio). */
const BYTES_PER_INODE = 16384;
/**
 * ext4's inodes are 256 bytes; their tables come on top of the cap, as do each block group's two
 * bitmaps and the root and lost+found (about 64 KiB), so the job gets the cap less a few blocks.
 */
const INODE_BYTES = 256;
const GROUP_OVERHEAD = 2 * 4096;
const FIXED_OVERHEAD = 64 * 1024;
/** ext4 keeps 2% of the blocks, at most 4096, back for its own metadata (ext4_calculate_resv_clusters). */
const RESERVED_FRACTION = 1 / 50;
const RESERVED_MAX = 4096 * 4096;

const templates = new Map<string, Template>();
/** mke2fs runs on this thread. */
let runs = 0;
/** Names the templates' directories apart: two made in one clock tick must not share one. */
let made = 0;

/** How many templates this thread has made (mke2fs runs): tests check that none is made twice. */
export function templateRuns(): number {
  return runs;
}

/** Where mke2fs is; throws when e2fsprogs is missing. */
export function mke2fs(): string {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    const candidate = path.join(dir, 'mke2fs');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('mke2fs not found (e2fsprogs)');
}

const keyOf = (caps: DiskCaps): string => `${caps.bytes ?? '-'}:${caps.files ?? '-'}`;

/** The image's size and inode count for the caps: the cap itself, plus ext4's own overhead. */
function planOf(caps: DiskCaps): { size: number; inodes: number } {
  const data =
    caps.bytes ??
    (caps.files === null
      ? UNCAPPED_BYTES
      : Math.min(
          UNCAPPED_BYTES,
          Math.max(1, Math.floor((caps.files + 12) / MIN_GROUP_INODES)) * GROUP_BYTES,
        ));
  // the files cap counts what the job makes: the root, lost+found, its /tmp and the reserved are on top
  const inodes = caps.files === null ? Math.ceil(data / BYTES_PER_INODE) : caps.files + 12;
  const groups = Math.ceil(data / GROUP_BYTES);
  const overhead =
    inodes * INODE_BYTES +
    groups * GROUP_OVERHEAD +
    FIXED_OVERHEAD +
    Math.min(data * RESERVED_FRACTION, RESERVED_MAX);
  return { size: Math.ceil((data + overhead) / 4096) * 4096, inodes };
}

function mke2fsArgs(inodes: number, file: string): string[] {
  return [
    '-q',
    '-F',
    '-t',
    'ext4',
    '-O',
    '^has_journal,^resize_inode',
    '-N',
    String(inodes),
    '-m',
    '0',
    '-b',
    '4096',
    '-E',
    'lazy_itable_init=1,nodiscard,root_owner=0:0',
    file,
  ];
}

/** The data blocks mke2fs wrote: all a new image needs, the rest of it being holes. */
function readTemplate(file: string, size: number, inodes: number): Template {
  const fd = fs.openSync(file, 'r');
  try {
    const blocks = dataRanges(fd, size).map(([offset, length]) => {
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, offset);
      return { offset, data: buf };
    });
    return { size, inodes, blocks };
  } finally {
    fs.closeSync(fd);
  }
}

/** The template for the caps: made now (mke2fs) unless this process has it. */
export function template(caps: DiskCaps, scratchPrefix: string): Template {
  const key = keyOf(caps);
  const known = templates.get(key);
  if (known) return known;
  const { size, inodes } = planOf(caps);
  // a directory of its own (0700): no one else can put a link where mke2fs, run as root, writes
  const dir = fs.mkdtempSync(`${scratchPrefix}disk-template-${++made}-`);
  try {
    const file = path.join(dir, 'image');
    fs.writeFileSync(file, '', { mode: 0o600, flag: 'wx' });
    fs.truncateSync(file, size);
    runs++;
    execFileSync(mke2fs(), mke2fsArgs(inodes, file), {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 30_000,
    });
    const ready = readTemplate(file, size, inodes);
    templates.set(key, ready);
    return ready;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const execFileAsync = promisify(execFile);
/** Templates being made ahead, by caps. */
const making = new Map<string, Promise<void>>();

/**
 * Starts making the template for the caps on the side (mke2fs as a child this thread does not wait
 * on), for jobs about to come. A failure is left to the job, which then makes its own and says why.
 */
export function makeTemplateAhead(caps: DiskCaps, scratchPrefix: string): void {
  const key = keyOf(caps);
  if (templates.has(key) || making.has(key)) return;
  const { size, inodes } = planOf(caps);
  const prefix = `${scratchPrefix}disk-template-${++made}-`;
  const ahead = (async (): Promise<void> => {
    let dir: string | null = null;
    try {
      dir = await fs.promises.mkdtemp(prefix);
      const file = path.join(dir, 'image');
      await fs.promises.writeFile(file, '', { mode: 0o600, flag: 'wx' });
      await fs.promises.truncate(file, size);
      runs++;
      const mkfs = execFileAsync(mke2fs(), mke2fsArgs(inodes, file), { timeout: 30_000 });
      mkfs.child.stdin?.end(); // nothing to answer: a prompt ends it at once, not at the timeout
      await mkfs;
      if (!templates.has(key)) templates.set(key, readTemplate(file, size, inodes));
    } catch {
      // the job's own template() tries again, on its path, and its error is the job's
    } finally {
      making.delete(key);
      // never a rejection: the job waiting on this must not fail for a directory it did not need
      if (dir) await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  })();
  making.set(key, ahead);
}

/** The template for the caps being made ahead, to wait for; null when none is. */
export function templateMaking(caps: DiskCaps): Promise<void> | null {
  return making.get(keyOf(caps)) ?? null;
}
