// The hand-off of an admitted connection from the proxy's JavaScript to the native relay
// (native/spawn/relay.c): Node stops reading both sockets, what it had read but not yet passed on
// goes first, the relay thread takes dups of the fds and Node closes its own (no FIN: the file
// descriptions stay open in the relay). Each relay's byte counts come back through one report pipe
// per harness thread; each job has a stop pipe whose write end, closed, ends all of its relays.
import net from 'node:net';
import { closeFd } from '../../native/libc/fd.js';
import { RELAY_REPORT_BYTES, startRelay } from '../../native/spawn-lib/relay.js';
import { makePipe } from '../../native/spawn-lib/spawn.js';

/** What a relay moved: to the upstream (its prefix included) and from it; `error`: errno, 0 if none. */
export interface RelayCounts {
  bytesOut: number;
  bytesIn: number;
  error: number;
}

interface Reports {
  writeFd: number;
  reader: net.Socket;
  waiting: Map<number, (counts: RelayCounts) => void>;
}

let reports: Reports | null = null;
let nextId = 1;

/** The report pipe of this thread: its read end watched by the event loop while a relay runs. */
function reportPipe(): Reports {
  if (reports) return reports;
  const [readFd, writeFd] = makePipe();
  const reader = new net.Socket({ fd: readFd, readable: true, writable: false });
  const waiting = new Map<number, (counts: RelayCounts) => void>();
  let pending: Buffer = Buffer.alloc(0);
  reader.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= RELAY_REPORT_BYTES) {
      const id = Number(pending.readBigUInt64LE(0));
      const counts = {
        bytesOut: Number(pending.readBigUInt64LE(8)),
        bytesIn: Number(pending.readBigUInt64LE(16)),
        error: pending.readInt32LE(24),
      };
      pending = pending.subarray(RELAY_REPORT_BYTES);
      const done = waiting.get(id);
      waiting.delete(id);
      done?.(counts);
    }
    if (waiting.size === 0) reader.unref();
  });
  reader.unref();
  // a worker thread's pipe goes with it; a relay still running then gets EPIPE, which it ignores
  process.once('exit', () => {
    try {
      closeFd(writeFd);
    } catch {
      // an exit handler must not throw
    }
  });
  reports = { writeFd, reader, waiting };
  return reports;
}

/** A job's stop pipe: `stop()` ends every relay started with it; idempotent. */
export interface StopPipe {
  readonly readFd: number;
  readonly stopped: boolean;
  stop(): void;
}

export function stopPipe(): StopPipe {
  const [readFd, writeFd] = makePipe();
  let open = true;
  return {
    readFd,
    get stopped() {
      return !open;
    },
    stop: () => {
      if (!open) return;
      open = false;
      // the relays poll their own dups of the read end: a hung-up pipe is their signal
      closeFd(writeFd);
      closeFd(readFd);
    },
  };
}

interface Handle {
  fd?: number;
  readStop?: () => number;
  reading?: boolean;
}

function handleOf(socket: net.Socket): Handle | null {
  return ((socket as unknown as { _handle?: Handle | null })._handle ?? null) as Handle | null;
}

/**
 * Stops Node reading `socket` and returns what it had read but not yet given out; from here the
 * socket's bytes stay in the kernel for the relay.
 */
export function stopReading(socket: net.Socket): Buffer {
  socket.pause();
  const handle = handleOf(socket);
  if (handle?.readStop && handle.reading !== false) {
    handle.readStop();
    handle.reading = false;
  }
  if (socket.readableLength === 0) return Buffer.alloc(0);
  // read() would start the handle reading again to refill its buffer: not this socket's any more
  (socket as unknown as { _read: () => void })._read = () => undefined;
  const buffered = socket.read() as Buffer | null;
  return buffered ?? Buffer.alloc(0);
}

/**
 * Hands `client` and `upstream` (both read-stopped, nothing left to write) to a native relay that
 * first sends `toUp` and `toClient`; resolves with its counts when it ends. Node's sockets are
 * destroyed here. Throws (and leaves the sockets to the caller) when the relay cannot start.
 */
export function handOff(
  client: net.Socket,
  upstream: net.Socket,
  stop: StopPipe,
  toUp: Buffer,
  toClient: Buffer,
): Promise<RelayCounts> {
  const clientFd = handleOf(client)?.fd ?? -1;
  const upstreamFd = handleOf(upstream)?.fd ?? -1;
  if (clientFd < 0 || upstreamFd < 0) throw new Error('a socket without its fd');
  // its fd number may be another's by now
  if (stop.stopped) throw new Error('the job has ended');
  const pipe = reportPipe();
  const id = nextId++;
  startRelay(clientFd, upstreamFd, stop.readFd, pipe.writeFd, id, toUp, toClient);
  const counts = new Promise<RelayCounts>((resolve) => pipe.waiting.set(id, resolve));
  pipe.reader.ref();
  client.destroy();
  upstream.destroy();
  return counts;
}
