// The way out of a job under `--network allow:…`: an HTTP proxy in the harness process (CONNECT
// tunnels and absolute-URL requests), shared by every job. Each job has its own listening socket
// inside its own network namespace (native/spawn/netns.c), so which job a connection belongs to is
// which socket accepted it — nothing the job says can change that. The proxy resolves and connects
// from the host; the job needs no DNS. JavaScript reads one request head per connection (head.ts)
// and, in a tunnel, the TLS name the client asks for (tls-name.ts); once admitted, the bytes go
// through a native relay (relay.ts), never through the event loop. Every attempt is recorded, with
// the bytes each way, for the job's result (reporters/net.ts says it).
import net from 'node:net';
import type { NetConnection } from '../job/result.js';
import { allowed, normalHost, type AllowRule } from './allow.js';
import { closingHead, headerValues, readHead, upstreamHead, type RequestHead } from './head.js';
import { readTunnelRequest } from './http-name.js';
import { handOff, stopPipe, stopReading, type StopPipe } from './relay.js';
import { guardedLookup } from './resolve.js';
import { TLS_HANDSHAKE, readClientHello } from './tls-name.js';

/** The most connections one job's record lists (the rest are counted). */
export const MAX_CONNECTIONS = 1000;

/**
 * The most bytes an upstream may send before the tunnel is decided (the `200` on its way to the
 * client, the client's ClientHello still coming): a TLS server sends nothing before the hello, so
 * past this the tunnel is refused instead of held in memory.
 */
export const MAX_HELD_FROM_UPSTREAM = 64 * 1024;

/**
 * What the proxy reads of a client's first bytes before the tunnel is decided: past it, the rest
 * waits in the kernel (a ClientHello or a request head longer than that is refused anyway).
 */
export const MAX_HELD_FROM_CLIENT = 64 * 1024;

/**
 * The most pieces a client's first bytes may come in: each piece has them read again from the
 * start, so a client that trickled them a byte at a time would make the harness's work grow with
 * the square of their length.
 */
export const MAX_FIRST_PIECES = 256;

/**
 * The most connections one job may have open through its way out at once, being read or relayed:
 * each holds harness memory (the first bytes, then a relay thread with its buffers) and fds that
 * the job's own caps do not count. One past it is closed as it is accepted, and counted.
 */
export const MAX_OPEN_CONNECTIONS = 256;

/** A job's side of the proxy: its rules, its record, and what is open for it. */
export interface ProxyJob {
  readonly rules: readonly AllowRule[];
  readonly connections: NetConnection[];
  truncated: number;
  /** Sockets still in JavaScript's hands (before their relay): ended with the job. */
  readonly open: Set<net.Socket>;
  /** The job's connections in JavaScript's hands: with `relays`, what MAX_OPEN_CONNECTIONS holds. */
  readonly clients: Set<net.Socket>;
  /** Connections closed as they were accepted, MAX_OPEN_CONNECTIONS being open. */
  overLimit: number;
  /** Relays running, each settled once its counts are in the record. */
  readonly relays: Set<Promise<void>>;
  /** Ends the job's relays. */
  readonly stop: StopPipe;
}

function record(job: ProxyJob, entry: NetConnection): NetConnection {
  if (job.connections.length < MAX_CONNECTIONS) job.connections.push(entry);
  else job.truncated++;
  return entry;
}

function track(job: ProxyJob, socket: net.Socket): void {
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

/** Answers `status` and closes, reading (and dropping) what the client still sends so it sees the answer. */
function refuse(socket: net.Socket, status: string, why: string): void {
  socket.removeAllListeners('data');
  socket.on('end', () => socket.destroy());
  socket.resume();
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nringfence: ${why}\n`,
  );
}

/**
 * The relay takes over `client` and `upstream`; their counts go into `entry` when it ends.
 * `upstreamRead`: bytes JavaScript had already read from the upstream (they are in `toClient`).
 */
function relay(
  job: ProxyJob,
  entry: NetConnection,
  client: net.Socket,
  upstream: net.Socket,
  toUp: Buffer[],
  toClient: Buffer[],
): void {
  // a side that went while the proxy looked: nothing to relay, and nothing failed on the way
  if (client.destroyed || upstream.destroyed) {
    client.destroy();
    upstream.destroy();
    return;
  }
  toUp.push(stopReading(client));
  toClient.push(stopReading(upstream));
  const upstreamRead = toClient.reduce((n, b) => n + b.length, 0);
  let counts;
  try {
    counts = handOff(client, upstream, job.stop, Buffer.concat(toUp), Buffer.concat(toClient));
    // counted as a relay from now on, not twice until its socket's 'close' comes
    job.clients.delete(client);
  } catch (error) {
    entry.error = `relay: ${error instanceof Error ? error.message : String(error)}`;
    client.destroy();
    upstream.destroy();
    return;
  }
  const done = counts.then((c) => {
    entry.bytesOut = c.bytesOut;
    entry.bytesIn = upstreamRead + c.bytesIn;
    job.relays.delete(done);
  });
  job.relays.add(done);
}

/** An upstream connection for an admitted entry; `onConnected` runs once it is up. */
function connectUpstream(
  job: ProxyJob,
  entry: NetConnection,
  client: net.Socket,
  onConnected: (upstream: net.Socket) => void,
): void {
  const upstream = net.connect({
    host: entry.host,
    port: entry.port,
    allowHalfOpen: true,
    lookup: guardedLookup,
  });
  let connected = false;
  track(job, upstream);
  upstream.once('error', (error: NodeJS.ErrnoException) => {
    if (!connected && !client.destroyed) {
      entry.error = error.code ?? error.message;
      refuse(client, '502 Bad Gateway', `${entry.host}:${entry.port}: ${entry.error}`);
    } else client.destroy();
  });
  upstream.once('connect', () => {
    connected = true;
    onConnected(upstream);
  });
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => {
    if (connected) client.destroy();
  });
}

/**
 * A CONNECT: admitted by its authority, then by the name its first bytes ask for — a ClientHello's
 * TLS name, or a plain HTTP request's Host (that request then told to close the connection after
 * its answer) — the upstream gets nothing from the client before both.
 */
function onConnect(job: ProxyJob, client: net.Socket, head: RequestHead): void {
  const target = authority(head.target);
  if (!target) return refuse(client, '400 Bad Request', 'CONNECT wants host:port');
  const entry = record(job, { ...target, via: 'connect', allowed: false, bytesOut: 0, bytesIn: 0 });
  if (!allowed(job.rules, target.host, target.port))
    return refuse(client, '403 Forbidden', `${target.host}:${target.port} is not on the allow-list`);
  entry.allowed = true;
  const fromClient: Buffer[] = head.rest.length > 0 ? [head.rest] : [];
  let heldFromClient = head.rest.length;
  let pieces = 0;
  const fromUpstream: Buffer[] = [];
  let heldFromUpstream = 0;
  let ended = false;
  let upstreamEnded = false;
  let ready = false;
  let decided = false;
  let upstream: net.Socket | null = null;
  const deny = (why: string): void => {
    decided = true;
    entry.allowed = false;
    entry.reason = why;
    client.destroy();
    upstream?.destroy();
  };
  const decide = (): void => {
    if (!ready || decided || !upstream) return;
    const first = Buffer.concat(fromClient);
    const hello = readClientHello(first);
    if (hello.kind === 'more') {
      // nothing from the client: a server that speaks first (no TLS server does) or a client that left
      if (first.length === 0 && fromUpstream.length === 0 && !ended && !upstreamEnded) return;
      // the rest of the hello is waited for (what the upstream sends meanwhile is capped, below)
      if (first.length > 0 && !ended) return;
      if (first.length > 0) return deny('the client left inside its TLS ClientHello');
    } else if (hello.kind === 'malformed') return deny(`TLS: ${hello.why}`);
    else if (hello.kind === 'hello' && hello.name !== null) {
      entry.tlsName = hello.name;
      if (!allowed(job.rules, hello.name, target.port))
        return deny(`TLS name ${hello.name} is not on the allow-list for port ${target.port}`);
    } else if (hello.kind === 'not-tls') {
      const request = readTunnelRequest(first);
      if (request.kind === 'more') {
        // no HTTP server speaks first: where this one did, no Host of the client's chooses a site
        if (fromUpstream.length === 0 && !upstreamEnded)
          return ended ? deny('the client left inside its HTTP request head') : undefined;
      } else if (request.kind === 'malformed') return deny(`HTTP: ${request.why}`);
      else if (request.kind === 'request') {
        const refused = request.hosts.find((host) => !allowed(job.rules, host, target.port));
        entry.httpHost = refused ?? request.hosts[0];
        if (refused !== undefined)
          return deny(`HTTP Host ${refused} is not on the allow-list for port ${target.port}`);
        fromClient.splice(
          0,
          fromClient.length,
          closingHead(request.head, request.upgrade),
          request.head.rest,
        );
      }
    }
    decided = true;
    client.removeAllListeners('data');
    upstream.removeAllListeners('data');
    relay(job, entry, client, upstream, fromClient, fromUpstream);
  };
  client.on('data', (chunk: Buffer) => {
    fromClient.push(chunk);
    heldFromClient += chunk.length;
    if (++pieces > MAX_FIRST_PIECES)
      return deny(`the client sent its first bytes in over ${MAX_FIRST_PIECES} pieces`);
    if (heldFromClient > MAX_HELD_FROM_CLIENT) client.pause();
    decide();
  });
  client.once('end', () => {
    ended = true;
    decide();
  });
  connectUpstream(job, entry, client, (connected) => {
    upstream = connected;
    // held until the tunnel is decided, whether the `200` has reached the client yet or not
    connected.on('data', (chunk: Buffer) => {
      fromUpstream.push(chunk);
      heldFromUpstream += chunk.length;
      if (heldFromUpstream <= MAX_HELD_FROM_UPSTREAM) return decide();
      const before =
        fromClient.length === 0
          ? 'the tunnel was set up'
          : fromClient[0]?.[0] === TLS_HANDSHAKE
            ? "the client's TLS ClientHello ended"
            : "the client's HTTP request head ended";
      deny(`the server sent over ${MAX_HELD_FROM_UPSTREAM / 1024} KiB before ${before}`);
    });
    connected.once('end', () => {
      upstreamEnded = true;
      decide();
    });
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n', () => {
      ready = true;
      decide();
    });
  });
}

/** A plain http:// request: its head rewritten for the upstream, then the connection is a tunnel to it. */
function onRequest(job: ProxyJob, client: net.Socket, head: RequestHead): void {
  const hosts = headerValues(head, 'host');
  let url: URL;
  try {
    // absolute-form, as a client sends its proxy; origin-form (someone talking to us as a server) by Host
    if (head.target.startsWith('/') && hosts.length !== 1) throw new Error('no Host');
    url = new URL(head.target.startsWith('/') ? `http://${hosts[0] ?? ''}${head.target}` : head.target);
  } catch {
    return refuse(client, '400 Bad Request', 'not a proxy request');
  }
  if (url.protocol !== 'http:')
    return refuse(client, '400 Bad Request', 'only http:// here; https goes through CONNECT');
  const host = normalHost(url.hostname);
  const port = Number(url.port || 80);
  const entry = record(job, { host, port, via: 'http', allowed: false, bytesOut: 0, bytesIn: 0 });
  if (!allowed(job.rules, host, port))
    return refuse(client, '403 Forbidden', `${host}:${port} is not on the allow-list`);
  entry.allowed = true;
  // what follows the head waits in Node's buffer or the kernel, for the relay (stopReading)
  client.pause();
  connectUpstream(job, entry, client, (upstream) =>
    relay(job, entry, client, upstream, [upstreamHead(head, url), head.rest], []),
  );
}

/** A connection accepted for `job`: its request head, then CONNECT or a plain request. */
function onSocket(job: ProxyJob, client: net.Socket): void {
  if (job.clients.size + job.relays.size >= MAX_OPEN_CONNECTIONS) {
    job.overLimit++;
    client.destroy();
    return;
  }
  job.clients.add(client);
  client.once('close', () => job.clients.delete(client));
  track(job, client);
  // a job that resets its end must not take the harness down
  client.on('error', () => client.destroy());
  // a client that ends before its head is whole sends no more (a port check, a client giving up):
  // half-open (as tunnels are) it would hold its place under MAX_OPEN_CONNECTIONS until the job ends
  const endedEarly = (): void => void client.destroy();
  client.once('end', endedEarly);
  let data: Buffer = Buffer.alloc(0);
  client.on('data', (chunk: Buffer) => {
    data = data.length ? Buffer.concat([data, chunk]) : chunk;
    const head = readHead(data);
    if (head === null) return;
    client.off('end', endedEarly);
    client.removeAllListeners('data');
    if ('error' in head) return refuse(client, head.status, head.error);
    if (head.method === 'CONNECT') onConnect(job, client, head);
    else onRequest(job, client, head);
  });
}

/** A job's way out: `listenFd` (a listening socket in its namespace) feeds the proxy. */
export interface Attached {
  readonly job: ProxyJob;
  /** Stops accepting, ends what is still open for the job; the record is final once this resolves. */
  detach(): Promise<void>;
}

export function attach(listenFd: number, rules: readonly AllowRule[]): Attached {
  const job: ProxyJob = {
    rules,
    connections: [],
    truncated: 0,
    open: new Set(),
    clients: new Set(),
    overLimit: 0,
    relays: new Set(),
    stop: stopPipe(),
  };
  // half-closes go through a tunnel as they are: the relay passes each on
  const listener = net.createServer({ allowHalfOpen: true }, (socket) => onSocket(job, socket));
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
        job.stop.stop();
        // every socket's 'close' has run, every relay has reported, before the record is read
        const open = [...job.open];
        const closed = open.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.closed) resolve();
              else socket.once('close', () => resolve());
            }),
        );
        for (const socket of open) socket.destroy();
        await Promise.all([stopped, ...closed, ...job.relays]);
      })()),
  };
}
