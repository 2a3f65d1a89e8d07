// The harness's end of a Node IPC channel (harness/launch/node-channel.ts) against real Node
// children speaking through process.send: every value the Vitest pool sends arrives as Node's own
// channel would deliver it, both ways, in both serializations, whole however the socket splits it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { streamSocketPair } from '../native/libc/socket.js';
import { MAX_MESSAGE_BYTES, NodeChannel, type IpcMode } from '../harness/launch/node-channel.js';

// echoes each message back with what the child saw of its types
const ECHO = `
process.on('message', (m) => {
  if (m === 'exit') return process.disconnect();
  if (m && m.raw) { require('fs').writeSync(3, m.raw); return; }
  const seen = m && typeof m === 'object' ? {
    bytes: m.bytes instanceof Uint8Array && !Buffer.isBuffer(m.bytes),
    buffer: Buffer.isBuffer(m.buffer),
    when: m.when instanceof Date,
    map: m.map instanceof Map ? m.map.size : null,
  } : null;
  process.send({ echo: m, seen });
});
`;

const children: ChildProcess[] = [];
const channels: NodeChannel[] = [];

afterEach(async () => {
  for (const channel of channels.splice(0)) channel.close();
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
});

function echoChild(mode: IpcMode, script = ECHO): NodeChannel {
  const [ours, theirs] = streamSocketPair();
  const child = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'ignore', 'inherit', theirs],
    env: { ...process.env, NODE_CHANNEL_FD: '3', NODE_CHANNEL_SERIALIZATION_MODE: mode },
  });
  fs.closeSync(theirs);
  children.push(child);
  const channel = new NodeChannel(ours, mode);
  channels.push(channel);
  return channel;
}

function next(channel: NodeChannel): Promise<{ echo: unknown; seen: Record<string, unknown> | null }> {
  return new Promise((resolve) => channel.once('message', resolve));
}

describe('NodeChannel: the parent end of a Node IPC channel', () => {
  it("'advanced': typed arrays, Buffers, Dates, Maps and a 3 MiB string cross both ways intact", async () => {
    const channel = echoChild('advanced');
    const message = {
      type: 'run',
      bytes: new Uint8Array([1, 2, 3, 250]),
      buffer: Buffer.from('héllo'),
      when: new Date(1_700_000_000_000),
      map: new Map([
        ['a', 1],
        ['b', 2],
      ]),
      nested: { list: [1, 'two', null, { three: 3n }], undef: undefined },
      big: 'x'.repeat(3 * 1024 * 1024),
    };
    const reply = next(channel);
    expect(channel.send(message)).toBeTypeOf('boolean');
    const { echo, seen } = await reply;
    expect(seen).toEqual({ bytes: true, buffer: true, when: true, map: 2 });
    const back = echo as typeof message;
    expect(back.big.length).toBe(message.big.length);
    expect(back.when).toEqual(message.when);
    expect(back.map).toEqual(message.map);
    expect(back.nested).toEqual(message.nested);
    expect(Buffer.from(back.bytes)).toEqual(Buffer.from(message.bytes));
    expect(Buffer.from(back.buffer).toString()).toBe('héllo');
  });

  it("'advanced': many messages in a row arrive each once and in order", async () => {
    const channel = echoChild('advanced');
    const got: number[] = [];
    const all = new Promise<void>((resolve) =>
      channel.on('message', (m: { echo: { n: number } }) => {
        got.push(m.echo.n);
        if (got.length === 500) resolve();
      }),
    );
    for (let n = 0; n < 500; n++) channel.send({ n, pad: 'y'.repeat(n * 37) });
    await all;
    expect(got).toEqual(Array.from({ length: 500 }, (_, n) => n));
  });

  it("'json': lines with multi-byte characters, split anywhere, parse whole", async () => {
    const channel = echoChild('json');
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      channel.on('message', (m: { echo: { s: string } }) => {
        got.push(m.echo.s);
        if (got.length === 200) resolve();
      }),
    );
    const sent = Array.from({ length: 200 }, (_, n) => `${n} ✓ ü ${'字'.repeat(n * 50)}`);
    for (const s of sent) channel.send({ s });
    await all;
    expect(got).toEqual(sent);
  });

  it("Node's internal messages are not handed on, and the channel closes when the child lets go", async () => {
    const channel = echoChild(
      'advanced',
      `process.send({ cmd: 'NODE_HANDLE_ACK' }); process.send({ ok: 1 }); process.disconnect();`,
    );
    const messages: unknown[] = [];
    channel.on('message', (m) => messages.push(m));
    await new Promise((resolve) => channel.once('close', resolve));
    expect(messages).toEqual([{ ok: 1 }]);
    expect(channel.send({ late: true })).toBe(false);
  });

  it('a peer that writes what is not a message loses the channel, and nothing throws here', async () => {
    const channel = echoChild('advanced');
    const failed = new Promise<Error>((resolve) => channel.once('error', resolve));
    const messages: unknown[] = [];
    channel.on('message', (m) => messages.push(m));
    // a frame whose body is not V8's serialization: the child writes it raw onto its end
    channel.send({ raw: Buffer.from([0, 0, 0, 3, 0xde, 0xad, 0xbe]) });
    expect((await failed).message).toMatch(/^the job sent what is not a Node IPC message: /);
    await channel.closed;
    expect(messages).toEqual([]);
    expect(channel.failure?.message).toMatch(/not a Node IPC message/);
  });

  it('a length over the limit closes the channel before anything of it is buffered', async () => {
    const channel = echoChild('advanced');
    const failed = new Promise<Error>((resolve) => channel.once('error', resolve));
    const length = MAX_MESSAGE_BYTES + 1;
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length);
    channel.send({ raw: header });
    expect((await failed).message).toBe(
      `the job sent what is not a Node IPC message: a message of ${length} bytes, over ${MAX_MESSAGE_BYTES}`,
    );
    await channel.closed;
  });

  it('a message that makes a listener throw closes the channel; the throw goes no further', async () => {
    const channel = echoChild('advanced');
    const failed = new Promise<Error>((resolve) => channel.once('error', resolve));
    channel.on('message', () => {
      throw new Error('boom');
    });
    channel.send({ n: 1 });
    expect((await failed).message).toBe("a message from the job made this process's handler throw: boom");
    await channel.closed;
    expect(channel.send({ n: 2 })).toBe(false);
  });

  it('refuses to send undefined, as Node does', () => {
    const channel = echoChild('json');
    expect(() => channel.send(undefined)).toThrow(TypeError);
  });
});
