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

function encode(mode: IpcMode, message: unknown): Buffer {
  if (mode === 'json') return Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
  const serializer = new ChannelSerializer();
  serializer.writeHeader();
  serializer.writeValue(message);
  const body = serializer.releaseBuffer();
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
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
 */
export class NodeChannel extends EventEmitter {
  private readonly socket: net.Socket;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly text = new StringDecoder('utf8');
  private partialLine = '';

  /** Takes `fd` (a stream socket, this process's end) for its own: it is closed with the channel. */
  constructor(
    fd: number,
    readonly mode: IpcMode,
  ) {
    super();
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    this.socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of mode === 'json' ? this.lines(chunk) : this.frames(chunk))
          if (!isInternal(message)) this.emit('message', message);
      } catch {
        // a job that writes what is not a message loses its channel, and Vitest hears nothing more
        this.socket.destroy();
      }
    });
    // EPIPE, ECONNRESET: the job is gone, and its end says so through the launcher's status
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.emit('close'));
  }

  send(message: unknown): boolean {
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

  private *lines(chunk: Buffer): Generator<unknown> {
    const parts = this.text.write(chunk).split('\n');
    const last = parts.pop() ?? '';
    for (const part of parts) {
      const line = this.partialLine + part;
      this.partialLine = '';
      yield JSON.parse(line);
    }
    this.partialLine += last;
  }

  private *frames(chunk: Buffer): Generator<unknown> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      // the length itself split between two reads
      if ((this.pending[0] as Buffer).length < 4)
        this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
      const size = (this.pending[0] as Buffer).readUInt32BE(0) + 4;
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
