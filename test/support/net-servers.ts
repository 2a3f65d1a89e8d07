// Real servers on the host's loopback for the allow-list tests (--network allow:…): a plain HTTP
// server, a TLS server (a self-signed certificate openssl makes here) and a minimal npm registry
// serving one real tarball that `npm pack` made. They listen on 127.0.0.2, which a job's NO_PROXY
// does not name (127.0.0.1 is the job's own loopback) and which, inside a job, is its own `lo` with
// nothing listening: only the proxy, from the host's side, reaches them. Each counts what it served.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const HOST_ADDR = '127.0.0.2';
export const PACKAGE = 'rf-net-fixture';

export interface NetServers {
  /** Ports on HOST_ADDR; the HTTP server answers GET /bytes/<n> with n bytes. */
  http: number;
  tls: number;
  registry: number;
  /** Requests each has answered. */
  served: { http: number; tls: number; registry: number };
  /** The plain HTTP server's requests, in order: the Host and Connection each came with. */
  plainRequests: { host: string | undefined; connection: string | undefined }[];
  close(): Promise<void>;
}

/** Listens on HOST_ADDR, on a port the kernel picks; resolves with the port. */
export function listenOnHost(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST_ADDR, () => resolve((server.address() as AddressInfo).port));
  });
}

/** The tarball of a one-file package, made by `npm pack` in `dir`. */
function packFixture(dir: string): Buffer {
  const pkg = path.join(dir, 'pkg');
  fs.mkdirSync(pkg);
  fs.writeFileSync(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: PACKAGE, version: '1.0.0', main: 'index.js' }),
  );
  fs.writeFileSync(path.join(pkg, 'index.js'), "module.exports = 'fetched through the allow-list';\n");
  const out = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: pkg,
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`npm pack: ${out.stderr}`);
  return fs.readFileSync(path.join(dir, out.stdout.trim().split('\n').at(-1) ?? ''));
}

/** A self-signed certificate for `localhost` and HOST_ADDR. */
function certificate(dir: string): { key: Buffer; cert: Buffer } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const out = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=DNS:localhost,IP:${HOST_ADDR}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`openssl: ${out.stderr}`);
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}

export async function startNetServers(): Promise<NetServers> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-net-servers-'));
  const served = { http: 0, tls: 0, registry: 0 };
  const plainRequests: NetServers['plainRequests'] = [];
  try {
    const tarball = packFixture(dir);
    const { key, cert } = certificate(dir);
    const plain = http.createServer((req, res) => {
      served.http++;
      plainRequests.push({ host: req.headers.host, connection: req.headers.connection });
      const n = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
      if (!n) return void res.end('plain hello\n');
      const total = Number(n[1]);
      res.writeHead(200, { 'content-length': total });
      const chunk = Buffer.alloc(1024 * 1024, 97);
      let left = total;
      const pump = (): void => {
        while (left > 0) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= part.length;
          if (!res.write(part)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const secure = https.createServer({ key, cert }, (_req, res) => {
      served.tls++;
      res.end('tls hello\n');
    });
    const registry = http.createServer();
    const ports = {
      http: await listenOnHost(plain),
      tls: await listenOnHost(secure),
      registry: await listenOnHost(registry),
    };
    const base = `http://${HOST_ADDR}:${ports.registry}`;
    const file = `${PACKAGE}-1.0.0.tgz`;
    const packument = {
      name: PACKAGE,
      'dist-tags': { latest: '1.0.0' },
      versions: {
        '1.0.0': {
          name: PACKAGE,
          version: '1.0.0',
          main: 'index.js',
          dist: {
            tarball: `${base}/${PACKAGE}/-/${file}`,
            shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
            integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
          },
        },
      },
    };
    registry.on('request', (req, res) => {
      served.registry++;
      if (req.url === `/${PACKAGE}`)
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
      if (req.url === `/${PACKAGE}/-/${file}`)
        return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball);
      res.writeHead(404).end('{}');
    });
    return {
      ...ports,
      served,
      plainRequests,
      close: async () => {
        await closeServers([plain, secure, registry]);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Ends each server's connections and closes it. */
export async function closeServers(
  servers: readonly (http.Server | https.Server | undefined)[],
): Promise<void> {
  for (const server of servers) {
    if (!server) continue;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A raw TCP server on HOST_ADDR for one test; close() ends the connections it still holds. */
export interface RawServer {
  port: number;
  /** `HOST_ADDR:port`. */
  at: string;
  close(): Promise<void>;
}

/** Starts a RawServer that hands each connection to `onSocket` (its errors are ignored). */
export async function startRawServer(
  onSocket: (socket: net.Socket) => void,
  options: net.ServerOpts = {},
): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(options, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: HOST_ADDR, backlog: 1024 }, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    at: `${HOST_ADDR}:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
