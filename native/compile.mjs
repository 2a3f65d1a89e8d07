// What native/build.mjs (at install) and native/prebuild.mjs (at pack) share: the two native files,
// how each is compiled, the fingerprint of their sources, and the checks that a built pair runs.
// Node stdlib only: the install step runs before any dependency is guaranteed to exist.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const nativeDir = dirname(fileURLToPath(import.meta.url));
export const flags = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];

/**
 * The launcher (an executable run once per job) and the spawn shim the harness loads through koffi.
 * The launcher is linked statically where the C library allows it: no dynamic loader at each job's
 * exec (a cost every job would pay) and a prebuilt one runs on any glibc or musl host. The spawn
 * library cannot be: it is loaded into Node and must share Node's C library.
 */
export const targets = [
  {
    what: 'launcher',
    name: 'ringfence-launcher',
    srcDir: join(nativeDir, 'launcher'),
    extra: [],
    staticWhenPossible: true,
    mode: 0o755,
  },
  {
    what: 'spawn library',
    name: 'libringfence-spawn.so',
    srcDir: join(nativeDir, 'spawn'),
    extra: ['-shared', '-fPIC'],
    staticWhenPossible: false,
    mode: 0o644,
  },
];

/** Node's process.arch → the GNU triplet of Debian's cross compilers and qemu-user's suffix. */
export const platforms = {
  x64: { triplet: 'x86_64-linux-gnu', qemu: 'qemu-x86_64-static', uname: 'x86_64', elfMachine: 62 },
  arm64: { triplet: 'aarch64-linux-gnu', qemu: 'qemu-aarch64-static', uname: 'aarch64', elfMachine: 183 },
};

/** Where a package's prebuilt pairs sit (made by prebuild.mjs at pack time), and `arch`'s pair. */
export const prebuiltRoot = join(nativeDir, 'prebuilt');
export function prebuiltDir(arch) {
  return join(prebuiltRoot, `linux-${arch}`);
}

/** Written beside a prebuilt pair: the fingerprint of the sources it was built from. */
export const SOURCE_STAMP = 'sources.sha256';

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function onPath(name) {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

export function sourcesOf(srcDir) {
  return readdirSync(srcDir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(srcDir, f));
}

/**
 * sha256 over every C source and header of both targets, and the flags: a prebuilt pair is used
 * only when it was built from exactly these (a checkout whose C changed after `npm pack` rebuilds).
 */
export function sourceFingerprint() {
  const hash = createHash('sha256').update(flags.join(' '));
  for (const { srcDir } of targets) {
    for (const file of readdirSync(srcDir)
      .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
      .sort()) {
      hash.update(`\0${file}\0`).update(readFileSync(join(srcDir, file)));
    }
  }
  return hash.digest('hex');
}

/**
 * Compiles one target to `output` (through a temporary name: a half-written binary never sits there).
 * `compiler` is [cmd, ...args]. Returns `{ error: null, linked: 'static' | 'dynamic' }`, or `{ error }`
 * with the compiler's complaint. `linkStatic`: 'try' links statically and falls back to a dynamic
 * link (a C library without its static archive), 'yes' must, 'no' does not try.
 */
export function compile(target, compiler, output, { linkStatic = 'no', strip = false } = {}) {
  const [cmd, ...ccArgs] = compiler;
  const partial = `${output}.tmp-${process.pid}`;
  const attempt = (extra) =>
    spawnSync(
      cmd,
      [...ccArgs, ...flags, ...target.extra, ...extra, '-o', partial, ...sourcesOf(target.srcDir)],
      {
        encoding: 'utf8',
      },
    );
  const stripFlag = strip ? ['-s'] : [];
  let result = attempt(
    linkStatic === 'no' || !target.staticWhenPossible ? stripFlag : ['-static', ...stripFlag],
  );
  let linked = linkStatic !== 'no' && target.staticWhenPossible ? 'static' : 'dynamic';
  if (linkStatic === 'try' && linked === 'static' && (result.error || result.status !== 0)) {
    result = attempt(stripFlag);
    linked = 'dynamic';
  }
  if (result.error || result.status !== 0) {
    rmSync(partial, { force: true });
    return {
      error: result.error ? result.error.message : (result.stderr || `${cmd} exited ${result.status}`).trim(),
    };
  }
  // whatever the umask: nobody but the owner writes what the harness runs as root
  chmodSync(partial, target.mode);
  renameSync(partial, output);
  return { error: null, linked };
}

/**
 * Why `file` is not a 64-bit ELF file for `arch`, or null. Checked before running it: exec falls back
 * to /bin/sh for a file the kernel cannot execute (ENOEXEC), so a launcher of another architecture
 * would not fail as such — it would run as a shell script.
 */
export function notElfFor(file, arch) {
  const header = Buffer.alloc(20);
  let fd;
  try {
    fd = openSync(file, 'r');
    readSync(fd, header, 0, header.length, 0);
  } catch (error) {
    return error.message;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (header.toString('latin1', 0, 4) !== '\x7fELF' || header[4] !== 2) return 'not a 64-bit ELF file';
  const machine = header.readUInt16LE(18);
  const wanted = platforms[arch]?.elfMachine;
  if (machine !== wanted) {
    const builtFor =
      Object.entries(platforms).find(([, p]) => p.elfMachine === machine)?.[0] ?? `ELF machine ${machine}`;
    return `built for ${builtFor}, not ${arch}`;
  }
  return null;
}

/**
 * `ringfence-launcher --self-test` (native/launcher/selftest.c), directly or under `emulator`, after
 * its ELF header says it is for `arch`. Returns null when it passed, else why not.
 */
export function launcherSelfTest(launcher, arch, emulator = null) {
  const notElf = notElfFor(launcher, arch);
  if (notElf) return notElf;
  const expectUname = platforms[arch]?.uname;
  const [cmd, args] = emulator ? [emulator, [launcher, '--self-test']] : [launcher, ['--self-test']];
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) return result.error.message;
  if (result.status !== 0) return (result.stderr || `exit ${result.status ?? result.signal}`).trim();
  if (expectUname && !result.stdout.includes(`self-test ok (${expectUname})`))
    return `unexpected: ${result.stdout.trim()}`;
  return null;
}

/**
 * Whether this Node can load the spawn library (right architecture, C library new enough). Node's
 * own loader is the test: a library that is not a Node addon loads and then "did not self-register";
 * any other failure (wrong ELF class, a missing GLIBC_2.x symbol version) is why it cannot be used.
 */
export function spawnLibraryLoads(library) {
  try {
    process.dlopen({ exports: {} }, library);
    return null;
  } catch (error) {
    const message = String(error?.message ?? error);
    return message.includes('did not self-register') ? null : message;
  }
}

/** Exits the install (or the pack) with one line that says why. */
export function fail(message) {
  process.stderr.write(`ringfence: ${message}\n`);
  process.exit(1);
}

/** Copies src to dst through a temporary name, written fresh with `mode` (not copied with its metadata). */
export function installFile(src, dst, mode) {
  const partial = `${dst}.tmp-${process.pid}`;
  rmSync(partial, { force: true });
  // 'wx': never follows a link planted at the temporary name
  writeFileSync(partial, readFileSync(src), { mode, flag: 'wx' });
  chmodSync(partial, mode);
  renameSync(partial, dst);
}
