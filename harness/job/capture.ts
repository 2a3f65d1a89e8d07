// Bounded capture of a job's output: keeps the first `limit` bytes, counts the rest, and never stops
// reading — a pipe that is not drained would block the job and turn a flood into a hang.
import type { Readable, Writable } from 'node:stream';

export class BoundedCapture {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;

  constructor(private readonly limit: number) {}

  attach(stream: Readable, live?: Writable): void {
    stream.on('data', (chunk: Buffer) => {
      if (live) live.write(chunk);
      const room = this.limit - this.kept;
      if (room >= chunk.length) {
        this.chunks.push(chunk);
        this.kept += chunk.length;
      } else {
        if (room > 0) this.chunks.push(chunk.subarray(0, room));
        this.kept += Math.max(room, 0);
        this.dropped += chunk.length - Math.max(room, 0);
      }
    });
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** The kept bytes as UTF-8 (invalid sequences become U+FFFD), with a marker line when truncated. */
  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated
      ? `${body}\n[ringfence: output truncated: ${this.dropped} more bytes not kept]\n`
      : body;
  }
}
