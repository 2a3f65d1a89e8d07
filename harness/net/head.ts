// The one HTTP/1 request head the proxy reads on each connection (proxy.ts): CONNECT's, or a plain
// http:// request's, which it rewrites for the upstream with `Connection: close` — after the head
// the connection is a tunnel to that one upstream (native/spawn/relay.c), so the client must not send
// it a second request for another host; and the first request inside a tunnel (http-name.ts reads
// it), told to close the connection after its answer. Strict on purpose: what cannot be read is refused, never
// guessed at. Pure functions of the bytes: unit-tested alone.

/** The most bytes a request head may take. */
export const MAX_HEAD_BYTES = 64 * 1024;

export interface RequestHead {
  method: string;
  target: string;
  version: string;
  /** In order, names as sent. */
  headers: [string, string][];
  /** The bytes after the head (a body, or a tunnel's first bytes). */
  rest: Buffer;
}

export type HeadRead = RequestHead | { error: string; status: string } | null;

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) (HTTP\/1\.[01])$/;
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*$/;
const END = Buffer.from('\r\n\r\n');

/** Whether `line` (no CRLF) is a strict HTTP/1 request line. */
export function isRequestLine(line: string): boolean {
  return REQUEST_LINE.test(line);
}

/** Reads the head at the start of `data`: null while it is incomplete. */
export function readHead(data: Buffer): HeadRead {
  const end = data.indexOf(END);
  if (end < 0)
    return data.length >= MAX_HEAD_BYTES
      ? { error: 'request head too large', status: '431 Request Header Fields Too Large' }
      : null;
  const bad = (why: string): HeadRead => ({ error: why, status: '400 Bad Request' });
  const text = data.toString('latin1', 0, end);
  if (/[\0\n\r]/.test(text.replace(/\r\n/g, ''))) return bad('a bare CR, LF or NUL in the request head');
  const [line = '', ...lines] = text.split('\r\n');
  const request = REQUEST_LINE.exec(line);
  if (!request) return bad('not an HTTP/1 request line');
  const headers: [string, string][] = [];
  for (const header of lines) {
    const m = HEADER.exec(header);
    if (!m) return bad('a malformed header line');
    headers.push([m[1] ?? '', m[2] ?? '']);
  }
  return {
    method: request[1] ?? '',
    target: request[2] ?? '',
    version: request[3] ?? '',
    headers,
    rest: data.subarray(end + END.length),
  };
}

/** The values of header `name` (any case). */
export function headerValues(head: RequestHead, name: string): string[] {
  const lower = name.toLowerCase();
  return head.headers.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
}

/** Headers about the client's connection to the proxy, not for the upstream. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'upgrade',
  'host',
]);

/**
 * The head the upstream gets for a plain request to `url`: origin-form, Host from the URL (the name
 * the allow-list admitted, whatever Host the client wrote), the client's end-to-end headers (its
 * body's framing included: the body goes on unchanged), and `Connection: close`.
 */
export function upstreamHead(head: RequestHead, url: URL): Buffer {
  // what Connection names goes too — but never the body's framing, which the upstream reads it by
  const named = new Set(
    headerValues(head, 'connection')
      .flatMap((value) => value.split(',').map((n) => n.trim().toLowerCase()))
      .filter((n) => n !== 'content-length' && n !== 'transfer-encoding'),
  );
  const lines = [`${head.method} ${url.pathname}${url.search} ${head.version}`, `Host: ${url.host}`];
  for (const [key, value] of head.headers) {
    const lower = key.toLowerCase();
    if (!HOP_BY_HOP.has(lower) && !named.has(lower)) lines.push(`${key}: ${value}`);
  }
  lines.push('Connection: close', '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/**
 * The head of a request sent inside a tunnel, as the client wrote it but for its connection: told
 * to close after this one answer, so the server serves no second request on it — whose Host nobody
 * read. `Connection: close` stands alone (a server may compare the whole value), or beside
 * `Upgrade` for a WebSocket (`upgrade`: http-name.ts let one through); whatever else the client's Connection named is dropped with it.
 */
export function closingHead(head: RequestHead, upgrade: boolean): Buffer {
  const lines = [`${head.method} ${head.target} ${head.version}`];
  for (const [key, value] of head.headers)
    if (!/^(connection|keep-alive|proxy-connection)$/i.test(key)) lines.push(`${key}: ${value}`);
  lines.push(`Connection: ${upgrade ? 'Upgrade, close' : 'close'}`, '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
