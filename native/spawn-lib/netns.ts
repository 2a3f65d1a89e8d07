// Binds native/spawn/netns.c and usernet.c: a job's network namespace with lo up and the proxy's
// listening socket on 127.0.0.1 in it; rootless, with the user namespace that owns it.
import { isMainThread } from 'node:worker_threads';
import { SyscallError } from '../errors.js';
import { asError, nativeFunction, onNextTurn } from './library.js';

type Callback = (error: unknown, result: number) => void;
type NetnsListen = ((
  netFd: number,
  port: number,
  netOut: Int32Array,
  listenOut: Int32Array,
  portOut: Int32Array,
) => number) & {
  async: (
    netFd: number,
    port: number,
    netOut: Int32Array,
    listenOut: Int32Array,
    portOut: Int32Array,
    callback: Callback,
  ) => void;
};
type UsernetListen = ((
  userOut: Int32Array,
  netOut: Int32Array,
  listenOut: Int32Array,
  portOut: Int32Array,
) => number) & {
  async: (
    userOut: Int32Array,
    netOut: Int32Array,
    listenOut: Int32Array,
    portOut: Int32Array,
    callback: Callback,
  ) => void;
};
const netnsListen = nativeFunction<NetnsListen>(
  'int rf_netns_listen(int net_fd, int port, _Out_ int *net_out, _Out_ int *listen_out, _Out_ int *port_out)',
);
const usernetListen = nativeFunction<UsernetListen>(
  'int rf_usernet_listen(_Out_ int *user_out, _Out_ int *net_out, _Out_ int *listen_out, _Out_ int *port_out)',
);

/**
 * A listening TCP socket on 127.0.0.1 (port 0: the kernel picks) inside the network namespace of
 * `netFd`, or (netFd null) inside a new one with lo up, whose fd comes back as `netFd`.
 * The socket is non-blocking and close-on-exec; the caller owns every fd returned.
 */
export function listenInNetns(
  netFd: number | null,
  port = 0,
): { netFd: number | null; listenFd: number; port: number } {
  const net = new Int32Array(1);
  const listen = new Int32Array(1);
  const bound = new Int32Array(1);
  const err = netnsListen()(netFd ?? -1, port, net, listen, bound);
  if (err !== 0) throw new SyscallError(netFd === null ? 'unshare(CLONE_NEWNET)' : 'setns', err);
  return { netFd: netFd === null ? (net[0] ?? -1) : null, listenFd: listen[0] ?? -1, port: bound[0] ?? 0 };
}

/**
 * listenInNetns(null) on koffi's worker thread (a new namespace costs a millisecond of kernel work,
 * which must not hold up the event loop while a job starts); netns.c enters and leaves the namespace
 * on that thread alone. On a worker thread: synchronously, on the loop's next turn (library.ts).
 */
export function listenInNewNetnsAsync(): Promise<{ netFd: number; listenFd: number; port: number }> {
  if (!isMainThread)
    return onNextTurn(() => {
      const made = listenInNetns(null);
      return { netFd: made.netFd ?? -1, listenFd: made.listenFd, port: made.port };
    });
  const net = new Int32Array(1);
  const listen = new Int32Array(1);
  const bound = new Int32Array(1);
  return new Promise((resolve, reject) => {
    netnsListen().async(-1, 0, net, listen, bound, (error, err) => {
      if (error) reject(asError(error));
      else if (err !== 0) reject(new SyscallError('unshare(CLONE_NEWNET)', err));
      else resolve({ netFd: net[0] ?? -1, listenFd: listen[0] ?? -1, port: bound[0] ?? 0 });
    });
  });
}

/** A way out's namespaces made rootless: the user namespace that owns the network one. */
export interface MadeUsernet {
  userFd: number;
  netFd: number;
  listenFd: number;
  port: number;
}

type UsernetOut = readonly [Int32Array, Int32Array, Int32Array, Int32Array];

function usernetOut(): UsernetOut {
  return [new Int32Array(1), new Int32Array(1), new Int32Array(1), new Int32Array(1)];
}

function madeUsernet(out: UsernetOut): MadeUsernet {
  return { userFd: out[0][0] ?? -1, netFd: out[1][0] ?? -1, listenFd: out[2][0] ?? -1, port: out[3][0] ?? 0 };
}

/**
 * Rootless, the way out's namespaces: a new user namespace mapping our uid and gid to 0 (as the
 * launcher maps its own rootless jobs), a network namespace it owns with lo up, and a listener on
 * 127.0.0.1 there (a short-lived child makes them). The caller owns every fd returned.
 */
export function listenInNewUsernet(): MadeUsernet {
  const out = usernetOut();
  const err = usernetListen()(...out);
  if (err !== 0) throw new SyscallError('clone(CLONE_NEWUSER|CLONE_NEWNET)', err);
  return madeUsernet(out);
}

/** listenInNewUsernet on koffi's worker thread, as listenInNewNetnsAsync (the clone is its own process). */
export function listenInNewUsernetAsync(): Promise<MadeUsernet> {
  if (!isMainThread) return onNextTurn(listenInNewUsernet);
  const out = usernetOut();
  return new Promise((resolve, reject) => {
    usernetListen().async(...out, (error, err) => {
      if (error) reject(asError(error));
      else if (err !== 0) reject(new SyscallError('clone(CLONE_NEWUSER|CLONE_NEWNET)', err));
      else resolve(madeUsernet(out));
    });
  });
}
