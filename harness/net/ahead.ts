// The next allow-list job's network namespace and listening socket, made ahead while the current job
// runs (as the spare launcher and the spare disk filesystem are: harness/job/disk-pool.ts), on the
// thread pool so that the namespace's creation (a millisecond of kernel work) holds up neither this
// job's start nor the event loop. Only a process that has run an allow-list job makes one; each is
// used by one job and never again (a namespace a job had may hold its listeners, routes, sockets);
// releaseNetAhead closes what waits, so a settled or exiting harness holds no namespace and no socket.
import fs from 'node:fs';
import {
  listenInNetns,
  listenInNewNetnsAsync,
  listenInNewUsernet,
  listenInNewUsernetAsync,
} from '../../native/spawn-lib/netns.js';
import { isRoot } from '../identity.js';

/**
 * A fresh namespace with `lo` up, and the harness's listener on 127.0.0.1:port inside it; rootless,
 * with the user namespace that owns it (userFd), which the job's launcher joins first.
 */
export interface MadeNetns {
  netFd: number;
  listenFd: number;
  port: number;
  userFd: number | null;
}

/**
 * Rootless, the job's launcher is in a user namespace of its own and may join only a network
 * namespace that one owns: the harness makes both (native/spawn/usernet.c). Root makes the network
 * namespace alone, in its own user namespace, which every launcher of root's may join.
 */
function rootless(): boolean {
  return !isRoot();
}

function makeNow(): MadeNetns {
  if (rootless()) return listenInNewUsernet();
  const now = listenInNetns(null);
  return { netFd: now.netFd ?? -1, listenFd: now.listenFd, port: now.port, userFd: null };
}

function makeAsync(): Promise<MadeNetns> {
  return rootless()
    ? listenInNewUsernetAsync()
    : listenInNewNetnsAsync().then((m) => ({ ...m, userFd: null }));
}

/** The one made ahead, ready; null while none is (being made, or taken). */
let ready: MadeNetns | null = null;
/** A make in flight, so that two jobs do not both start one and settle can wait for it. */
let making: Promise<void> | null = null;
/** Bumped by release: a make that started before it closes what it made instead of keeping it. */
let generation = 0;

function close(made: MadeNetns): void {
  fs.closeSync(made.listenFd);
  fs.closeSync(made.netFd);
  if (made.userFd !== null) fs.closeSync(made.userFd);
}

/**
 * A fresh namespace and listener for a job: the one made ahead (waited for when it is on its way:
 * a second make would only compete with it), or one made now, synchronously.
 */
export async function takeNetns(): Promise<MadeNetns> {
  if (ready === null && making !== null) await making;
  const made = ready;
  ready = null;
  return made ?? makeNow();
}

/** While a job runs: one for the next allow-list job, unless one waits or is being made. */
export function prepareNetns(): void {
  if (ready !== null || making !== null) return;
  const mine = generation;
  making = makeAsync().then(
    (made) => {
      making = null;
      if (mine === generation && ready === null) ready = made;
      else close(made); // released meanwhile
    },
    () => {
      making = null; // the next job makes its own, and says why if it cannot
    },
  );
}

/** Resolves once no namespace is being made (what it made is kept or closed by then). */
export function netnsSettled(): Promise<void> {
  return making ?? Promise.resolve();
}

/** Closes the namespace and listener made ahead, if any (synchronously: exit handlers and settle). */
export function releaseNetAhead(): void {
  generation++;
  if (ready) close(ready);
  ready = null;
}
