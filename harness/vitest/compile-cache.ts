// Node's compile cache for the pool's workers (Node ≥ 22.10): V8's code for Vitest's worker code,
// made once by a host process and read by every test file's Node start instead of compiling it
// again. A code cache is executable, so only the host writes it: the filler below loads Vitest's own
// worker entry (the files Vitest's forks pool runs unsandboxed, protected from jobs), never a test
// file; the sandboxes see the directory read-only, and their own misses are compiled and dropped.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import nodeModule from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The variable a worker's Node reads the directory from (a user's own setting is left alone). */
export const COMPILE_CACHE_ENV = 'NODE_COMPILE_CACHE';

/** A filler that has not finished by then is ended (the files then run with what it wrote). */
const FILL_TIMEOUT_MS = 10_000;

interface Cache {
  dir: string;
  /** The filler while it runs. */
  child: ChildProcess | null;
  /** Settles when the filler has ended. */
  filled: Promise<boolean>;
}

/** One cache per Node flags (V8 accepts a cache only under the flags that made it). */
const caches = new Map<string, Cache>();
// a Vitest process that ends before its last worker stops still takes its caches with it
process.once('exit', () => {
  for (const cache of caches.values()) {
    cache.child?.kill('SIGKILL');
    fs.rmSync(cache.dir, { recursive: true, force: true });
  }
});

/** Whether the Node running Vitest (and so its workers) can write and flush a compile cache. */
function compileCacheSupported(): boolean {
  return typeof (nodeModule as { flushCompileCache?: unknown }).flushCompileCache === 'function';
}

/**
 * The cache directory for workers started with `execArgv`, or null where Node has none (or the user
 * set their own). The first call makes it and starts the filler: Vitest's worker entry and the
 * `modules` after it (Vitest's own files only: they run on the host) loaded by a host Node with the
 * same flags and environment. Sandboxes see it from the start, filled or not: a worker that starts
 * before the filler has written it compiles as without one, since Node checks each entry's size and
 * checksum before V8 takes it.
 */
export function compileCache(
  execArgv: readonly string[],
  modules: readonly string[],
  env: Record<string, string>,
): string | null {
  if (!compileCacheSupported() || env[COMPILE_CACHE_ENV] !== undefined) return null;
  const key = JSON.stringify(execArgv);
  let cache = caches.get(key);
  if (!cache) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringfence-compile-cache-'));
    // the sandbox's uid (another one than the host's with `uid`) reads it; nothing in it is secret
    fs.chmodSync(dir, 0o755);
    cache = { dir, child: null, filled: Promise.resolve(false) };
    cache.filled = fill(cache, execArgv, modules, env);
    caches.set(key, cache);
  }
  return cache.dir;
}

/** Node's flags that load a module before the entry (`--import=./x.mjs` or `--import ./x.mjs`). */
const PRELOAD_FLAG = /^(?:-r|--require|--import|--loader|--experimental-loader)(?:=|$)/;

/**
 * `args` less the modules they preload. The filler runs on the host after test files have started,
 * so it loads nothing but Vitest's own files: a preload in the project (a `--import` in Vitest's
 * execArgv or NODE_OPTIONS) is the user's code, which a file could have changed by then (in a
 * `writable` directory, or before a watch-mode rerun's filler). Loaders do not change V8's code.
 */
export function withoutPreloads(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!PRELOAD_FLAG.test(arg)) kept.push(arg);
    else if (!arg.includes('=')) i++; // its value is the next argument
  }
  return kept;
}

/** Runs the filler; true when it flushed the cache and exited 0 in time. */
function fill(
  cache: Cache,
  execArgv: readonly string[],
  modules: readonly string[],
  env: Record<string, string>,
): Promise<boolean> {
  const filler = fileURLToPath(new URL('./compile-cache-fill.js', import.meta.url));
  return new Promise((resolve) => {
    // Vitest's worker entry wants an IPC channel (it checks process.send), as its own fork gives it
    const fillerEnv: Record<string, string> = { ...env, [COMPILE_CACHE_ENV]: cache.dir };
    // NODE_OPTIONS with a preload goes whole (a cache made under other flags is only not taken)
    const options = (env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
    if (withoutPreloads(options).length !== options.length) delete fillerEnv.NODE_OPTIONS;
    const child = fork(filler, [...modules], {
      execArgv: withoutPreloads(execArgv),
      env: fillerEnv,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
    });
    cache.child = child;
    const timer = setTimeout(() => child.kill('SIGKILL'), FILL_TIMEOUT_MS);
    timer.unref();
    child.once('error', () => resolve(false));
    child.once('exit', (code) => {
      clearTimeout(timer);
      cache.child = null;
      resolve(code === 0);
    });
  });
}

/** The run is over (no worker left): every cache directory is removed, its filler ended first. */
export async function removeCompileCaches(): Promise<void> {
  const all = [...caches.values()];
  caches.clear();
  await Promise.all(
    all.map(async (cache) => {
      // a filler still at work is too late to help this run
      cache.child?.kill('SIGKILL');
      await cache.filled;
      fs.rmSync(cache.dir, { recursive: true, force: true });
    }),
  );
}
