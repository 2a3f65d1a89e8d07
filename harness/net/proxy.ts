// The way out of a job under `--network allow:…`: one HTTP proxy per harness process (Node's own
// http server: CONNECT tunnels and absolute-URL requests), shared by every job. Each job has its own
// listening socket inside its own network namespace (native/spawn/netns.c), so which job a
// connection belongs to is which socket accepted it — nothing the job says can change that. The
// proxy resolves and connects from the host; the job needs no DNS. Every attempt is recorded, with
// the bytes each way, for the job's result (report.ts).
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { NetConnection } from '../job/result.js';
import { allowed, normalHost, type AllowRule } from './allow.js';
import { guardedLookup } from './resolve.js';

/** The most connections one job's record lists (the rest are counted). */
export const MAX_CONNECTIONS = 1000;

/** A job's side of the proxy: its rules, its record, and what is open for it. */
export interface ProxyJob {
  readonly rules: readonly AllowRule[];
  readonly connections: NetConnection[];
  truncated: number;
  /** Client and upstream sockets still open: ended with the job. */
  readonly open: Set<Duplex>;
}

/** The job each accepted socket came in through. */
const jobOf = new WeakMap<Duplex, ProxyJob>();

function record(job: ProxyJob, entry: NetConnection): NetConnection {
  if (job.connections.length < MAX_CONNECTIONS) job.connections.push(entry);
  else job.truncated++;
  return entry;
}

function track(job: ProxyJob, socket: Duplex): void {
  job.open.add(socket);
  socket.once('close', () => job.open.delete(socket));
}

/** `host:port` of a CONNECT (IPv6 in brackets), or null when it is not one. */
function authority(target: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(target);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: normalHost(m[1] ?? ''), port } : null;
}

function refuse(socket: Duplex, status: string, why: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nringfence: ${why}\n`,
  );
}

function onConnect(req: http.IncomingMessage, client: Duplex, head: Buffer): void {
  const job = jobOf.get(req.socket);
  if (!job) return void client.destroy();
  const target = authority(req.url ?? '');
  if (!target) return refuse(client, '400 Bad Request', 'CONNECT wants host:port');
  const entry = record(job, { ...target, via: 'connect', allowed: false, bytesOut: 0, bytesIn: 0 });
  if (!allowed(job.rules, target.host, target.port))
    return refuse(client, '403 Forbidden', `${target.host}:${target.port} is not on the allow-list`);
  entry.allowed = true;
  const upstream = net.connect({ host: target.host, port: target.port, lookup: guardedLookup });
  let connected = false;
  track(job, upstream);
  upstream.once('error', (error: NodeJS.ErrnoException) => {
    if (!connected && !client.destroyed) {
      entry.error = error.code ?? error.message;
      refuse(client, '502 Bad Gateway', `${target.host}:${target.port}: ${entry.error}`);
    } else client.destroy();
  });
  upstream.once('connect', () => {
    connected = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  // the upstream socket's own counters: what went to the host (head included) and came back, with
  // no callback a chunk on the way
  upstream.once('close', () => {
    entry.bytesOut = upstream.bytesWritten;
    entry.bytesIn = upstream.bytesRead;
  });
  client.once('error', () => upstream.destroy());
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const job = jobOf.get(req.socket);
  if (!job) return void req.socket.destroy();
  let url: URL;
  try {
    // absolute-form, as a client sends its proxy; origin-form (someone talking to us as a server) by Host
    url = new URL(req.url?.startsWith('/') ? `http://${req.headers.host ?? ''}${req.url}` : (req.url ?? ''));
  } catch {
    return void res.writeHead(400).end('ringfence: not a proxy request\n');
  }
  if (url.protocol !== 'http:')
    return void res.writeHead(400).end('ringfence: only http:// here; https goes through CONNECT\n');
  const host = normalHost(url.hostname);
  const port = Number(url.port || 80);
  const entry = record(job, { host, port, via: 'http', allowed: false, bytesOut: 0, bytesIn: 0 });
  if (!allowed(job.rules, host, port))
    return void res.writeHead(403).end(`ringfence: ${host}:${port} is not on the allow-list\n`);
  entry.allowed = true;
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.headers))
    if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value;
  const upstream = http.request({
    host,
    port,
    lookup: guardedLookup,
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers,
    agent: false,
  });
  upstream.once('socket', (socket) => track(job, socket));
  upstream.once('error', (error: NodeJS.ErrnoException) => {
    entry.error ??= error.code ?? error.message;
    if (!res.headersSent) res.writeHead(502).end(`ringfence: ${host}:${port}: ${entry.error}\n`);
    else res.destroy();
  });
  upstream.once('response', (answer) => {
    const out: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(answer.headers))
      if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
    answer.on('data', (chunk: Buffer) => (entry.bytesIn += chunk.length));
    answer.pipe(res);
  });
  req.on('data', (chunk: Buffer) => (entry.bytesOut += chunk.length));
  req.pipe(upstream);
  res.once('close', () => upstream.destroy());
}

let server: http.Server | null = null;

/** The shared proxy: made on first use, never listening on anything of its own. */
function proxy(): http.Server {
  if (server) return server;
  server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 5_000 });
  server.on('request', onRequest);
  server.on('connect', onConnect);
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}

/** A job's way out: `listenFd` (a listening socket in its namespace) feeds the shared proxy. */
export interface Attached {
  readonly job: ProxyJob;
  /** Stops accepting, ends what is still open for the job; the record is final once this resolves. */
  detach(): Promise<void>;
}

export function attach(listenFd: number, rules: readonly AllowRule[]): Attached {
  const job: ProxyJob = { rules, connections: [], truncated: 0, open: new Set() };
  const shared = proxy();
  const listener = net.createServer((socket) => {
    jobOf.set(socket, job);
    track(job, socket);
    // a job that resets its end must not take the harness down (the http server lets go of a tunnel's socket)
    socket.on('error', () => socket.destroy());
    shared.emit('connection', socket);
  });
  listener.on('error', () => undefined);
  listener.listen({ fd: listenFd });
  // the harness must not stay alive for a job's listener alone
  listener.unref();
  let detached: Promise<void> | null = null;
  return {
    job,
    detach: () =>
      (detached ??= (async () => {
        const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
        // every socket's 'close' has run (its counters are in the record) before the record is read
        const open = [...job.open];
        const closed = open.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.closed) resolve();
              else socket.once('close', () => resolve());
            }),
        );
        for (const socket of open) socket.destroy();
        await Promise.all([stopped, ...closed]);
      })()),
  };
}
