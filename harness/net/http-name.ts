// The host a plain HTTP/1 request names when it is the first thing a client sends through an
// admitted CONNECT (`curl -p http://…`, a tool that tunnels everything), so the proxy holds that
// name to the allow-list as it holds a ClientHello's (proxy.ts): an allowed address that serves many
// sites by their Host (a CDN on port 80) would otherwise front for every one of them. Bytes that
// cannot begin an HTTP/1 request line are not HTTP and are decided at once, so a binary protocol
// whose client speaks first is never held up. Pure functions of the bytes: unit-tested alone.
import { normalHost } from './allow.js';
import { MAX_HEAD_BYTES, headerValues, isRequestLine, readHead, type RequestHead } from './head.js';

/** What the first bytes of a tunnel are, read as HTTP/1. */
export type TunnelRequest =
  /** A request line so far: wait for the rest of the head. */
  | { kind: 'more' }
  /** Cannot be an HTTP/1 request: nothing to check. */
  | { kind: 'not-http' }
  /** An HTTP/1 request whose head cannot be read, or names no single host: refused. */
  | { kind: 'malformed'; why: string }
  /**
   * A request head; `hosts`: every name it gives its host by (the Host header's, an absolute- or
   * authority-form target's), lowercase; `upgrade`: it asks to become a WebSocket.
   */
  | { kind: 'request'; head: RequestHead; hosts: string[]; upgrade: boolean };

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
/** A token, blanks, and `HTTP/` further on: what some server or other would read as a request line. */
const LOOSE_REQUEST_LINE = new RegExp(`^${TOKEN}+[ \\t].*http/`, 'i');
/** HTTP/0.9's `GET http://host/`: no version, and a target that names a host. */
const LOOSE_OLD_REQUEST = new RegExp(`^${TOKEN}+[ \\t]+[A-Za-z][A-Za-z0-9+.-]*://`);
const FIRST_WORD = new RegExp(`^${TOKEN}*$`);
const WORD_AND_BLANK = new RegExp(`^${TOKEN}+[ \\t]`);
/** C0 controls but the tab (and DEL): where no server reads a request line on. Bytes over 0x7f are text to some. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** What a strict request line may hold. */
const NOT_VISIBLE = /[^\x20-\x7e\t]/;
/** CR, LF, space and tab: what may come before a request line, by one server or another. */
const BLANK = [0x0d, 0x0a, 0x20, 0x09];

/**
 * Whether the first line can be an HTTP/1 request line, however loosely a server reads one — servers
 * differ in the blanks, case, bytes and line ends they accept, so anything one of them might serve
 * is taken for a request here (and then refused unless strictly well-formed). `line` holds no LF;
 * `complete`: an LF ended it. A line still coming can be one while it is a first word (of any
 * length: servers set none to a method) or a word and a blank; a control byte (a NUL, as git's
 * protocol sends) ends that hope unless what came before already reads as a request.
 */
function mayBeHttp(line: string, complete: boolean): boolean {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const control = text.search(CONTROL);
  const before = control >= 0 ? text.slice(0, control) : text;
  if (LOOSE_REQUEST_LINE.test(before) || LOOSE_OLD_REQUEST.test(before)) return true;
  if (control >= 0 || complete) return false;
  return FIRST_WORD.test(text) || WORD_AND_BLANK.test(text);
}

/**
 * A host as a Host header or a target's authority may name it, strictly: DNS labels (IPv4 too) or
 * a bracketed IPv6 address, and a port — no userinfo, escapes, commas or blanks a lenient parser
 * would read another way. Lowercase, trailing dot dropped; null when it is not one.
 */
const STRICT_HOST =
  /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function hostOf(authority: string): string | null {
  if (!STRICT_HOST.test(authority)) return null;
  const name = authority.startsWith('[')
    ? authority.slice(0, authority.indexOf(']') + 1)
    : authority.replace(/:\d+$/, '');
  return normalHost(name);
}

/** The name a request's target gives its host by: absolute-form's authority, CONNECT's. */
function targetAuthority(head: RequestHead): string | null {
  if (head.method === 'CONNECT') return head.target;
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(head.target)?.[1] ?? null;
}

/** Reads the first bytes of a tunnel as an HTTP/1 request, as far as they go. */
export function readTunnelRequest(data: Buffer): TunnelRequest {
  // servers skip empty lines (and some, blanks) before a request line: read past them, refuse them
  let from = 0;
  while (from < data.length && BLANK.includes(data[from] ?? 0)) from++;
  if (from >= MAX_HEAD_BYTES) return { kind: 'malformed', why: 'a request head too large' };
  if (from === data.length) return { kind: 'more' };
  const lf = data.indexOf(0x0a, from);
  const complete = lf >= 0 && lf < MAX_HEAD_BYTES;
  const line = data.toString('latin1', from, complete ? lf : Math.min(data.length, MAX_HEAD_BYTES));
  if (!mayBeHttp(line, complete)) return { kind: 'not-http' };
  if (from > 0) return { kind: 'malformed', why: 'blank lines before the request line' };
  if (NOT_VISIBLE.test(line.endsWith('\r') ? line.slice(0, -1) : line))
    return { kind: 'malformed', why: 'a byte no request line holds' };
  if (complete && !line.endsWith('\r'))
    return { kind: 'malformed', why: 'a request line that ends in a bare LF' };
  if (complete && !isRequestLine(line.slice(0, -1)))
    return { kind: 'malformed', why: 'not an HTTP/1 request line' };
  const head = readHead(data);
  if (head === null) return { kind: 'more' };
  if ('error' in head) return { kind: 'malformed', why: head.error };
  const values = headerValues(head, 'host');
  if (values.length !== 1) return { kind: 'malformed', why: 'a request in a tunnel names its Host once' };
  const named = hostOf(values[0] ?? '');
  if (named === null) return { kind: 'malformed', why: `a Host that names no host: ${values[0] ?? ''}` };
  const hosts = [named];
  // absolute-form: the server goes by the target's host, not the Host header (RFC 9112, 3.2.2)
  const authority = targetAuthority(head);
  if (authority !== null) {
    const target = hostOf(authority);
    if (target === null) return { kind: 'malformed', why: `a target that names no host: ${head.target}` };
    if (target !== named) hosts.push(target);
  }
  // after a `101` the bytes are the new protocol's: a WebSocket's frames name no host, h2c's streams do
  const upgrades = headerValues(head, 'upgrade').flatMap((v) => v.split(',').map((t) => t.trim()));
  if (upgrades.some((token) => !/^websocket$/i.test(token)))
    return { kind: 'malformed', why: `an upgrade to ${upgrades.join(', ')}: only websocket is let through` };
  return { kind: 'request', head, hosts, upgrade: upgrades.length > 0 };
}
