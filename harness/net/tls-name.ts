// The name a TLS client asks for (SNI), read from the first bytes it sends through an admitted
// CONNECT, so the proxy can hold that name to the allow-list too (proxy.ts): otherwise an allowed
// address that serves many names (a CDN) would front for every one of them. Pure functions of the
// bytes: unit-tested from captured ClientHellos. No npm parser is well kept enough to be trusted here.

/** What the first bytes of a tunnel are. */
export type ClientHello =
  /** Not yet enough bytes to say. */
  | { kind: 'more' }
  /** Not a TLS handshake: nothing to check. */
  | { kind: 'not-tls' }
  /** Claims to be TLS but cannot be read: refused. */
  | { kind: 'malformed'; why: string }
  /** A ClientHello; `name` is its SNI host name (lowercase), null when it sends none. */
  | { kind: 'hello'; name: string | null };

/** The most bytes a ClientHello may take (several records): beyond it, it is refused. */
export const MAX_HELLO_BYTES = 64 * 1024;

/** A TLS record's first byte when it carries a handshake (a ClientHello's). */
export const TLS_HANDSHAKE = 0x16;
const HANDSHAKE = TLS_HANDSHAKE;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
/** encrypted_client_hello: the name the server acts on is hidden inside. */
const EXT_ECH = 0xfe0d;
const HOST_NAME = 0;
const MAX_RECORD = 16384 + 2048;
const NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/** The handshake bytes of the leading handshake records, or why there are none (yet). */
function handshakeBytes(data: Buffer): Buffer | ClientHello {
  const parts: Buffer[] = [];
  let at = 0;
  let total = 0;
  let need = -1;
  while (at + 5 <= data.length) {
    if (data[at] !== HANDSHAKE)
      return { kind: 'malformed', why: 'a non-handshake record inside the ClientHello' };
    if (data[at + 1] !== 3) return { kind: 'malformed', why: 'not a TLS record version' };
    const length = data.readUInt16BE(at + 3);
    if (length === 0 || length > MAX_RECORD) return { kind: 'malformed', why: 'a bad record length' };
    if (at + 5 + length > data.length) break;
    parts.push(data.subarray(at + 5, at + 5 + length));
    total += length;
    at += 5 + length;
    if (need < 0 && total >= 4) {
      const first = Buffer.concat(parts);
      if (first[0] !== CLIENT_HELLO)
        return { kind: 'malformed', why: 'the first handshake is no ClientHello' };
      need = 4 + first.readUIntBE(1, 3);
    }
    if (need >= 0 && total >= need) return Buffer.concat(parts).subarray(0, need);
  }
  return { kind: 'more' };
}

/** Reads `data` (what the client sent first) as a TLS ClientHello. */
export function readClientHello(data: Buffer): ClientHello {
  if (data.length === 0) return { kind: 'more' };
  if (data[0] !== HANDSHAKE) return { kind: 'not-tls' };
  const hello = handshakeBytes(data);
  if (!Buffer.isBuffer(hello)) {
    if (hello.kind === 'more' && data.length >= MAX_HELLO_BYTES)
      return { kind: 'malformed', why: `a ClientHello over ${MAX_HELLO_BYTES} bytes` };
    return hello;
  }
  const bad = (why: string): ClientHello => ({ kind: 'malformed', why });
  // type (1), length (3), version (2), random (32), then the variable-length fields
  let at = 4 + 2 + 32;
  const skip = (lengthBytes: number): boolean => {
    if (at + lengthBytes > hello.length) return false;
    at += lengthBytes + hello.readUIntBE(at, lengthBytes);
    return at <= hello.length;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return bad('a truncated ClientHello');
  if (at === hello.length) return { kind: 'hello', name: null };
  if (at + 2 > hello.length) return bad('a truncated extension list');
  const end = at + 2 + hello.readUInt16BE(at);
  if (end !== hello.length) return bad('an extension list of the wrong length');
  at += 2;
  let name: string | null = null;
  let seen = false;
  while (at < end) {
    if (at + 4 > end) return bad('a truncated extension');
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    const body = hello.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    if (at > end) return bad('a truncated extension');
    if (type === EXT_ECH) return bad('an encrypted ClientHello hides the name it asks for');
    if (type !== EXT_SERVER_NAME) continue;
    if (seen) return bad('two server_name extensions');
    seen = true;
    const read = serverName(body);
    if (typeof read !== 'string') return bad(read.why);
    name = read;
  }
  return { kind: 'hello', name };
}

/** The one host_name of a server_name extension's body. */
function serverName(body: Buffer): string | { why: string } {
  if (body.length < 2 || body.readUInt16BE(0) !== body.length - 2) return { why: 'a bad server_name list' };
  let at = 2;
  let name: string | null = null;
  while (at < body.length) {
    if (at + 3 > body.length) return { why: 'a bad server_name entry' };
    const type = body[at];
    const length = body.readUInt16BE(at + 1);
    if (at + 3 + length > body.length) return { why: 'a bad server_name entry' };
    const value = body.toString('latin1', at + 3, at + 3 + length);
    at += 3 + length;
    if (type !== HOST_NAME) continue;
    // RFC 6066: at most one name of a type — a server could act on either of two
    if (name !== null) return { why: 'two host names in server_name' };
    name = value.toLowerCase().replace(/\.$/, '');
    if (!NAME.test(name) || name.length > 253) return { why: 'a server name that is no host name' };
  }
  if (name === null) return { why: 'a server_name without a host name' };
  return name;
}
