// The two native files the harness runs: the launcher (executed once per job, as root, outside every
// namespace until it clones the job) and the spawn library (loaded into this process through koffi).
// A job that could change either on disk would run its own code on the host at the next start: runc's
// CVE-2019-5736 in our shape. So each is read once per process, checked against the checksum the
// install recorded, copied into a memfd sealed against writes, growth and shrinking, and from then on
// only ever executed or loaded from that memfd (/proc/self/fd/N): what runs can no longer change,
// whatever happens to the file on disk. Worker threads share the process's fds: the thread that
// sealed the copies hands their numbers to its workers (sealedHandles → adoptSealed), so a worker
// started late runs the copy made at the start, not what the disk holds by then.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  addSeals,
  getSeals,
  memfdCreate,
} from './libc/memfd.js';
import { nativeBuild } from './paths.js';

export const NATIVE_FILES = ['ringfence-launcher', 'libringfence-spawn.so'] as const;
export type NativeName = (typeof NATIVE_FILES)[number];

/** Written by native/build.mjs beside the binaries: what `npm install` built, by sha256. */
export const CHECKSUMS_FILE = 'checksums.json';

/** No write, no growth, no shrinking, and no removing those seals: the content is fixed for good. */
const SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
/** Sealed copies sit at or above this fd, clear of any stdio layout a spawn gives its child. */
const SEALED_MIN_FD = 100;

export interface SealedFile {
  name: NativeName;
  fd: number;
  /** What exec and dlopen are given: this process's own fd, so it names the sealed copy only. */
  path: string;
  sha256: string;
}

/** Fd numbers and checksums, as handed to a worker thread (fds are per process, not per thread). */
export type SealedHandles = Partial<Record<NativeName, { fd: number; sha256: string }>>;

/** The installed native files are not the ones `npm install` built, or cannot be trusted. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

const sealed = new Map<NativeName, SealedFile>();

const REBUILD = 'rebuild it: npm rebuild ringfence (in its own checkout: npm run install)';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function recordedChecksums(): Partial<Record<NativeName, string>> {
  const file = nativeBuild(CHECKSUMS_FILE);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Record<NativeName, string>>;
  } catch (error) {
    throw new IntegrityError(
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ${REBUILD}`,
    );
  }
}

/**
 * Nobody but the owner may write the file or the directory that holds it. Group write is allowed for
 * root's group, ours, and the owner's private group (gid = uid: what a umask of 002 under Debian's
 * user-private groups gives a checkout). The owner
 * is not checked: `sudo npx ringfence` in a checkout a user owns is the common CI case, and that user
 * can change the JavaScript root loads from it just as well.
 */
function checkNotWritableByOthers(file: string): void {
  const gid = process.getegid?.() ?? 0;
  for (const target of [file, path.dirname(file)]) {
    const st = fs.statSync(target);
    const groupWritable = (st.mode & 0o020) !== 0 && st.gid !== 0 && st.gid !== gid && st.gid !== st.uid;
    if ((st.mode & 0o002) !== 0 || groupWritable)
      throw new IntegrityError(
        `${target} is writable by others (mode ${(st.mode & 0o777).toString(8)}): chmod go-w ${target}`,
      );
  }
}

/**
 * The sealed copy of `name`, made on first use in this process (or adopted from the thread that made
 * it). Throws ENOENT when the file was never built, IntegrityError when it is not what was built.
 */
export function sealedNative(name: NativeName): SealedFile {
  const known = sealed.get(name);
  if (known) return known;
  const source = nativeBuild(name);
  const bytes = fs.readFileSync(source);
  checkNotWritableByOthers(source);
  const digest = sha256(bytes);
  const recorded = recordedChecksums()[name];
  if (recorded !== digest)
    throw new IntegrityError(
      `${source} is not the file npm install built (sha256 ${digest.slice(0, 16)}…, recorded ${recorded ? `${recorded.slice(0, 16)}…` : 'none'}): ${REBUILD}`,
    );
  // the bytes hashed are the bytes sealed: nothing can change the file between the check and the copy
  const fd = memfdCreate(`ringfence:${name}`, SEALED_MIN_FD);
  for (let off = 0; off < bytes.length;) off += fs.writeSync(fd, bytes, off);
  addSeals(fd, SEALS);
  const file: SealedFile = { name, fd, path: `/proc/self/fd/${fd}`, sha256: digest };
  sealed.set(name, file);
  return file;
}

/** Seals every native file now (at a harness's start, before any job can run). */
export function sealAllNative(): SealedHandles {
  for (const name of NATIVE_FILES) sealedNative(name);
  return sealedHandles();
}

export function sealedHandles(): SealedHandles {
  const handles: SealedHandles = {};
  for (const [name, file] of sealed) handles[name] = { fd: file.fd, sha256: file.sha256 };
  return handles;
}

/**
 * Takes over copies sealed by another thread of this process. Each fd is checked to be what it claims:
 * our memfd, fully sealed, holding the bytes of that checksum — never a number that happens to be
 * open. A handle that fails the check is an error (the copy was made in this very process).
 */
export function adoptSealed(handles: SealedHandles | undefined): void {
  for (const name of NATIVE_FILES) {
    const handle = handles?.[name];
    if (!handle || sealed.has(name)) continue;
    const fdPath = `/proc/self/fd/${handle.fd}`;
    const link = fs.readlinkSync(fdPath);
    if (link !== `/memfd:ringfence:${name} (deleted)` || getSeals(handle.fd) !== SEALS)
      throw new IntegrityError(`fd ${handle.fd} is not the sealed copy of ${name} (${link})`);
    if (sha256(fs.readFileSync(fdPath)) !== handle.sha256)
      throw new IntegrityError(`the sealed copy of ${name} at fd ${handle.fd} does not match its checksum`);
    sealed.set(name, { name, fd: handle.fd, path: fdPath, sha256: handle.sha256 });
  }
}
