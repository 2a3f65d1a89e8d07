// The spawn library (libringfence-spawn.so, built from native/spawn/) loaded once through koffi from
// its sealed copy (native/sealed.ts), never from disk, and what its bindings share: the packing of
// string lists, and the rule for async calls on a worker thread. Each of this folder's other files
// binds one C file of native/spawn/ (netns.ts two: netns.c and usernet.c).
import { createRequire } from 'node:module';
import { sealedNative } from '../sealed.js';

type Koffi = typeof import('koffi');
type Library = ReturnType<Koffi['load']>;

let library: Library | null = null;

/**
 * A function of the library, declared by its C prototype on first use and kept. The type is the
 * caller's word for it: koffi checks the arguments against the prototype, not against `F`.
 */
export function nativeFunction<F>(prototype: string): () => F {
  let fn: F | null = null;
  return () => {
    if (fn) return fn;
    if (!library) {
      const require = createRequire(import.meta.url);
      const koffi = require('koffi') as Koffi;
      library = koffi.load(sealedNative('libringfence-spawn.so').path);
    }
    fn = library.func(prototype) as F;
    return fn;
  };
}

/** NUL-terminated strings, one after another: how the library takes a list of them. */
export function pack(strings: readonly string[]): Buffer {
  return Buffer.concat(strings.map((s) => Buffer.from(`${s}\0`, 'utf8')));
}

/**
 * On a worker thread an async call runs synchronously instead, on the loop's next turn: koffi
 * completes an async call even while its thread is being torn down and then throws into JS that can
 * no longer run, a fatal error for the whole process (Koromix/koffi#190) — so a Harness worker that
 * dies with a call in flight would take every other job with it.
 */
export function onNextTurn<T>(work: () => T): Promise<T> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(work());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }),
  );
}

/**
 * Input buffers of async calls in flight: koffi hands C the Buffer's own memory and keeps no
 * reference to it, so each is held here from the call to its callback — otherwise a collection while
 * the worker thread waits on the kernel could free (and another job's paths reuse) what it reads.
 */
export const inFlight = new Set<Buffer>();

/** An async call's callback error as an Error. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
