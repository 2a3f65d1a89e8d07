// koffi bindings for the few syscalls the harness process needs and Node lacks: libc loaded once,
// each function declared on first use. Kept tiny and typed: everything else about a job happens in
// the C launcher or through plain files. This folder's other files hold one concern each.
import { createRequire } from 'node:module';

type Koffi = typeof import('koffi');
type Library = ReturnType<Koffi['load']>;

let koffi: Koffi | null = null;
let library: Library | null = null;

function libc(): { koffi: Koffi; library: Library } {
  if (!koffi || !library) {
    const require = createRequire(import.meta.url);
    koffi = require('koffi') as Koffi;
    library = koffi.load('libc.so.6');
  }
  return { koffi, library };
}

/**
 * A libc function, declared on first use and kept: by its C prototype, or by name, result and
 * argument types (two declarations of one function, a sync and an async use, need the second form).
 */
export function libcFunction<F>(...declaration: [string] | [string, string, string[]]): () => F {
  let fn: F | null = null;
  return () => {
    if (fn) return fn;
    const { library: lib } = libc();
    fn = (declaration.length === 1 ? lib.func(declaration[0]) : lib.func(...declaration)) as F;
    return fn;
  };
}

/** syscall(2), variadic: each argument follows its koffi type name ('int', 'uint', 'str', 'void *'). */
export const syscall = libcFunction<(nr: number, ...typedArgs: unknown[]) => number>(
  'long syscall(long number, ...)',
);

/** errno as the last libc call on this thread left it. */
export function errno(): number {
  return libc().koffi.errno();
}

/** close(2), its result unchecked: for fds this module opened and is done with. */
export const close = libcFunction<(fd: number) => number>('int close(int fd)');

// Unified syscall numbers (>= 424) are the same on every architecture Linux supports.
export const SYS_PIDFD_SEND_SIGNAL = 424;
export const SYS_OPEN_TREE = 428;
export const SYS_FSOPEN = 430;
export const SYS_FSCONFIG = 431;
export const SYS_FSMOUNT = 432;
export const SYS_PIDFD_OPEN = 434;
