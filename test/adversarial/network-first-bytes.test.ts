// Attack: what a job's first bytes inside an admitted CONNECT can do before the proxy has read a
// name in them (harness/net/proxy.ts, http-name.ts). HTTP/2 in clear text (h2c), by an upgrade or
// by its preface, would let one connection carry streams for any host behind an allowed address,
// named where the proxy never reads — so both are refused. And a client that trickles its first
// bytes one at a time would have the shared harness read them again from the start at each piece
// (work that grows with the square of their length, taken from every other job): past
// MAX_FIRST_PIECES the tunnel is refused. In each case the server must hear nothing.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_FIRST_PIECES } from '../../harness/net/proxy.js';
import { runJob } from '../../harness/run-job.js';
import { startRawServer, type RawServer } from '../support/net-servers.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { labelled, removeDir, tempDir } from './helpers.js';

/**
 * The job: for each attempt a CONNECT to `at`, then once its `200` is in, the attempt's bytes (a
 * string: one write; `trickle`: a request head one byte a write, a millisecond apart, until the
 * proxy closes or PADDING bytes went — then the rest of the head at once). Prints `<name> <what
 * came back after the 200, as JSON> <pieces written>`.
 */
const CLIENT = `
const net = require('net');
const proxy = new URL(process.env.HTTP_PROXY);
const [at, padding] = process.argv.slice(1);
const h2Settings = 'AAMAAABkAARAAAAAAAIAAAAA';
const attempts = {
  'h2c-upgrade': 'GET / HTTP/1.1\\r\\nHost: ' + at + '\\r\\nConnection: Upgrade, HTTP2-Settings\\r\\nUpgrade: h2c\\r\\n' +
    'HTTP2-Settings: ' + h2Settings + '\\r\\n\\r\\n',
  'h2c-beside-websocket': 'GET / HTTP/1.1\\r\\nHost: ' + at + '\\r\\nConnection: Upgrade\\r\\nUpgrade: websocket, h2c\\r\\n\\r\\n',
  'h2-preface': 'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n',
  trickle: null,
};
const attempt = (name, bytes) => new Promise((resolve) => {
  const socket = net.connect(Number(proxy.port), proxy.hostname);
  let got = '', open = false, closed = false, pieces = 0;
  const head = 'GET / HTTP/1.1\\r\\nHost: ' + at + '\\r\\nX-Padding: ' + 'a'.repeat(Number(padding));
  const trickle = () => {
    if (closed) return;
    if (pieces === head.length) return socket.write('\\r\\n\\r\\n');
    socket.write(head[pieces++]);
    setTimeout(trickle, 1);
  };
  socket.write('CONNECT ' + at + ' HTTP/1.1\\r\\n\\r\\n');
  socket.on('data', (chunk) => {
    got += chunk.toString('latin1');
    if (open || !got.includes('\\r\\n\\r\\n')) return;
    open = true;
    got = got.slice(got.indexOf('\\r\\n\\r\\n') + 4);
    if (bytes === null) trickle();
    else { socket.write(bytes); pieces = 1; }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    console.log(name + ' ' + JSON.stringify(got) + ' ' + pieces);
    resolve();
  });
});
(async () => { for (const [name, bytes] of Object.entries(attempts)) await attempt(name, bytes); })();
`;

/** A server that answers any request with a 200 and records every byte it was sent. */
function recording(heard: Buffer[]): (socket: net.Socket) => void {
  return (socket) =>
    socket.on('data', (chunk: Buffer) => {
      heard.push(chunk);
      if (Buffer.concat(heard).includes('\r\n\r\n'))
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nserved');
    });
}

describeSandbox('adversarial: the first bytes inside a tunnel', () => {
  const heard: Buffer[] = [];
  let server: RawServer;
  let dir = '';
  beforeAll(async () => {
    server = await startRawServer(recording(heard));
    dir = tempDir('net-first');
  });
  afterAll(async () => {
    await server?.close();
    removeDir(dir);
  });

  it('refuses h2c and a trickled head, and the server hears nothing', async () => {
    const { at } = server;
    // many times the cap, so the proxy sees it passed even where a busy host joins a few bytes up
    const padding = 8 * MAX_FIRST_PIECES;
    const result = await runJob({
      command: ['node', '-e', CLIENT, at, String(padding)],
      workdir: dir,
      network: { allow: [at] },
      timeout: '60s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const seen = labelled(result.stdout);
    expect(seen).toEqual({
      'h2c-upgrade': '"" 1',
      'h2c-beside-websocket': '"" 1',
      'h2-preface': '"" 1',
      trickle: expect.stringMatching(/^"" \d+$/) as unknown as string,
    });
    // the trickle was cut off within the cap's reach: before its head was all written
    const trickled = Number(seen.trickle?.split(' ')[1]);
    expect(trickled).toBeGreaterThan(MAX_FIRST_PIECES);
    expect(trickled).toBeLessThan(`GET / HTTP/1.1\r\nHost: ${at}\r\nX-Padding: `.length + padding);
    expect(Buffer.concat(heard).length).toBe(0);
    const tunnels = result.network?.connections ?? [];
    expect(tunnels.map((c) => [c.via, c.allowed, c.bytesOut, c.bytesIn])).toEqual(
      Array.from({ length: 4 }, () => ['connect', false, 0, 0]),
    );
    expect(tunnels.map((c) => c.reason)).toEqual([
      'HTTP: an upgrade to h2c: only websocket is let through',
      'HTTP: an upgrade to websocket, h2c: only websocket is let through',
      'HTTP: not an HTTP/1 request line',
      `the client sent its first bytes in over ${MAX_FIRST_PIECES} pieces`,
    ]);
    attack('allow-list: an h2c upgrade inside a tunnel (streams for any host)', 'contained');
    attack('allow-list: an h2c upgrade beside a WebSocket one inside a tunnel', 'contained');
    attack('allow-list: the HTTP/2 preface (prior knowledge) inside a tunnel', 'contained');
    attack(
      "allow-list: a request head trickled a byte at a time into the shared proxy's reader",
      'contained',
    );
    await expectNoLeftovers();
  }, 90_000);
});
