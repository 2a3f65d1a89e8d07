// Binds native/spawn/relay.c: the byte relay of a connection the proxy admitted, on a detached
// native thread (harness/net/relay.ts hands connections to it).
import { SyscallError } from '../errors.js';
import { nativeFunction } from './library.js';

const relayStart = nativeFunction<
  (
    client: number,
    upstream: number,
    stop: number,
    report: number,
    id: number,
    toUp: Buffer,
    toUpLen: number,
    toClient: Buffer,
    toClientLen: number,
  ) => number
>(
  'int rf_relay_start(int client, int upstream, int stop, int report, double id, const uint8_t *to_up, int to_up_len, const uint8_t *to_client, int to_client_len)',
);

/** What the report pipe gets when a relay ends (relay.c's struct relay_report): its size in bytes. */
export const RELAY_REPORT_BYTES = 32;

/**
 * Relays between two connected TCP sockets on a detached native thread, after writing `toUp` to the
 * upstream and `toClient` to the client: the fds are dup'ed, so the caller closes its own at once.
 * When both ways are done, or `stopFd` (a pipe's read end) is readable or hung up, it closes its fds
 * and writes a RELAY_REPORT_BYTES record with `id` to `reportFd`. A sync call that starts a thread:
 * no koffi async call is in flight, so a worker thread can end at any time.
 */
export function startRelay(
  clientFd: number,
  upstreamFd: number,
  stopFd: number,
  reportFd: number,
  id: number,
  toUp: Buffer,
  toClient: Buffer,
): void {
  const err = relayStart()(
    clientFd,
    upstreamFd,
    stopFd,
    reportFd,
    id,
    toUp,
    toUp.length,
    toClient,
    toClient.length,
  );
  if (err !== 0) throw new SyscallError('relay', err);
}
