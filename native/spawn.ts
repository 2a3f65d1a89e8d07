// koffi bindings to native/spawn/spawn.c (libringfence-spawn.so): a constant-cost spawn that does not
// fork the Node process (see the C file for why), its reaper, and close-on-exec pipes.
import { createRequire } from 'node:module';
import { SyscallError } from './bindings.js';
import { nativeBuild } from './paths.js';

type Koffi = typeof import('koffi');

interface SpawnLib {
  spawn: (
    file: string,
    argv: Buffer,
    argc: number,
    env: Buffer,
    envc: number,
    fds: Int32Array,
    nfds: number,
    pidOut: Int32Array,
  ) => number;
  reap: (pid: number, statusOut: Int32Array) => number;
  pipe: (fds: Int32Array) => number;
}

let lib: SpawnLib | null = null;

export function spawnLibraryPath(): string {
  return nativeBuild('libringfence-spawn.so');
}

function load(): SpawnLib {
  if (lib) return lib;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as Koffi;
  const so = koffi.load(spawnLibraryPath());
  lib = {
    spawn: so.func(
      'int rf_spawn(const char *path, const uint8_t *argv, int argc, const uint8_t *env, int envc, const int *fds, int nfds, _Out_ int *pid)',
    ) as SpawnLib['spawn'],
    reap: so.func('int rf_reap(int pid, _Out_ int *status)') as SpawnLib['reap'],
    pipe: so.func('int rf_pipe(_Out_ int *fds)') as SpawnLib['pipe'],
  };
  return lib;
}

function pack(strings: readonly string[]): Buffer {
  return Buffer.concat(strings.map((s) => Buffer.from(`${s}\0`, 'utf8')));
}

/** Starts `file` with `fds[i]` as its fd i, in a session of its own. Returns the pid. */
export function spawnWithFds(
  file: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  fds: readonly number[],
): number {
  const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const pid = new Int32Array(1);
  const err = load().spawn(
    file,
    pack(argv),
    argv.length,
    pack(envList),
    envList.length,
    Int32Array.from(fds),
    fds.length,
    pid,
  );
  if (err !== 0) throw new SyscallError(`posix_spawn ${file}`, err);
  return pid[0] ?? 0;
}

export type WaitStatus = { code: number; signal: null } | { code: null; signal: number };

/** Reaps an own child without blocking: its status once it has exited, null while it runs. */
export function reapChild(pid: number): WaitStatus | null {
  const status = new Int32Array(1);
  const rc = load().reap(pid, status);
  if (rc < 0) throw new SyscallError('waitpid', -rc);
  if (rc === 0) return null;
  const raw = status[0] ?? 0;
  // WIFEXITED: low 7 bits zero; then the code is in bits 8-15, else the signal in the low 7 bits
  return (raw & 0x7f) === 0 ? { code: (raw >> 8) & 0xff, signal: null } : { code: null, signal: raw & 0x7f };
}

/** A close-on-exec pipe: [read end, write end]. */
export function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  const err = load().pipe(fds);
  if (err !== 0) throw new SyscallError('pipe2', err);
  return [fds[0] ?? -1, fds[1] ?? -1];
}
