// The host a plain HTTP/1 request names when it is the first thing a client sends through an
// admitted CONNECT (`curl -p http://…`, a tool that tunnels everything), so the proxy holds that
// name to the allow-list as it holds a ClientHello's (proxy.ts): an allowed address that serves many
// sites by their Host (a CDN on port 80) would otherwise front for every one of them. Bytes that
// cannot begin an HTTP/1 request line are not HTTP and are decided at once, so a binary protocol
// whose client speaks first is never held up. Pure functions of the bytes: unit-tested alone.
import { normalHost } from './allow.js';
import { MAX_HEAD_BYTES, headerValues, readHead, type RequestHead } from './head.js';

/** What the first bytes of a tunnel are, read as HTTP/1. */
export type TunnelRequest =
  /** A request line so far: wait for the rest of the head. */
  | { kind: 'more' }
  /** Cannot be an HTTP/1 request: nothing to check. */
  | { kind: 'not-http' }
  /** An HTTP/1 request whose head cannot be read, or names no single host: refused. */
  | { kind: 'malformed'; why: string }
  /**
   * A request head; `hosts`: every name it gives its host by (the Host header's, an absolute-form
   * target's), lowercase; `upgrade`: it asks to switch protocols (a WebSocket).
   */
  | { kind: 'request'; head: RequestHead; hosts: string[]; upgrade: boolean };

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
/** A token, blanks, and `HTTP/` further on: what some server or other would read as a request line. */
const LOOSE_REQUEST_LINE = new RegExp(`^${TOKEN}+[ \\t].*http/`, 'i');

/**
 * Whether the first line can be an HTTP/1 request line, however loosely a server reads one — servers
 * differ in the blanks, case and line ends they accept, so anything one of them might serve is taken
 * for a request here (and then refused unless strictly well-formed). `line` holds no LF; `complete`:
 * an LF ended it. A line still coming can be one while it is a first word, or a word and blanks
 * followed by visible characters; a control byte (a NUL, as git's protocol sends) ends that hope.
 */
function mayBeHttp(line: string, complete: boolean): boolean {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const control = text.search(/[^\x20-\x7e\t]/);
  if (control >= 0) return LOOSE_REQUEST_LINE.test(text.slice(0, control));
  if (complete) return LOOSE_REQUEST_LINE.test(text);
  if (FIRST_WORD.test(text)) return text.length < MAX_METHOD;
  return WORD_AND_BLANK.test(text);
}

const FIRST_WORD = new RegExp(`^${TOKEN}*$`);
const WORD_AND_BLANK = new RegExp(`^${TOKEN}+[ \\t]`);

/** Longer than any method a server knows: a first word past it is no request's. */
const MAX_METHOD = 32;
/** CR, LF, space and tab: what may come before a request line, by one server or another. */
const BLANK = [0x0d, 0x0a, 0x20, 0x09];

/** `name` of a Host value or an absolute URL's authority, or null when it is none. */
function hostOf(authority: string): string | null {
  try {
    const url = new URL(`http://${authority}`);
    if (url.username || url.password || `${url.host}` === '' || url.pathname !== '/') return null;
    return normalHost(url.hostname);
  } catch {
    return null;
  }
}

/** Reads the first bytes of a tunnel as an HTTP/1 request, as far as they go. */
export function readTunnelRequest(data: Buffer): TunnelRequest {
  // servers skip empty lines (and some, blanks) before a request line: read past them, refuse them
  let from = 0;
  while (from < data.length && from < MAX_HEAD_BYTES && BLANK.includes(data[from] ?? 0)) from++;
  if (from === data.length) return from < MAX_HEAD_BYTES ? { kind: 'more' } : { kind: 'not-http' };
  const lf = data.indexOf(0x0a, from);
  const complete = lf >= 0 && lf < MAX_HEAD_BYTES;
  const line = data.toString('latin1', from, complete ? lf : Math.min(data.length, MAX_HEAD_BYTES));
  if (!mayBeHttp(line, complete)) return { kind: 'not-http' };
  if (from > 0) return { kind: 'malformed', why: 'blank lines before the request line' };
  if (/[^\x20-\x7e\t]/.test(line.endsWith('\r') ? line.slice(0, -1) : line))
    return { kind: 'malformed', why: 'a control byte in the request line' };
  if (complete && !line.endsWith('\r'))
    return { kind: 'malformed', why: 'a request line that ends in a bare LF' };
  const head = readHead(data);
  if (head === null) return { kind: 'more' };
  if ('error' in head) return { kind: 'malformed', why: head.error };
  const hosts: string[] = [];
  const values = headerValues(head, 'host');
  if (values.length !== 1) return { kind: 'malformed', why: 'a request in a tunnel names its Host once' };
  const named = hostOf(values[0] ?? '');
  if (named === null) return { kind: 'malformed', why: `a Host that names no host: ${values[0] ?? ''}` };
  hosts.push(named);
  // absolute-form: the server goes by the target's host, not the Host header (RFC 9112, 3.2.2)
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(head.target);
  if (absolute) {
    const target = hostOf(absolute[1] ?? '');
    if (target === null) return { kind: 'malformed', why: `a target that names no host: ${head.target}` };
    if (target !== named) hosts.push(target);
  }
  return { kind: 'request', head, hosts, upgrade: headerValues(head, 'upgrade').length > 0 };
}
