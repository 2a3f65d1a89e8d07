// Attack: the way out of a job under --network allow:… (harness/net/). The job tries to use the
// proxy as more than a proxy (the host's loopback, the proxy itself, an origin-form request, a URL
// with userinfo), to tunnel through an allowed host's CONNECT to another port or, with a TLS name the
// list does not hold, to another name behind an allowed address (fronting), to take the proxy's
// port over or kill what serves it, and to see or use another job's way out. Real jobs, real
// servers on the host's loopback (test/support/net-servers.ts); every attempt must be refused and
// the servers must not see it.
import dns from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { HOST_ADDR, startNetServers, type NetServers } from '../support/net-servers.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, compile, fixtureVolumes, labelled, outcomes, removeDir, tempDir } from './helpers.js';

const PROBE = path.join(ADVERSARIAL, 'proxy-probe.js');

describeSandbox('adversarial: the allow-list way out', () => {
  let servers: NetServers;
  let dir = '';
  beforeAll(async () => {
    servers = await startNetServers();
    dir = tempDir('net');
    compile(dir, 'proxy-takeover');
  });
  afterAll(async () => {
    await servers?.close();
    removeDir(dir);
  });

  it('refuses the host loopback, the proxy itself and a tunnel to another port of an allowed host', async () => {
    const before = { ...servers.served };
    const allowedHost = `${HOST_ADDR}:${servers.http}`;
    const requests = [
      ['tunnel-other-port', `CONNECT ${HOST_ADDR}:${servers.tls} HTTP/1.1\r\nHost: ${allowedHost}\r\n\r\n`],
      ['connect-host-loopback', `CONNECT 127.0.0.1:${servers.http} HTTP/1.1\r\n\r\n`],
      ['connect-localhost', `CONNECT localhost:${servers.tls} HTTP/1.1\r\n\r\n`],
      ['origin-form-other', `GET / HTTP/1.1\r\nHost: ${HOST_ADDR}:${servers.tls}\r\n\r\n`],
      [
        'userinfo-trick',
        `GET http://${allowedHost}@${HOST_ADDR}:${servers.tls}/ HTTP/1.1\r\nHost: ${allowedHost}\r\n\r\n`,
      ],
      ['authority-trick', `CONNECT ${allowedHost}@evil.example:443 HTTP/1.1\r\n\r\n`],
      ['wildcard-suffix', `CONNECT ${HOST_ADDR}.evil.example:${servers.http} HTTP/1.1\r\n\r\n`],
      ['allowed', `GET http://${allowedHost}/ HTTP/1.1\r\nHost: ${allowedHost}\r\n\r\n`],
    ];
    const result = await runJob({
      command: ['node', PROBE, JSON.stringify(requests)],
      workdir: dir,
      volumes: fixtureVolumes(),
      network: { allow: [allowedHost] },
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const seen = outcomes(result.stdout);
    expect(seen).toEqual({
      'tunnel-other-port': '403',
      'connect-host-loopback': '403',
      'connect-localhost': '403',
      'origin-form-other': '403',
      'userinfo-trick': '403',
      'authority-trick': '400',
      'wildcard-suffix': '403',
      allowed: '200',
    });
    // only the one allowed request reached a server
    expect(servers.served).toEqual({ ...before, http: before.http + 1 });
    const refused = result.network?.connections.filter((c) => !c.allowed) ?? [];
    expect(refused.map((c) => `${c.host}:${c.port}`)).toEqual([
      `${HOST_ADDR}:${servers.tls}`,
      `127.0.0.1:${servers.http}`,
      `localhost:${servers.tls}`,
      `${HOST_ADDR}:${servers.tls}`,
      `${HOST_ADDR}:${servers.tls}`,
      `${HOST_ADDR}.evil.example:${servers.http}`,
    ]);
    attack('allow-list: tunnel through an allowed host to another port', 'contained');
    attack("allow-list: reach the host's loopback or the proxy's own side", 'contained');
    await expectNoLeftovers();
  });

  it('refuses a TLS name the list does not hold, sent through an allowed address', async () => {
    const before = servers.served.tls;
    const port = servers.tls;
    // curl CONNECTs to the allowed address and sends the name it was given as its SNI
    const via = (name: string): string =>
      `curl -sSk --connect-to ${name}:${port}:${HOST_ADDR}:${port} -o /dev/null -w "%{http_code}" https://${name}:${port}/`;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `echo "evil $(${via('evil.example')} 2>/dev/null; echo " exit=$?")";
         echo "good $(${via('good.example')})";
         echo "bare $(curl -sSk -o /dev/null -w "%{http_code}" https://${HOST_ADDR}:${port}/)";
         echo "s_client $(echo | openssl s_client -proxy "\${HTTPS_PROXY#http://}" -connect ${HOST_ADDR}:${port} -servername other.example 2>&1 | grep -c "BEGIN CERTIFICATE")"`,
      ],
      workdir: dir,
      network: { allow: [`${HOST_ADDR}:${port}`, `good.example:${port}`] },
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const seen = labelled(result.stdout);
    // the forbidden names never got a handshake: curl's SSL connect error, no certificate for s_client
    expect(seen.evil).toMatch(/^000 exit=35$/);
    expect(seen.s_client).toBe('0');
    expect(seen.good).toBe('200');
    expect(seen.bare).toBe('200');
    expect(servers.served.tls).toBe(before + 2);
    const tunnels = result.network?.connections ?? [];
    expect(tunnels.map((c) => [c.host, c.port, c.allowed, c.tlsName])).toEqual([
      [HOST_ADDR, port, false, 'evil.example'],
      [HOST_ADDR, port, true, 'good.example'],
      [HOST_ADDR, port, true, undefined],
      [HOST_ADDR, port, false, 'other.example'],
    ]);
    expect(tunnels[0]?.reason).toBe(`TLS name evil.example is not on the allow-list for port ${port}`);
    // a refused tunnel sent the upstream nothing
    expect(tunnels[0]?.bytesOut).toBe(0);
    expect(tunnels[1]?.bytesOut).toBeGreaterThan(0);
    attack('allow-list: a forbidden TLS name through an allowed address (fronting)', 'contained');
    await expectNoLeftovers();
  });

  it('refuses an HTTP Host the list does not hold, sent in a tunnel through an allowed address', async () => {
    const port = servers.http;
    const at = `${HOST_ADDR}:${port}`;
    const before = servers.plainRequests.length;
    // curl -p: a CONNECT to the allowed address, then a plain request inside it with the Host given
    const via = (host: string | null): string =>
      `curl -sS -p ${host === null ? '' : `-H "Host: ${host}"`} -o /dev/null -w "%{http_code}" http://${at}/`;
    // behind one CONNECT each, once its 200 is in: two requests in one write, the second for a Host
    // nobody allowed; and 64 KiB of empty lines (which a server skips) before a request for it
    const raw = `
const net = require('net');
const proxy = new URL(process.env.HTTP_PROXY);
const attempt = (name, writes) => new Promise((resolve) => {
  const socket = net.connect(Number(proxy.port), proxy.hostname);
  let got = '';
  socket.write('CONNECT ${at} HTTP/1.1\\r\\n\\r\\n');
  socket.on('data', (chunk) => {
    got += chunk;
    if (got.startsWith('HTTP/1.1 200') && got.indexOf('\\r\\n\\r\\n') === got.length - 4)
      for (const bytes of writes) socket.write(bytes);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    console.log(name + ' ' + (got.match(/HTTP\\/1\\.1 200 OK/g) || []).length);
    resolve();
  });
});
(async () => {
  await attempt('pipelined', ['GET / HTTP/1.1\\r\\nHost: ${at}\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: evil.example\\r\\n\\r\\n']);
  await attempt('blanks', ['\\r\\n'.repeat(32 * 1024), 'GET / HTTP/1.1\\r\\nHost: evil.example\\r\\n\\r\\n']);
})();
`;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `echo "evil $(${via('evil.example')} 2>/dev/null; echo " exit=$?")";
         echo "good $(${via('good.example')})";
         echo "bare $(${via(null)})";
         node -e "$0"`,
        raw,
      ],
      workdir: dir,
      network: { allow: [at, `good.example:${port}`] },
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(labelled(result.stdout)).toEqual({
      evil: '000 exit=52',
      good: '200',
      bare: '200',
      pipelined: '1',
      blanks: '0',
    });
    // what reached the server: no evil.example, and each request told to close after its answer
    expect(servers.plainRequests.slice(before)).toEqual([
      { host: 'good.example', connection: 'close' },
      { host: at, connection: 'close' },
      { host: at, connection: 'close' },
    ]);
    const tunnels = result.network?.connections ?? [];
    expect(tunnels.map((c) => [c.via, c.host, c.allowed, c.httpHost])).toEqual([
      ['connect', HOST_ADDR, false, 'evil.example'],
      ['connect', HOST_ADDR, true, 'good.example'],
      ['connect', HOST_ADDR, true, HOST_ADDR],
      ['connect', HOST_ADDR, true, HOST_ADDR],
      ['connect', HOST_ADDR, false, undefined],
    ]);
    expect(tunnels[0]?.reason).toBe(`HTTP Host evil.example is not on the allow-list for port ${port}`);
    expect(tunnels[0]?.bytesOut).toBe(0);
    expect(tunnels[4]).toMatchObject({ reason: 'HTTP: a request head too large', bytesOut: 0 });
    attack(
      'allow-list: a forbidden HTTP Host in a tunnel through an allowed address (fronting)',
      'contained',
    );
    attack('allow-list: a second request for another Host behind an allowed one in a tunnel', 'contained');
    attack("allow-list: empty lines past the reader's cap before a request for another Host", 'contained');
    await expectNoLeftovers();
  });

  it('cannot take the way out over or kill it: it works on afterwards', async () => {
    const allowedHost = `${HOST_ADDR}:${servers.http}`;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `port=\${HTTP_PROXY##*:}; ./proxy-takeover "$port"; curl -sS -o /dev/null -w "after %{http_code}\\n" http://${allowedHost}/`,
      ],
      workdir: dir,
      network: { allow: [allowedHost] },
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const seen = outcomes(result.stdout);
    expect(seen['bind-loopback']).toBe('EADDRINUSE');
    expect(seen['bind-any']).toBe('EADDRINUSE');
    // the kernel drops SIGKILL to a namespace's init from inside; and the proxy is not in the job at all
    expect(seen.after).toBe('200');
    expect(result.network?.connections).toContainEqual(
      expect.objectContaining({ host: HOST_ADDR, port: servers.http, allowed: true }),
    );
    attack('allow-list: take over or kill the way out', 'contained');
    await expectNoLeftovers();
  });

  it("cannot reach the host's loopback through an allowed name that resolves there (DNS rebinding)", async () => {
    // names that resolve to 127.0.0.1 on every machine, as a hostile DNS can point an allowed name
    // there or at the metadata address: the IPv4 shorthands getaddrinfo reads (they are not address
    // literals to Node, so they are resolved), checked on this host first
    const names = ['127.1', '2130706433'];
    for (const name of names) expect((await dns.lookup(name)).address).toBe('127.0.0.1');
    let served = 0;
    const server = http.createServer((_req, res) => void (served++, res.end('inner\n')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const requests = [
        ['connect-shorthand', `CONNECT 127.1:${port} HTTP/1.1\r\n\r\n`],
        ['connect-decimal', `CONNECT 2130706433:${port} HTTP/1.1\r\n\r\n`],
        // a URL's host is read as the address it spells (127.0.0.1), which the list does not name
        ['http-shorthand', `GET http://127.1:${port}/ HTTP/1.1\r\nHost: 127.1:${port}\r\n\r\n`],
      ];
      const result = await runJob({
        command: ['node', PROBE, JSON.stringify(requests)],
        workdir: dir,
        volumes: fixtureVolumes(),
        network: { allow: names.map((n) => `${n}:${port}`) },
        timeout: '30s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(outcomes(result.stdout)).toEqual({
        'connect-shorthand': '502',
        'connect-decimal': '502',
        'http-shorthand': '403',
      });
      expect(served).toBe(0);
      const tried = result.network?.connections.map((c) => [c.host, c.via, c.allowed, c.error]);
      expect(tried).toEqual([
        ['127.1', 'connect', true, 'EINNERADDRESS'],
        ['2130706433', 'connect', true, 'EINNERADDRESS'],
        ['127.0.0.1', 'http', false, undefined],
      ]);
      attack("allow-list: reach the host's loopback through an allowed name", 'contained');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await expectNoLeftovers();
  });

  it("cannot see or use another job's way out", async () => {
    const allowedHost = `${HOST_ADDR}:${servers.http}`;
    const flag = path.join(dir, 'b-done');
    const portFile = path.join(dir, 'a-port');
    fs.rmSync(flag, { force: true });
    fs.rmSync(portFile, { force: true });
    // A: its proxy's port for B to aim at, traffic to its allowed host until B is done
    const a = runJob({
      command: [
        'sh',
        '-c',
        `echo "\${HTTP_PROXY##*:}" > a-port.tmp && mv a-port.tmp a-port;
         while [ ! -e b-done ]; do curl -sS -o /dev/null http://${allowedHost}/bytes/4096 || exit 3; done`,
      ],
      workdir: dir,
      network: { allow: [allowedHost] },
      timeout: '60s',
    });
    const hex = servers.http.toString(16).toUpperCase().padStart(4, '0');
    const b = await runJob({
      command: [
        'sh',
        '-c',
        `while [ ! -s a-port ]; do sleep 0.05; done; port=$(cat a-port);
         curl -sS -o /dev/null -w "b-via-a %{http_code}\\n" -x "http://127.0.0.1:$port" http://${allowedHost}/;
         n=0; for i in 1 2 3 4 5 6 7 8 9 10; do grep -c ":${hex} " /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -F: '{s+=$2} END {print s}' > seen; n=$((n + $(cat seen))); sleep 0.05; done;
         echo "b-sees $n"; touch b-done`,
      ],
      workdir: dir,
      network: { allow: [] },
      timeout: '60s',
    });
    const aResult = await a;
    expect(aResult.status, aResult.reason + aResult.stderr).toBe('passed');
    expect(b.status, b.reason + b.stderr).toBe('passed');
    const seen = outcomes(b.stdout);
    // B's 127.0.0.1 is its own: nothing there, or (ports alike by chance) B's own proxy, with B's list
    expect(['000', '403']).toContain(seen['b-via-a']);
    expect(seen['b-sees']).toBe('0');
    // nothing of B's in A's record, and B reached nothing
    expect(aResult.network?.connections.every((c) => c.allowed && c.port === servers.http)).toBe(true);
    expect(aResult.network?.connections.length).toBeGreaterThan(0);
    expect(b.network?.connections.every((c) => !c.allowed)).toBe(true);
    attack("allow-list: see or use another job's way out", 'contained');
    await expectNoLeftovers();
  });
});
