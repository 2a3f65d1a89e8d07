// --network allow:…, offline against real servers on the host's loopback (test/support/net-servers.ts):
// `npm install` from an allowed registry through the proxy, a TLS server on a port the list does not
// name refused and reported, no way around the proxy (curl --noproxy, a raw connect(), DNS), the
// run line on stderr, a job's own service still reachable on 127.0.0.1, the native relay's counts
// and its end with the job, and a protocol other than TLS and HTTP not held up.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { Sandbox } from '../../harness/launch/spares.js';
import { runJob } from '../../harness/run-job.js';
import {
  HOST_ADDR,
  PACKAGE,
  startNetServers,
  startRawServer,
  type NetServers,
} from '../support/net-servers.js';
import { CLI, ROOT, describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers } from '../support/tally.js';
import { removeDir, tempDir } from '../adversarial/helpers.js';

function cli(...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describeSandbox('network: a job reaches only its allow-list', () => {
  let servers: NetServers;
  let dir = '';
  beforeAll(async () => {
    servers = await startNetServers();
    dir = tempDir('net-allow');
  });
  afterAll(async () => {
    await servers?.close();
    removeDir(dir);
  });

  it('installs a package from the allowed registry, and refuses and reports the TLS port', async () => {
    const registry = `http://${HOST_ADDR}:${servers.registry}/`;
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.0.0' }));
    const before = servers.served.tls;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `npm install ${PACKAGE} --registry ${registry} --cache /tmp/npm-cache --no-audit --no-fund --loglevel=error &&
         node -e "console.log(require('${PACKAGE}'))" &&
         curl -sS -k https://${HOST_ADDR}:${servers.tls}/; echo "tls=$?"`,
      ],
      workdir: dir,
      network: { allow: [`${HOST_ADDR}:${servers.registry}`, `${HOST_ADDR}:${servers.http}`] },
      allowToolingWrite: true,
      timeout: '60s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toContain('fetched through the allow-list');
    // curl's CONNECT got a 403: exit 56, and the TLS server never saw a request
    expect(result.stdout).toContain('tls=56');
    expect(servers.served.tls).toBe(before);
    expect(fs.existsSync(path.join(dir, 'node_modules', PACKAGE, 'index.js'))).toBe(true);
    const net = result.network;
    expect(net?.allow).toEqual([`${HOST_ADDR}:${servers.registry}`, `${HOST_ADDR}:${servers.http}`]);
    const toRegistry = net?.connections.filter((c) => c.port === servers.registry) ?? [];
    expect(toRegistry.length).toBeGreaterThan(0);
    expect(toRegistry.every((c) => c.allowed && c.host === HOST_ADDR)).toBe(true);
    expect(toRegistry.reduce((n, c) => n + c.bytesIn, 0)).toBeGreaterThan(200);
    expect(net?.connections).toContainEqual(
      expect.objectContaining({ host: HOST_ADDR, port: servers.tls, via: 'connect', allowed: false }),
    );
    await expectNoLeftovers();
  });

  it('gives nothing to curl --noproxy, a raw connect() or a DNS query', async () => {
    const before = { ...servers.served };
    const probe = `
      const net = require('net'), dns = require('dns');
      const targets = [['${HOST_ADDR}', ${servers.http}], ['10.255.255.53', 53], ['1.1.1.1', 443], ['8.8.8.8', 53]];
      let left = targets.length + 2;
      const done = () => --left === 0 && process.exit(0);
      for (const [host, port] of targets) {
        const s = net.connect({ host, port, timeout: 3000 });
        s.on('connect', () => { console.log('CONNECTED', host, port); s.destroy(); done(); });
        s.on('error', (e) => { console.log('connect', host, e.code); done(); });
        s.on('timeout', () => { console.log('TIMEOUT', host); s.destroy(); done(); });
      }
      dns.resolve4('example.com', (e, a) => { console.log(e ? 'dns ' + e.code : 'ANSWER ' + a); done(); });
      const r = new dns.Resolver({ timeout: 1000, tries: 1 });
      r.setServers(['8.8.8.8']);
      r.resolve4('example.com', (e, a) => { console.log(e ? 'dns8 ' + e.code : 'ANSWER ' + a); done(); });`;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `curl -sS --noproxy '*' http://${HOST_ADDR}:${servers.http}/; echo "noproxy=$?"; node -e "${probe.replace(/"/g, '\\"')}"; getent hosts example.com; echo "getent=$?"`,
      ],
      workdir: dir,
      network: `allow:${HOST_ADDR}:${servers.http},example.com`,
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toContain('noproxy=7');
    expect(result.stdout).not.toMatch(/CONNECTED|ANSWER|TIMEOUT/);
    expect(result.stdout).toMatch(new RegExp(`connect ${HOST_ADDR.replace(/\./g, '\\.')} ECONNREFUSED`));
    expect(result.stdout).toContain('connect 1.1.1.1 ENETUNREACH');
    expect(result.stdout).toMatch(/dns E[A-Z]+/);
    expect(result.stdout).toMatch(/dns8 E[A-Z]+/);
    expect(result.stdout).toMatch(/getent=[12]/);
    // nothing of these went through the proxy, and no server saw a request
    expect(result.network?.connections).toEqual([]);
    expect(servers.served).toEqual(before);
    await expectNoLeftovers();
  });

  it('says on stderr what the job reached and was refused (ringfence run)', async () => {
    // the CLI in a child that does not block this process: the servers answer from its event loop
    const out = await cli(
      'run',
      '--network',
      `allow:${HOST_ADDR}:${servers.http}`,
      '--',
      'sh',
      '-c',
      `curl -sS -o /dev/null http://${HOST_ADDR}:${servers.http}/ && curl -sS -o /dev/null https://evil.example/; true`,
    );
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toContain('ringfence: reached 1 host, refused 1: evil.example:443');
  });

  it('names the TLS name it refused, not the allowed address it went through (ringfence run)', async () => {
    const port = servers.tls;
    const before = servers.served.tls;
    // curl CONNECTs to the allowed address and asks it for evil.example (SNI): refused for the name
    const out = await cli(
      'run',
      '--network',
      `allow:${HOST_ADDR}:${port}`,
      '--',
      'sh',
      '-c',
      `curl -sSk --connect-to evil.example:${port}:${HOST_ADDR}:${port} -o /dev/null https://evil.example:${port}/; echo "exit=$?"`,
    );
    expect(out.status, out.stderr).toBe(0);
    expect(servers.served.tls).toBe(before);
    expect(out.stderr).toContain(
      `ringfence: reached 0 hosts, refused 1: evil.example (TLS name) via ${HOST_ADDR}:${port}\n`,
    );
  });

  it('runs in a launcher started ahead, whose init joins the way out', async () => {
    const spec = {
      command: [
        'curl',
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `http://${HOST_ADDR}:${servers.http}/`,
      ],
      workdir: dir,
      network: `allow:${HOST_ADDR}:${servers.http}` as const,
      timeout: '30s',
    };
    await runJob(spec); // leaves a spare for the next
    const result = await runJob(spec, { trace: true });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.trace?.map((t) => t.phase)).toContain('ahead');
    expect(result.stdout).toBe('200');
    await expectNoLeftovers();
  });

  it('gives each job a fresh namespace, made while the one before ran, and keeps none once settled', async () => {
    // this process's open network namespaces: what the harness holds (the job's, the one made ahead)
    const heldNetns = (): string[] =>
      fs
        .readdirSync('/proc/self/fd')
        .flatMap((fd) => {
          try {
            return [fs.readlinkSync(`/proc/self/fd/${fd}`)];
          } catch {
            return []; // the directory's own fd, closed by now
          }
        })
        .filter((link) => link.startsWith('net:'));
    const host = fs.readlinkSync('/proc/self/ns/net');
    const spec = {
      command: [
        'sh',
        '-c',
        `readlink /proc/self/ns/net; curl -sS http://${HOST_ADDR}:${servers.http}/bytes/3`,
      ],
      network: `allow:${HOST_ADDR}:${servers.http}` as const,
      timeout: '30s',
    };
    const seen: string[] = [];
    let ahead: string | undefined;
    for (let i = 0; i < 3; i++) {
      const result = await runJob(spec);
      expect(result.status, result.reason + result.stderr).toBe('passed');
      const [netns, body] = result.stdout.split('\n');
      expect(body).toHaveLength(3);
      // the namespace made ahead was this job's
      if (ahead !== undefined) expect(netns).toBe(ahead);
      seen.push(netns ?? '');
      // the next job's is made on the thread pool while this one runs: a new one, not this job's.
      // Only the namespaces alive when it was made can be told from it: the kernel hands a gone
      // namespace's inode number out again (an earlier job's may come back)
      await vi.waitFor(() => expect(heldNetns()).toHaveLength(1));
      ahead = heldNetns()[0];
      expect([netns, host]).not.toContain(ahead);
    }
    await Sandbox.settle();
    expect(heldNetns()).toEqual([]);
    // three jobs, each in a namespace other than the one before it (alive while it was made), none
    // of them the host's
    expect(seen).toHaveLength(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
    expect(seen).not.toContain(host);
    await expectNoLeftovers();
  });

  it('counts a relayed download, and ends a tunnel still open when the job ends', async () => {
    // a host that never answers and never closes its side: only the job's end can close the tunnel
    const held = new Set<net.Socket>();
    let ended = 0;
    const silent = net.createServer({ allowHalfOpen: true }, (socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
      socket.on('end', () => ended++);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, HOST_ADDR, resolve));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const bytes = 8 * 1024 * 1024;
    try {
      const result = await runJob({
        command: [
          'sh',
          '-c',
          `curl -sS -o /dev/null -w "got %{size_download}\\n" http://${HOST_ADDR}:${servers.http}/bytes/${bytes};
           curl -sS -o /dev/null -w "tunnel %{size_download}\\n" -p http://${HOST_ADDR}:${servers.http}/bytes/${bytes};
           node -e "$HOLD" > answer 2>&1 < /dev/null &
           while ! grep -q 200 answer 2>/dev/null; do sleep 0.05; done; echo "$(head -c 12 answer)"`,
        ],
        workdir: dir,
        network: { allow: [`${HOST_ADDR}:${servers.http}`, `${HOST_ADDR}:${silentPort}`] },
        // a client that opens a tunnel, sends 5 bytes, and stays until the job's end kills it (not
        // a bare word: that could still become an HTTP request, whose Host the proxy waits for)
        env: {
          HOLD: `const s = require('net').connect(Number(process.env.HTTP_PROXY.split(':')[2]), '127.0.0.1');
            s.write('CONNECT ${HOST_ADDR}:${silentPort} HTTP/1.1\\r\\n\\r\\n\\x00ping');
            s.on('data', (d) => process.stdout.write(d)); setInterval(() => {}, 1000);`,
        },
        timeout: '60s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(result.stdout).toContain(`got ${bytes}`);
      expect(result.stdout).toContain(`tunnel ${bytes}`);
      const [plain, tunnel, open] = result.network?.connections ?? [];
      // the bytes as on the wire: the body and the response's head
      expect(plain?.bytesIn).toBeGreaterThan(bytes);
      expect(plain?.bytesIn).toBeLessThan(bytes + 1024);
      expect(tunnel).toMatchObject({ via: 'connect', allowed: true });
      expect(tunnel?.bytesIn).toBeGreaterThan(bytes);
      expect(open).toMatchObject({ port: silentPort, allowed: true, bytesOut: 5, bytesIn: 0 });
      // the record is final only once every relay has reported: the silent host's tunnel was ended
      // with the job (its stop pipe), and the host saw it go
      await vi.waitFor(() => expect(ended).toBe(1), { timeout: 10_000 });
      await expectNoLeftovers();
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('holds up neither a server that speaks first nor a client that speaks another protocol', async () => {
    // an SMTP-like host: greets, then answers a line; and the client's first bytes, sent with its
    // CONNECT before the greeting, a bare word that could still have become an HTTP request
    const greeter = await startRawServer((socket) => {
      socket.write('220 ready\r\n');
      // answers the first whole line, however the bytes were cut on the way
      let line = '';
      socket.on('data', (chunk: Buffer) => {
        line += chunk.toString('latin1');
        if (line.includes('\r\n')) socket.end(`250 got ${line.slice(0, line.indexOf('\r\n'))}\r\n`);
      });
    });
    const { port } = greeter;
    const client = `
const s = require('net').connect(Number(process.env.HTTP_PROXY.split(':')[2]), '127.0.0.1');
let got = '';
s.write('CONNECT ${HOST_ADDR}:${port} HTTP/1.1\\r\\n\\r\\nHELO');
s.on('data', (d) => { got += d; if (got.includes('220 ready') && !s.sentLine) { s.sentLine = true; s.write(' x\\r\\n'); } });
s.on('close', () => console.log(JSON.stringify(got.slice(got.indexOf('\\r\\n\\r\\n') + 4))));
`;
    try {
      const result = await runJob({
        command: ['node', '-e', client],
        workdir: dir,
        network: { allow: [`${HOST_ADDR}:${port}`] },
        // held, the client waits for a greeting that never comes: this ends it
        timeout: '20s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(JSON.parse(result.stdout) as string).toBe('220 ready\r\n250 got HELO x\r\n');
      expect(result.network?.connections).toMatchObject([{ port, allowed: true, bytesOut: 8 }]);
      await expectNoLeftovers();
    } finally {
      await greeter.close();
    }
  });

  it('relays whole a large upload sent with the CONNECT, past what the proxy reads before deciding', async () => {
    // 1 MiB of body in the same write as the CONNECT and its request head: the proxy reads 64 KiB
    // of it before the tunnel is decided (MAX_HELD_FROM_CLIENT), the rest waits in the kernel
    const body = 1024 * 1024;
    const counter = await startRawServer((socket) => {
      let seen = 0;
      let start = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (start.length < 4096) start += chunk.toString('latin1', 0, 4096);
        // answers once the head and the whole body its Content-Length names are in
        const headEnd = start.indexOf('\r\n\r\n');
        if (headEnd >= 0 && seen >= headEnd + 4 + body)
          socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${String(seen).length}\r\n\r\n${seen}`);
      });
    });
    const { port, at } = counter;
    const client = `
const s = require('net').connect(Number(process.env.HTTP_PROXY.split(':')[2]), '127.0.0.1');
const head = 'CONNECT ${at} HTTP/1.1\\r\\n\\r\\nPOST / HTTP/1.1\\r\\nHost: ${at}\\r\\nContent-Length: ${body}\\r\\n\\r\\n';
s.write(Buffer.concat([Buffer.from(head), Buffer.alloc(${body}, 97)]));
let got = '';
s.on('data', (d) => (got += d));
s.on('close', () => console.log(got.slice(got.lastIndexOf('\\r\\n\\r\\n') + 4)));
`;
    try {
      const result = await runJob({
        command: ['node', '-e', client],
        workdir: dir,
        network: { allow: [at] },
        timeout: '30s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      // the server's count: the rewritten head and every byte of the body
      const sent = result.network?.connections[0]?.bytesOut ?? 0;
      expect(Number(result.stdout.trim())).toBe(sent);
      expect(sent).toBeGreaterThan(body);
      expect(result.network?.connections).toMatchObject([{ port, allowed: true, httpHost: HOST_ADDR }]);
      await expectNoLeftovers();
    } finally {
      await counter.close();
    }
  });

  it("keeps the job's own service reachable on 127.0.0.1", async () => {
    const server = `require('http').createServer((q, s) => s.end('service ok')).listen(7070, '127.0.0.1')`;
    const result = await runJob({
      command: ['sh', '-c', 'curl -sS http://127.0.0.1:7070/ && curl -sS http://localhost:7070/'],
      workdir: dir,
      network: { allow: [] },
      services: [{ name: 'web', command: ['node', '-e', server], ready: { tcp: 7070 } }],
      timeout: '30s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toBe('service okservice ok');
    expect(result.network?.connections).toEqual([]);
    await expectNoLeftovers();
  });
});
