// The proxy's readers of captured bytes: the TLS name in a ClientHello (harness/net/tls-name.ts),
// from hellos Node's own TLS client sends here, and the request head (harness/net/head.ts). Whether
// a refused name stops a real job is test/adversarial/network-allow.test.ts.
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { readHead, upstreamHead, type RequestHead } from '../harness/net/head.js';
import { readClientHello } from '../harness/net/tls-name.js';

/** The first bytes a TLS client sends to a server that never answers. */
async function capturedHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const first = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) => socket.once('data', (chunk: Buffer) => resolve(chunk))),
  );
  const client = tls.connect({ host: '127.0.0.1', port, ...options });
  client.on('error', () => undefined);
  const hello = await first;
  client.destroy();
  server.close();
  return hello;
}

/** `hello` re-cut into two handshake records, as a client may send a long one. */
function twoRecords(hello: Buffer): Buffer {
  const body = hello.subarray(5);
  const cut = 40;
  const record = (part: Buffer): Buffer =>
    Buffer.concat([Buffer.from([0x16, 3, 1, part.length >> 8, part.length & 0xff]), part]);
  return Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
}

describe('the TLS name of a ClientHello', () => {
  it('reads the SNI of a real ClientHello, whole or cut into records', async () => {
    const hello = await capturedHello({ servername: 'Registry.Example.' });
    expect(readClientHello(hello)).toEqual({ kind: 'hello', name: 'registry.example' });
    expect(readClientHello(twoRecords(hello))).toEqual({ kind: 'hello', name: 'registry.example' });
  });

  it('asks for more while the hello is cut short, and says when there is no name', async () => {
    const hello = await capturedHello({ servername: 'a.example' });
    for (const n of [1, 5, 40, hello.length - 1])
      expect(readClientHello(hello.subarray(0, n))).toEqual({ kind: 'more' });
    // Node sends no SNI to an address
    expect(readClientHello(await capturedHello({}))).toEqual({ kind: 'hello', name: null });
  });

  it('lets what is not TLS through, and refuses what claims to be TLS but is not readable', async () => {
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'not-tls' });
    expect(readClientHello(Buffer.from('SSH-2.0-x\r\n'))).toEqual({ kind: 'not-tls' });
    const hello = await capturedHello({ servername: 'a.example' });
    const notHello = Buffer.from(hello);
    notHello[5] = 2; // a ServerHello
    expect(readClientHello(notHello).kind).toBe('malformed');
    const badName = Buffer.from(hello);
    const at = badName.indexOf('a.example');
    badName[at + 1] = 0x00; // "a\0example"
    expect(readClientHello(badName)).toEqual({
      kind: 'malformed',
      why: 'a server name that is no host name',
    });
    // a ClientHello of 256 bytes begun, then an alert record
    const mixed = Buffer.from([0x16, 3, 1, 0, 4, 1, 0, 1, 0, 0x15, 3, 1, 0, 2, 1, 0]);
    expect(readClientHello(mixed)).toEqual({
      kind: 'malformed',
      why: 'a non-handshake record inside the ClientHello',
    });
  });

  it('refuses a hello whose server_name holds two host names, or an encrypted ClientHello', async () => {
    const hello = await capturedHello({ servername: 'a.example' });
    // server_name extension: type 0, length, list length, (type 0, length, "a.example")
    const ext = hello.indexOf(Buffer.from([0, 0, 0, 14, 0, 12, 0, 0, 9]));
    expect(ext).toBeGreaterThan(0);
    const twice = Buffer.from(hello);
    // the same bytes, now read as two names of 4 ("a.ex") and 2 ("le" after a type byte)
    twice.writeUInt16BE(4, ext + 7);
    twice.set([0, 0, 2], ext + 13);
    expect(readClientHello(twice)).toEqual({ kind: 'malformed', why: 'two host names in server_name' });
    const ech = Buffer.from(hello);
    ech.writeUInt16BE(0xfe0d, ext);
    expect(readClientHello(ech)).toEqual({
      kind: 'malformed',
      why: 'an encrypted ClientHello hides the name it asks for',
    });
  });
});

describe('the request head', () => {
  const head = (text: string): RequestHead => {
    const read = readHead(Buffer.from(text, 'latin1'));
    if (read === null || 'error' in read) throw new Error(`not read: ${JSON.stringify(read)}`);
    return read;
  };

  it('reads a CONNECT and keeps what follows the head', () => {
    const read = head('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n\x16\x03\x01');
    expect([read.method, read.target, read.version]).toEqual(['CONNECT', 'a.example:443', 'HTTP/1.1']);
    expect(read.rest).toEqual(Buffer.from([0x16, 3, 1]));
    expect(readHead(Buffer.from('CONNECT a.example:443 HTTP/1.1\r\n'))).toBeNull();
  });

  it('refuses what it cannot read', () => {
    for (const text of [
      'GET  / HTTP/1.1\r\n\r\n',
      'GET / HTTP/2\r\n\r\n',
      'GET / HTTP/1.1\r\nA b: c\r\n\r\n',
      'GET / HTTP/1.1\r\n folded\r\n\r\n',
      'GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n',
    ])
      expect(readHead(Buffer.from(text))).toMatchObject({ status: '400 Bad Request' });
    expect(readHead(Buffer.alloc(70 * 1024, 'a'))).toMatchObject({
      status: '431 Request Header Fields Too Large',
    });
  });

  it("rewrites a plain request for the upstream: its URL's Host, no hop-by-hop headers, Connection: close", () => {
    const read = head(
      'POST http://a.example:8080/p?q=1 HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: x\r\n' +
        'Connection: keep-alive, X-Hop, Content-Length\r\nX-Hop: 1\r\nContent-Length: 2\r\nAccept: */*\r\n\r\nhi',
    );
    expect(upstreamHead(read, new URL(read.target)).toString('latin1')).toBe(
      'POST /p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\nContent-Length: 2\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    );
    expect(read.rest.toString()).toBe('hi');
  });
});
