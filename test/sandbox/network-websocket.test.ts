// A WebSocket through the allow-list's way out: a CONNECT to an allowed address, a plain upgrade
// request inside it held to the list by its Host (harness/net/http-name.ts), then the `101` and
// the new protocol's bytes both ways — whoever speaks first, however much — through the native
// relay, counted in the job's record. The server is real, on the host's loopback, and sees the
// request as the proxy passed it on (`Connection: Upgrade, close`).
import crypto from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { startRawServer, type RawServer } from '../support/net-servers.js';
import { describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers } from '../support/tally.js';
import { labelled, removeDir, tempDir } from '../adversarial/helpers.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** What the server answers each message with once upgraded: its length and its digest. */
function receipt(bytes: Buffer): string {
  return `${bytes.length} ${crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16)}\n`;
}

/** The `101` for a request with this Sec-WebSocket-Key, and the server's greeting after it. */
function switching(key: string): string {
  const accept = crypto
    .createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n\r\nhello from the server\n`
  );
}

/**
 * An echo of the WebSocket's shape without its framing (the relay never reads frames): on an
 * upgrade request it answers `101`, greets first, then answers each `\n`-ended message with its
 * receipt; it records each request head it read.
 */
function upgradeServer(heads: string[]): (socket: net.Socket) => void {
  return (socket) => {
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        heads.push(head);
        buffered = buffered.subarray(end + 4);
        socket.write(switching(/^sec-websocket-key: *(.*)$/im.exec(head)?.[1] ?? ''));
        upgraded = true;
      }
      for (let nl = buffered.indexOf(0x0a); nl >= 0; nl = buffered.indexOf(0x0a)) {
        const message = buffered.subarray(0, nl);
        buffered = buffered.subarray(nl + 1);
        if (message.toString() === 'bye') socket.end('bye\n');
        else socket.write(receipt(message));
      }
    });
  };
}

/**
 * The job: a CONNECT, then the upgrade request for `Host: <host>`; after the `101` it sends a short
 * message and one of 2 MiB, then `bye`, and prints `status`, `greeting`, each receipt and `closed`.
 */
const CLIENT = `
const net = require('net');
const proxy = new URL(process.env.HTTP_PROXY);
const [at, host] = process.argv.slice(1);
const socket = net.connect(Number(proxy.port), proxy.hostname);
let got = '';
let state = 'connect';
let lines = 0;
const big = Buffer.alloc(2 * 1024 * 1024, 'x');
socket.write('CONNECT ' + at + ' HTTP/1.1\\r\\n\\r\\n');
socket.on('data', (chunk) => {
  got += chunk.toString('latin1');
  if (state === 'connect' && got.includes('\\r\\n\\r\\n')) {
    console.log('tunnel ' + got.split(' ')[1]);
    got = got.slice(got.indexOf('\\r\\n\\r\\n') + 4);
    state = 'upgrade';
    socket.write('GET /chat HTTP/1.1\\r\\nHost: ' + host + '\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n' +
      'Sec-WebSocket-Key: ${KEY}\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n');
  }
  if (state === 'upgrade' && got.includes('\\r\\n\\r\\n')) {
    console.log('status ' + got.split(' ')[1]);
    got = got.slice(got.indexOf('\\r\\n\\r\\n') + 4);
    state = 'open';
    socket.write('short message\\n');
    socket.write(big);
    socket.write('\\nbye\\n');
  }
  if (state === 'open') {
    for (let nl = got.indexOf('\\n'); nl >= 0; nl = got.indexOf('\\n')) {
      const line = got.slice(0, nl);
      got = got.slice(nl + 1);
      console.log('line' + ++lines + ' ' + line);
    }
  }
});
socket.on('error', (e) => console.log('error ' + e.code));
socket.on('close', () => console.log('closed ' + JSON.stringify(got)));
`;

describeSandbox('network: a WebSocket through the way out', () => {
  const heads: string[] = [];
  let server: RawServer;
  let dir = '';
  beforeAll(async () => {
    server = await startRawServer(upgradeServer(heads));
    dir = tempDir('net-ws');
  });
  afterAll(async () => {
    await server?.close();
    removeDir(dir);
  });

  it('upgrades inside a tunnel and relays the new protocol both ways, counted', async () => {
    const { at, port } = server;
    const result = await runJob({
      command: ['node', '-e', CLIENT, at, `chat.example:${port}`],
      workdir: dir,
      network: { allow: [at, `chat.example:${port}`] },
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const big = Buffer.alloc(2 * 1024 * 1024, 'x');
    expect(labelled(result.stdout)).toEqual({
      tunnel: '200',
      status: '101',
      line1: 'hello from the server',
      line2: receipt(Buffer.from('short message')).trim(),
      line3: receipt(big).trim(),
      line4: 'bye',
      closed: '""',
    });
    // the request as the server read it: the job's Host, the upgrade kept, the close added
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatch(/^GET \/chat HTTP\/1\.1\r\n/);
    expect(heads[0]).toMatch(/\r\nHost: chat\.example:\d+(\r\n|$)/);
    expect(heads[0]).toMatch(/\r\nConnection: Upgrade, close(\r\n|$)/);
    expect(heads[0]).toMatch(/\r\nUpgrade: websocket(\r\n|$)/);
    const [tunnel] = result.network?.connections ?? [];
    expect(result.network?.connections).toHaveLength(1);
    expect(tunnel).toMatchObject({ via: 'connect', allowed: true, httpHost: 'chat.example' });
    // out: the request head (as passed on) and the messages; in: the 101 and the answers
    const out = Buffer.byteLength(`${heads[0] ?? ''}\r\n\r\n`) + 'short message\n'.length + big.length + 5;
    expect(tunnel?.bytesOut).toBe(out);
    const back = [switching(KEY), receipt(Buffer.from('short message')), receipt(big), 'bye\n'];
    expect(tunnel?.bytesIn).toBe(Buffer.byteLength(back.join('')));
    await expectNoLeftovers();
  });
});
