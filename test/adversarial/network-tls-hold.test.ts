// Attack: make the harness hold an upstream's bytes without end (harness/net/proxy.ts). Through an
// admitted CONNECT the proxy reads the client's ClientHello before it relays anything; a job that
// sends only part of one, to an allowed server of its own that sends a lot at once, would have the
// proxy buffer all the server sent for as long as the hello stays unfinished. The tunnel must be
// refused once the server sent more than the cap, and reported; the client gets none of it.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_HELD_FROM_UPSTREAM } from '../../harness/net/proxy.js';
import { runJob } from '../../harness/run-job.js';
import { HOST_ADDR } from '../support/net-servers.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { removeDir, tempDir } from './helpers.js';

/** What the flooding server sends at once on each connection: far past the cap. */
const FLOOD_BYTES = 32 * 1024 * 1024;

/**
 * The job: CONNECT through the proxy with, in the same write, the first 5 + 100 bytes of a
 * ClientHello record that says it has 512 — so the hello is under way before the proxy hears from
 * the server — and wait. Prints what came back after the 200 and how the tunnel ended.
 */
const CLIENT = `
const net = require('net');
const proxy = new URL(process.env.HTTPS_PROXY);
const socket = net.connect(Number(proxy.port), proxy.hostname);
let head = '', after = 0, established = false;
const record = Buffer.alloc(5 + 100);
record.set([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
socket.write(Buffer.concat([Buffer.from('CONNECT ' + process.argv[1] + ' HTTP/1.1\\r\\n\\r\\n'), record]));
socket.on('data', (chunk) => {
  if (established) return void (after += chunk.length);
  head += chunk.toString('latin1');
  const end = head.indexOf('\\r\\n\\r\\n');
  if (end < 0) return;
  established = true;
  console.log('status ' + head.split(' ')[1]);
  after += Buffer.byteLength(head.slice(end + 4), 'latin1');
});
socket.on('error', (error) => console.log('error ' + error.code));
socket.on('close', () => console.log('closed after ' + after));
`;

describeSandbox('adversarial: an upstream that floods while the ClientHello is unfinished', () => {
  let dir = '';
  let flood: net.Server;
  let port = 0;
  const accepted: net.Socket[] = [];
  beforeAll(async () => {
    dir = tempDir('net-hold');
    const bytes = Buffer.alloc(FLOOD_BYTES, 0x41);
    flood = net.createServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => undefined);
      socket.write(bytes);
    });
    await new Promise<void>((resolve) => flood.listen(0, HOST_ADDR, resolve));
    port = (flood.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => flood?.close(resolve));
    removeDir(dir);
  });

  it('refuses the tunnel once the server sent past the cap, and the client gets none of it', async () => {
    const result = await runJob({
      command: ['node', '-e', CLIENT, `${HOST_ADDR}:${port}`],
      workdir: dir,
      network: { allow: [`${HOST_ADDR}:${port}`] },
      // unfixed, the proxy holds the tunnel (and the flood) until the job's end: this ends it
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toBe('status 200\nclosed after 0\n');
    expect(accepted).toHaveLength(1);
    const tunnels = result.network?.connections ?? [];
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]).toMatchObject({ host: HOST_ADDR, port, via: 'connect', allowed: false, bytesIn: 0 });
    expect(tunnels[0]?.reason).toBe(
      `the server sent over ${MAX_HELD_FROM_UPSTREAM / 1024} KiB before the client's TLS ClientHello ended`,
    );
    attack('allow-list: an upstream flood held while a ClientHello stays unfinished', 'contained');
    await expectNoLeftovers();
  }, 60_000);
});
