// Attack: use the window before the proxy has decided (harness/net/proxy.ts). A client need not
// wait for the `200` (or the `403`): it can put its tunnel's first bytes, or a second request, in
// the same write as the CONNECT. Those bytes must be judged as if they came after the answer —
// a forbidden TLS name in them closes the tunnel before the server hears a byte, the bytes after
// a refused CONNECT go nowhere, and a second CONNECT or request behind an admitted one is only
// bytes to that one upstream (inside a tunnel, a request held to the list by its Host and told to
// close after its answer, as any plain request there), never a second way out.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { HOST_ADDR } from '../support/net-servers.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { labelled, removeDir, tempDir } from './helpers.js';

/**
 * The job: for each attempt, one write of all its bytes at once (before any answer), then prints
 * `<name> <status> <what came back after the head, as JSON>` once the proxy closes or the server
 * has echoed the marker.
 */
const CLIENT = `
const net = require('net');
const tls = require('tls');
const { Duplex } = require('stream');
const proxy = new URL(process.env.HTTPS_PROXY);
const [allowed, other] = process.argv.slice(1);
// the first flight of a real TLS client asking for evil.example, caught before it goes anywhere
const hello = () => new Promise((resolve) => {
  const wire = new Duplex({ read() {}, write(chunk, _enc, done) { resolve(chunk); done(); } });
  tls.connect({ socket: wire, servername: 'evil.example', rejectUnauthorized: false }).on('error', () => {});
});
const attempt = (name, bytes) => new Promise((resolve) => {
  const socket = net.connect(Number(proxy.port), proxy.hostname);
  let got = Buffer.alloc(0), finished = false;
  const done = () => {
    if (finished) return;
    finished = true;
    const text = got.toString('latin1');
    const end = text.indexOf('\\r\\n\\r\\n');
    console.log(name + ' ' + (text.split(' ')[1] ?? 'none') + ' ' + JSON.stringify(end < 0 ? '' : text.slice(end + 4)));
    socket.destroy();
    resolve();
  };
  socket.write(bytes);
  socket.on('data', (chunk) => {
    got = Buffer.concat([got, chunk]);
    if (got.includes('END-OF-ATTEMPT')) done();
  });
  socket.on('error', () => {});
  socket.on('close', done);
});
(async () => {
  await attempt('sni', Buffer.concat([Buffer.from('CONNECT ' + allowed + ' HTTP/1.1\\r\\n\\r\\n'), await hello()]));
  await attempt('refused', 'CONNECT ' + other + ' HTTP/1.1\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n');
  await attempt('second-connect', 'CONNECT ' + allowed + ' HTTP/1.1\\r\\n\\r\\nCONNECT ' + other + ' HTTP/1.1\\r\\nHost: ' + allowed + '\\r\\n\\r\\nEND-OF-ATTEMPT');
  await attempt('no-host', 'CONNECT ' + allowed + ' HTTP/1.1\\r\\n\\r\\nCONNECT ' + other + ' HTTP/1.1\\r\\n\\r\\nEND-OF-ATTEMPT');
  await attempt('second-request', 'GET http://' + allowed + '/ HTTP/1.1\\r\\nHost: ' + allowed + '\\r\\n\\r\\n' +
    'GET http://' + other + '/ HTTP/1.1\\r\\nHost: ' + other + '\\r\\n\\r\\nEND-OF-ATTEMPT');
})();
`;

/** A raw server on the host's side: keeps what each connection sent and echoes it back. */
interface Echo {
  port: number;
  received: string[];
  sockets: net.Socket[];
}

async function echoServer(): Promise<{ server: net.Server; echo: Echo }> {
  const echo: Echo = { port: 0, received: [], sockets: [] };
  const server = net.createServer((socket) => {
    const index = echo.received.push('') - 1;
    echo.sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      echo.received[index] += chunk.toString('latin1');
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST_ADDR, resolve));
  echo.port = (server.address() as AddressInfo).port;
  return { server, echo };
}

describeSandbox('adversarial: bytes sent before the proxy has answered', () => {
  let dir = '';
  const servers: net.Server[] = [];
  let allowed: Echo;
  let other: Echo;
  beforeAll(async () => {
    dir = tempDir('net-pipelined');
    const first = await echoServer();
    const second = await echoServer();
    servers.push(first.server, second.server);
    allowed = first.echo;
    other = second.echo;
  });
  afterAll(async () => {
    for (const echo of [allowed, other]) for (const socket of echo?.sockets ?? []) socket.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    removeDir(dir);
  });

  it('judges them as if they came after the answer, and opens no second way out', async () => {
    const allowedAt = `${HOST_ADDR}:${allowed.port}`;
    const otherAt = `${HOST_ADDR}:${other.port}`;
    const result = await runJob({
      command: ['node', '-e', CLIENT, allowedAt, otherAt],
      workdir: dir,
      network: { allow: [allowedAt] },
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const seen = Object.fromEntries(
      Object.entries(labelled(result.stdout)).map(([name, rest]) => {
        const space = rest.indexOf(' ');
        return [name, { status: rest.slice(0, space), after: JSON.parse(rest.slice(space + 1)) as string }];
      }),
    );
    // as the allowed server gets it: told to close after its answer
    const secondConnect = `CONNECT ${otherAt} HTTP/1.1\r\nHost: ${allowedAt}\r\nConnection: close\r\n\r\nEND-OF-ATTEMPT`;
    const secondRequest = `GET http://${otherAt}/ HTTP/1.1\r\nHost: ${otherAt}\r\n\r\nEND-OF-ATTEMPT`;
    expect(seen).toEqual({
      // admitted by its address, then closed on the name in the bytes that came with it
      sni: { status: '200', after: '' },
      // the proxy's own answer, and nothing from a server
      refused: { status: '403', after: `ringfence: ${otherAt} is not on the allow-list\n` },
      // the second CONNECT went to the allowed server as bytes, and came back from it
      'second-connect': { status: '200', after: secondConnect },
      // one that names no Host cannot be held to the list: the tunnel is closed
      'no-host': { status: '200', after: '' },
      // the echo of both heads: the first as the proxy rewrote it (origin-form), the second as sent
      'second-request': { status: '/', after: secondRequest },
    });
    // the allowed server: nothing of the forbidden hello, the second CONNECT and the second request
    // as bytes on their tunnels
    expect(allowed.received).toHaveLength(4);
    expect(allowed.received[0]).toBe('');
    expect(allowed.received[1]).toBe(secondConnect);
    expect(allowed.received[2]).toBe('');
    expect(allowed.received[3]).toMatch(/^GET \/ HTTP\/1\.1\r\n/);
    expect(allowed.received[3]?.endsWith(`\r\n\r\n${secondRequest}`)).toBe(true);
    // the other port never got a connection
    expect(other.received).toEqual([]);
    const connections = result.network?.connections ?? [];
    expect(connections.map((c) => [c.via, c.port, c.allowed, c.tlsName ?? null, c.bytesOut])).toEqual([
      ['connect', allowed.port, false, 'evil.example', 0],
      ['connect', other.port, false, null, 0],
      ['connect', allowed.port, true, null, Buffer.byteLength(secondConnect)],
      ['connect', allowed.port, false, null, 0],
      ['http', allowed.port, true, null, expect.any(Number)],
    ]);
    expect(connections[3]?.reason).toBe('HTTP: a request in a tunnel names its Host once');
    expect(connections[0]?.reason).toBe(
      `TLS name evil.example is not on the allow-list for port ${allowed.port}`,
    );
    attack('allow-list: a forbidden TLS name sent with the CONNECT, before its 200', 'contained');
    attack('allow-list: a second CONNECT or request pipelined behind an admitted one', 'contained');
    await expectNoLeftovers();
  });
});
