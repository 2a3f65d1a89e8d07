// The parent's end of a Node IPC channel, over a socket pair this process made itself: what a job
// that is a Node process (a Vitest worker) finds at NODE_CHANNEL_FD and talks to with process.send.
//
// Why not child_process's own channel: only child_process.spawn can make one, and libuv's spawn
// forks the whole harness process (a test runner's, with its heap) and blocks until the child has
// exec'd; the launcher is started with posix_spawn instead (native/spawn/spawn.c). The wire format
// is Node's own (lib/internal/child_process/serialization.js, the same since Node 12): 'json' is
// one JSON text a line; 'advanced' is a 4-byte big-endian length, then the value as V8's
// serializer writes it, with ArrayBuffer views tagged 0 and other host objects 1. Handles are
// never taken: a job cannot pass this process a file descriptor.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import v8 from 'node:v8';

export type IpcMode = 'json' | 'advanced';

// documented in Node's v8 module ("serializer._writeHostObject"), missing from its types
declare module 'v8' {
  interface Serializer {
    _writeHostObject(object: object): void;
  }
  interface Deserializer {
    _readHostObject(): unknown;
  }
}

const ARRAY_BUFFER_VIEW = 0;
const NOT_ARRAY_BUFFER_VIEW = 1;

class ChannelSerializer extends v8.DefaultSerializer {
  override _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object)) {
      this.writeUint32(ARRAY_BUFFER_VIEW);
      super._writeHostObject(object);
      return;
    }
    this.writeUint32(NOT_ARRAY_BUFFER_VIEW);
    this.writeValue({ ...object });
  }
}

class ChannelDeserializer extends v8.DefaultDeserializer {
  override _readHostObject(): unknown {
    const tag = this.readUint32();
    if (tag === ARRAY_BUFFER_VIEW) return super._readHostObject();
    if (tag !== NOT_ARRAY_BUFFER_VIEW) throw new Error(`IPC message: unknown host object tag ${tag}`);
    return this.readValue();
  }
}

/**
 * The largest message taken from a job: a bigger one's length is refused before anything of it is
 * buffered, and the channel closes. Node's own channel buffers whatever a length claims, up to
 * 4 GiB — memory of the host process, outside every cap of the job's.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

function encode(mode: IpcMode, message: unknown): Buffer {
  if (mode === 'json') return Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
  const serializer = new ChannelSerializer();
  serializer.writeRawBytes(Buffer.alloc(4)); // the length, filled in below: no second copy
  serializer.writeHeader();
  serializer.writeValue(message);
  const framed = serializer.releaseBuffer();
  framed.writeUInt32BE(framed.length - 4, 0);
  return framed;
}

/** The variables a Node process finds its channel by (Node removes them from its env as it reads them). */
export function channelEnv(mode: IpcMode, fd: number): Record<string, string> {
  return { NODE_CHANNEL_FD: String(fd), NODE_CHANNEL_SERIALIZATION_MODE: mode };
}

/** Node's internal messages (handles, acknowledgements) are Node's business, never a pool's. */
function isInternal(message: unknown): boolean {
  const cmd = (message as { cmd?: unknown } | null)?.cmd;
  return typeof cmd === 'string' && cmd.startsWith('NODE_');
}

/**
 * One end of a channel: send() and 'message', as a ChildProcess has them. It closes when the other
 * end is closed by every process that held it (the job has ended); a send after that is dropped.
 * What the job sends that is not a message, or over MAX_MESSAGE_BYTES, or that makes a 'message'
 * listener throw, closes the channel too: `failure` then says why, and so does an 'error' event to
 * whoever listens for one. Nothing a job sends can throw out of here into the host's event loop.
 */
export class NodeChannel extends EventEmitter {
  private readonly socket: net.Socket;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly text = new StringDecoder('utf8');
  private partialLine = '';
  private failed: Error | null = null;
  /** Resolves once the channel is closed: the job has let go of it, or it failed. */
  readonly closed: Promise<void>;

  /** Takes `fd` (a stream socket, this process's end) for its own: it is closed with the channel. */
  constructor(
    fd: number,
    readonly mode: IpcMode,
  ) {
    super();
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // EPIPE, ECONNRESET: the job is gone, and its end says so through the launcher's status
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.emit('close'));
  }

  /** Why the channel was closed from this end; null while it is open or the job closed it. */
  get failure(): Error | null {
    return this.failed;
  }

  send(message: unknown): boolean {
    // as Node's: a message is required (JSON has no `undefined` to send)
    if (message === undefined) throw new TypeError('NodeChannel.send: the message is undefined');
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(encode(this.mode, message));
  }

  /** Whether an open channel keeps the event loop alive (a spare's waits for a job that may not come). */
  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    const messages = this.mode === 'json' ? this.lines(chunk) : this.frames(chunk);
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = messages.next();
      } catch (error) {
        this.fail(`the job sent what is not a Node IPC message: ${(error as Error).message}`);
        return;
      }
      if (next.done || this.socket.destroyed) return;
      if (isInternal(next.value)) continue;
      try {
        this.emit('message', next.value);
      } catch (error) {
        this.fail(`a message from the job made this process's handler throw: ${(error as Error).message}`);
        return;
      }
    }
  }

  private fail(reason: string): void {
    if (this.failed) return;
    this.failed = new Error(reason);
    this.socket.destroy();
    if (this.listenerCount('error') > 0) this.emit('error', this.failed);
  }

  private *lines(chunk: Buffer): Generator<unknown> {
    const parts = this.text.write(chunk).split('\n');
    const last = parts.pop() ?? '';
    for (const part of parts) {
      const line = this.partialLine + part;
      this.partialLine = '';
      yield JSON.parse(line);
    }
    this.partialLine += last;
    if (this.partialLine.length > MAX_MESSAGE_BYTES)
      throw new Error(`a line of over ${MAX_MESSAGE_BYTES} characters and no end yet`);
  }

  private *frames(chunk: Buffer): Generator<unknown> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      // the length itself split between two reads
      if ((this.pending[0] as Buffer).length < 4)
        this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
      const length = (this.pending[0] as Buffer).readUInt32BE(0);
      if (length > MAX_MESSAGE_BYTES)
        throw new Error(`a message of ${length} bytes, over ${MAX_MESSAGE_BYTES}`);
      const size = length + 4;
      if (this.pendingBytes < size) return;
      const head =
        this.pending.length === 1
          ? (this.pending[0] as Buffer)
          : Buffer.concat(this.pending, this.pendingBytes);
      const deserializer = new ChannelDeserializer(head.subarray(4, size));
      const rest = head.subarray(size);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      deserializer.readHeader();
      yield deserializer.readValue();
    }
  }
}
