// Attack: exhaust the shared way out (harness/net/proxy.ts). Every connection a job holds open
// through it costs the harness, not the job: fds, the first bytes it reads, then a relay thread
// with its buffers — none of which the job's memory or pids cap counts. A job opens more tunnels
// than MAX_OPEN_CONNECTIONS at once to a server that holds them: those past the limit must be
// closed unread and counted, the harness's threads must stay within the limit, and the next job's
// way out must work.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_OPEN_CONNECTIONS } from '../../harness/net/proxy.js';
import { runJob } from '../../harness/run-job.js';
import { startRawServer, type RawServer } from '../support/net-servers.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { labelled, removeDir, tempDir } from './helpers.js';

/**
 * The job: `count` tunnels to `at` at once; each is `held` once the server's greeting came through
 * it, `closed` if it ended before. Once all are settled it prints both counts, then (the test's
 * cue) writes `settled` in its workdir and holds the tunnels until the test's `release` file.
 */
const CLIENT = `
const fs = require('fs');
const net = require('net');
const proxy = new URL(process.env.HTTP_PROXY);
const [at, count] = process.argv.slice(1);
let held = 0, closed = 0;
const sockets = [];
const settled = () => {
  if (held + closed < Number(count)) return;
  console.log('held ' + held);
  console.log('closed ' + closed);
  fs.writeFileSync('settled', '');
  const wait = setInterval(() => {
    if (!fs.existsSync('release')) return;
    clearInterval(wait);
    for (const s of sockets) s.destroy();
  }, 10);
};
for (let i = 0; i < Number(count); i++) {
  const s = net.connect(Number(proxy.port), proxy.hostname);
  sockets.push(s);
  let got = '', done = false;
  const settle = (kind) => { if (done) return; done = true; kind === 'held' ? held++ : closed++; settled(); };
  s.write('CONNECT ' + at + ' HTTP/1.1\\r\\n\\r\\n');
  s.on('data', (d) => { got += d; if (got.includes('hello\\n')) settle('held'); });
  s.on('error', () => {});
  s.on('close', () => settle('closed'));
}
`;

/**
 * The job: `count` connections that each send half a request head (or nothing) and end their side,
 * one after another, each waited for until the proxy has closed it; then one tunnel to `at`. Prints
 * `probed <n>` and `tunnel held` once the server's greeting came through it (`closed` if not).
 */
const PROBES = `
const net = require('net');
const proxy = new URL(process.env.HTTP_PROXY);
const [at, count] = process.argv.slice(1);
const probe = (i) => new Promise((resolve) => {
  const s = net.connect(Number(proxy.port), proxy.hostname, () => s.end(i % 2 ? 'CONNECT ' + at : ''));
  s.on('error', () => {});
  s.on('close', resolve);
});
(async () => {
  for (let i = 0; i < Number(count); i++) await probe(i);
  console.log('probed ' + count);
  const s = net.connect(Number(proxy.port), proxy.hostname);
  let got = '';
  s.write('CONNECT ' + at + ' HTTP/1.1\\r\\n\\r\\n');
  s.on('data', (d) => { got += d; if (got.includes('hello\\n')) { console.log('tunnel held'); s.destroy(); } });
  s.on('error', () => {});
  s.on('close', () => got.includes('hello') || console.log('tunnel closed'));
})();
`;

/** The harness's own threads: the relays run as threads of this process. */
function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]);
}

/** Resolves once `file` exists, polling (the job's cue; no fixed wait). */
async function until(file: string, within: number): Promise<void> {
  const end = Date.now() + within;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file}: not there after ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeSandbox('adversarial: more connections than the way out holds', () => {
  let server: RawServer;
  let dir = '';
  beforeAll(async () => {
    // greets at once, so each tunnel is decided and relayed without a byte from the client
    server = await startRawServer((socket) => socket.write('hello\n'));
    dir = tempDir('net-flood');
  });
  afterAll(async () => {
    await server?.close();
    removeDir(dir);
  });

  it('closes unread the connections past the limit, and the harness holds no more relays', async () => {
    const { at } = server;
    const extra = 44;
    const before = threads();
    let during = 0;
    const job = runJob({
      command: ['node', '-e', CLIENT, at, String(MAX_OPEN_CONNECTIONS + extra)],
      workdir: dir,
      network: { allow: [at] },
      timeout: '60s',
    });
    await until(path.join(dir, 'settled'), 50_000);
    during = threads();
    fs.writeFileSync(path.join(dir, 'release'), '');
    const result = await job;
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(labelled(result.stdout)).toEqual({ held: String(MAX_OPEN_CONNECTIONS), closed: String(extra) });
    expect(result.network?.overLimit).toBe(extra);
    expect(result.network?.connections).toHaveLength(MAX_OPEN_CONNECTIONS);
    expect(result.network?.connections.every((c) => c.allowed && c.bytesIn === 'hello\n'.length)).toBe(true);
    // one relay thread a held tunnel, none for those closed unread (the rest of the harness may
    // start a few threads of its own meanwhile)
    expect(during - before).toBeGreaterThanOrEqual(MAX_OPEN_CONNECTIONS);
    expect(during - before).toBeLessThan(MAX_OPEN_CONNECTIONS + extra);

    // the next job's way out works, and its count starts again
    const next = await runJob({
      command: ['node', '-e', CLIENT, at, '1'],
      workdir: dir,
      network: { allow: [at] },
      timeout: '30s',
    });
    expect(labelled(next.stdout)).toEqual({ held: '1', closed: '0' });
    expect(next.network?.overLimit).toBeUndefined();
    attack('allow-list: more tunnels held open at once than the way out allows a job', 'contained');
    await expectNoLeftovers();
  }, 120_000);

  it('frees the place of each connection that ends before its request head', async () => {
    // a port check (`nc -z`, bash's /dev/tcp) or a client that gives up: more of them, one after
    // another, than the limit holds at once — each must leave nothing held, or the job loses its way out
    const result = await runJob({
      command: ['node', '-e', PROBES, server.at, String(MAX_OPEN_CONNECTIONS + 44)],
      workdir: dir,
      network: { allow: [server.at] },
      timeout: '60s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(labelled(result.stdout)).toEqual({ probed: String(MAX_OPEN_CONNECTIONS + 44), tunnel: 'held' });
    expect(result.network?.overLimit).toBeUndefined();
    expect(result.network?.connections).toHaveLength(1);
    attack("allow-list: connections ended before their head, past the way out's limit", 'contained');
    await expectNoLeftovers();
  }, 90_000);
});
