// The proxy's reader of a plain HTTP request sent first inside a tunnel (harness/net/http-name.ts)
// and the head it sends on in its place (closingHead, harness/net/head.ts), from captured bytes.
// Whether a refused Host stops a real job is test/adversarial/network-allow.test.ts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closingHead, readHead, type RequestHead } from '../harness/net/head.js';
import { readTunnelRequest } from '../harness/net/http-name.js';

const read = (text: string): ReturnType<typeof readTunnelRequest> =>
  readTunnelRequest(Buffer.from(text, 'latin1'));

describe('readTunnelRequest', () => {
  it('reads the Host of a request, and whether it asks for an upgrade', () => {
    expect(read('GET / HTTP/1.1\r\nHost: a.example\r\n\r\n')).toMatchObject({
      kind: 'request',
      hosts: ['a.example'],
      upgrade: false,
    });
    expect(
      read('GET /chat HTTP/1.1\r\nHost: EVIL.Example.:8080\r\nUpgrade: websocket\r\n\r\n'),
    ).toMatchObject({
      kind: 'request',
      hosts: ['evil.example'],
      upgrade: true,
    });
    expect(read('GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n')).toMatchObject({ hosts: ['::1'] });
  });

  it('holds an absolute-form target to the list too: the server goes by it, not by Host', () => {
    expect(read('GET http://evil.example/x HTTP/1.1\r\nHost: good.example\r\n\r\n')).toMatchObject({
      kind: 'request',
      hosts: ['good.example', 'evil.example'],
    });
    // and a CONNECT's authority, should the allowed host be a proxy itself
    expect(read('CONNECT evil.example:443 HTTP/1.1\r\nHost: good.example\r\n\r\n')).toMatchObject({
      kind: 'request',
      hosts: ['good.example', 'evil.example'],
    });
  });

  it('waits while the bytes can still be the start of a request', () => {
    // a first word alone is held too: it may become a request (so a protocol whose client sends
    // one word and waits for a silent server waits for good: docs/network.md)
    for (const partial of ['G', 'GET', 'GET ', 'GET / HTT', 'GET / HTTP/1.1\r\nHost: a', '\r\n', 'hello'])
      expect(read(partial), JSON.stringify(partial)).toEqual({ kind: 'more' });
  });

  it('lets bytes that cannot begin a request through at once: another protocol is not held up', () => {
    const others = [
      '\x00\x00\x00\x08\x04\xd2\x16\x2f', // PostgreSQL's SSLRequest
      '*1\r\n$4\r\nPING\r\n', // Redis
      'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n', // an SSH client's banner, complete
      'GET /\r\n', // HTTP/0.9 to a path: no Host to front with
      '0032git-upload-pack /project.git\0host=a.example\0', // git's protocol: a NUL, no line end
    ];
    for (const bytes of others) expect(read(bytes), JSON.stringify(bytes)).toEqual({ kind: 'not-http' });
    // an SSH banner cut before its line ends could still be a request: read on; and a first word of
    // any length (servers cap no method), sent apart from the rest of its line
    expect(read('SSH-2.0-OpenSSH_9.2p1 Deb')).toEqual({ kind: 'more' });
    expect(read('A'.repeat(33))).toEqual({ kind: 'more' });
    expect(read(`${'A'.repeat(33)} / HTTP/1.1\r\nHost: evil.example\r\n\r\n`)).toMatchObject({
      kind: 'request',
      hosts: ['evil.example'],
    });
  });

  it('refuses what one server or another would read as a request, unless strictly well-formed', () => {
    const loose = [
      'GET  / HTTP/1.1\r\nHost: evil.example\r\n\r\n', // two spaces (nginx skips them)
      'GET / HTTP/1.1\nHost: evil.example\n\n', // bare LFs
      '\r\nGET / HTTP/1.1\r\nHost: evil.example\r\n\r\n', // an empty line first (RFC 9112 lets servers skip it)
      ' GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.example\r\nHost: evil.example\r\n\r\n', // two Hosts
      'GET / HTTP/1.1\r\n\r\n', // none
      'GET / HTTP/1.1\r\nHost: a.example/x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: user@evil.example\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.example\r\n folded: on\r\n\r\n',
      'GET / HTTP/1.1\rHost: evil.example\r\r', // bare CRs
      'get / http/1.1\r\nHost: evil.example\r\n\r\n', // a version in lower case
      `GET /${'a'.repeat(70 * 1024)}`, // a head past the cap, never ended
      `${'\r\n'.repeat(32 * 1024)}GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n`, // blanks past the cap
      'GET /\xc3\xa9 HTTP/1.1\r\nHost: evil.example\r\n\r\n', // a byte over 0x7f (nginx, Go take it)
      'GET http://evil.example/\r\n', // HTTP/0.9 to an absolute URL: its host is the target's
      'GET / HTTP/1.1\r\nHost: evil.example,a.example\r\n\r\n', // a list (HAProxy splits it)
      'GET / HTTP/1.1\r\nHost: evil.example\t.a.example\r\n\r\n', // a tab (URL parsing drops it)
      'GET / HTTP/1.1\r\nHost: %65vil.example\r\n\r\n', // an escape (URL parsing decodes it)
      'GET / HTTP/1.1\r\nHost: a.example\r\nUpgrade: h2c\r\n\r\n', // h2c: streams for any host
    ];
    for (const bytes of loose) expect(read(bytes).kind, JSON.stringify(bytes.slice(0, 60))).toBe('malformed');
  });

  it('never throws on any bytes, and leaves what follows a head as it came', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (noise, after) => {
        readTunnelRequest(Buffer.from(noise));
        const request = readTunnelRequest(
          Buffer.concat([Buffer.from('PUT /x HTTP/1.1\r\nHost: a.example\r\n\r\n'), Buffer.from(after)]),
        );
        expect(request.kind).toBe('request');
        if (request.kind === 'request') expect([...request.head.rest]).toEqual([...after]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('closingHead', () => {
  const head = (text: string): RequestHead => {
    const read = readHead(Buffer.from(text, 'latin1'));
    if (read === null || 'error' in read) throw new Error('not a head');
    return read;
  };

  it('keeps the request as written but tells the server to close after its answer', () => {
    // `close` alone: a server may compare the whole value (Python's http.server does)
    const out = closingHead(
      head(
        'POST /x?y HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, x\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nhi',
      ),
      false,
    ).toString('latin1');
    expect(out).toBe(
      'POST /x?y HTTP/1.1\r\nHost: a.example\r\nContent-Length: 2\r\nConnection: close\r\n\r\n',
    );
  });

  it('keeps an upgrade asked for', () => {
    const out = closingHead(
      head('GET /chat HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
      true,
    ).toString('latin1');
    expect(out).toBe(
      'GET /chat HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n\r\n',
    );
  });
});
