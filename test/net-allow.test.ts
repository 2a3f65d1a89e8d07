// The allow-list's entries (harness/net/allow.ts), the network report's forms (reporters/net.ts)
// and compare's new-host flag: parsing and pure functions, no job. What the list lets a real job
// reach is test/sandbox/network-allow.test.ts and test/adversarial/network-allow.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../harness/manifest/load.js';
import type { JobNetwork } from '../harness/job/result.js';
import { resolveJobSpec } from '../harness/job/spec.js';
import { InputError } from '../harness/job/units.js';
import { allowed, formatAllowRule, parseAllowRule, type AllowRule } from '../harness/net/allow.js';
import { netFigures, netLine, netText } from '../reporters/net.js';
import { innerAddress } from '../harness/net/resolve.js';
import { compareSides } from '../reporters/compare/model.js';
import type { Run, Side } from '../reporters/compare/runs.js';

function rules(...entries: string[]): AllowRule[] {
  return entries.map((entry) => {
    const rule = parseAllowRule(entry);
    if (typeof rule === 'string') throw new Error(rule);
    return rule;
  });
}

describe('allow-list entries', () => {
  it('parses names, wildcards, addresses and ports', () => {
    expect(
      rules('Registry.NPMjs.org.', '*.example.com:8443', '10.0.0.1:*', '[::1]:80').map(formatAllowRule),
    ).toEqual(['registry.npmjs.org', '*.example.com:8443', '10.0.0.1:*', '[::1]:80']);
  });

  it('refuses what is no host or port', () => {
    for (const bad of ['', 'a b', 'host:0', 'host:70000', 'host:x', '*.', 'a..b', '-a.com', 'a:1:2:zz'])
      expect(typeof parseAllowRule(bad), bad).toBe('string');
  });

  it('matches a wildcard below its name only, and a portless entry on 80 and 443 only', () => {
    const list = rules('*.example.com', 'api.test:8080', '127.0.0.2:*');
    expect(allowed(list, 'a.example.com', 443)).toBe(true);
    expect(allowed(list, 'a.b.example.com', 80)).toBe(true);
    expect(allowed(list, 'example.com', 443)).toBe(false);
    expect(allowed(list, 'evilexample.com', 443)).toBe(false);
    expect(allowed(list, 'a.example.com', 22)).toBe(false);
    expect(allowed(list, 'api.test', 8080)).toBe(true);
    expect(allowed(list, 'api.test', 443)).toBe(false);
    expect(allowed(list, '127.0.0.2', 1)).toBe(true);
    expect(allowed(list, '127.0.0.1', 80)).toBe(false);
  });

  it('takes the CLI text and the object form, refusing a bad entry naming network', () => {
    expect(
      resolveJobSpec({ command: ['true'], network: 'allow:a.test,b.test:81' }).allow.map(formatAllowRule),
    ).toEqual(['a.test', 'b.test:81']);
    const spec = resolveJobSpec({ command: ['true'], network: { allow: ['*.a.test'] } });
    expect([spec.network, spec.allow.map(formatAllowRule)]).toEqual(['allow', ['*.a.test']]);
    expect(() => resolveJobSpec({ command: ['true'], network: 'allow:bad host' })).toThrow(InputError);
    expect(() => resolveJobSpec({ command: ['true'], network: 'allowed' as never })).toThrow(/network/);
  });
});

describe('the manifest form', () => {
  it('takes network: { allow: [...] } and refuses another shape', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-net-manifest-'));
    try {
      const file = path.join(dir, 'ci.yml');
      fs.writeFileSync(
        file,
        'jobs:\n  - name: a\n    command: "true"\n    network: { allow: [a.test, "b.test:81"] }\n',
      );
      const spec = resolveJobSpec(loadManifest(file).jobs[0]!.spec);
      expect(spec.allow.map(formatAllowRule)).toEqual(['a.test', 'b.test:81']);
      fs.writeFileSync(file, 'jobs:\n  - name: a\n    command: "true"\n    network: { allow: a.test }\n');
      expect(() => loadManifest(file)).toThrow(/network/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const NETWORK: JobNetwork = {
  mode: 'allow',
  allow: ['registry.test'],
  connections: [
    { host: 'registry.test', port: 443, via: 'connect', allowed: true, bytesOut: 10, bytesIn: 100 },
    { host: 'registry.test', port: 443, via: 'connect', allowed: true, bytesOut: 5, bytesIn: 50 },
    { host: 'cdn.test', port: 80, via: 'http', allowed: true, bytesOut: 0, bytesIn: 7 },
    { host: 'evil.example', port: 443, via: 'connect', allowed: false, bytesOut: 0, bytesIn: 0 },
  ],
  truncated: 0,
};

describe('the network report', () => {
  it("says run's line, the JUnit figures and system-out", () => {
    expect(netLine(NETWORK)).toBe('reached 2 hosts, refused 1: evil.example:443');
    expect(netLine({ ...NETWORK, connections: [] })).toBeNull();
    // a tunnel refused for its TLS name is said by that name; JUnit and compare keep host:port
    const fronted = { ...NETWORK.connections[3]!, host: '10.0.0.7', tlsName: 'evil.example' };
    const named = { ...NETWORK, connections: [...NETWORK.connections.slice(0, 3), fronted] };
    expect(netLine(named)).toBe('reached 2 hosts, refused 1: evil.example (TLS name) via 10.0.0.7:443');
    expect(Object.fromEntries(netFigures(named))['net.refused_hosts']).toBe('10.0.0.7:443');
    // and one refused for its request's Host by that Host; an allowed one's Host says nothing here
    const reason = 'HTTP Host evil.example is not on the allow-list for port 80';
    const byHost = { ...fronted, port: 80, tlsName: undefined, httpHost: 'evil.example', reason };
    const hosted = { ...NETWORK, connections: [...NETWORK.connections.slice(0, 3), byHost] };
    expect(netLine(hosted)).toBe('reached 2 hosts, refused 1: evil.example (HTTP Host) via 10.0.0.7:80');
    const allowedHost = { ...NETWORK.connections[0]!, httpHost: 'registry.test' };
    expect(netLine({ ...NETWORK, connections: [allowedHost, ...NETWORK.connections.slice(1)] })).toBe(
      netLine(NETWORK),
    );
    expect(Object.fromEntries(netFigures(NETWORK))).toMatchObject({
      'net.reached': 2,
      'net.refused': 1,
      'net.bytes_out': 15,
      'net.bytes_in': 157,
      'net.refused_hosts': 'evil.example:443',
    });
    expect(netText(NETWORK)).toContain('refused  connect evil.example:443 out 0 B, in 0 B');
    expect(Object.keys(Object.fromEntries(netFigures(NETWORK)))).not.toContain('net.over_limit');
  });

  it('says the connections closed unread at the limit, alone or beside the rest', () => {
    const over = { ...NETWORK, overLimit: 44 };
    expect(netLine(over)).toBe(
      'reached 2 hosts, refused 1: evil.example:443, closed 44 connections unread: too many open at once',
    );
    expect(Object.fromEntries(netFigures(over))['net.over_limit']).toBe(44);
    expect(netText(over)?.split('\n').at(-1)).toBe('and closed 44 connections unread: too many open at once');
    const only = { ...NETWORK, connections: [], overLimit: 1 };
    expect(netLine(only)).toBe('reached 0 hosts, closed 1 connection unread: too many open at once');
    expect(netText(only)).toBe('--- ringfence: closed 1 connection unread: too many open at once ---');
  });

  it('compare flags a host no base run tried', () => {
    const run = (label: string, hosts: string[] | null): Run => ({
      label,
      file: label,
      samples: [
        {
          suite: 's',
          id: 'job',
          outcome: 'passed',
          metrics: { cpu: 1, wall: 1, memory: 1, pids: 1, io: 0, disk: null },
          written: 0,
          writtenPaths: [],
          hosts,
        },
      ],
    });
    const side = (...runs: Run[]): Side => ({ files: runs.map((r) => r.file), runs });
    const c = compareSides(
      side(run('b', ['registry.test:443'])),
      side(run('h', ['registry.test:443', 'evil.example:443'])),
    );
    expect(c.startedReaching).toEqual([{ key: 'job', hosts: ['evil.example:443'] }]);
    const unwatched = compareSides(side(run('b', null)), side(run('h', ['evil.example:443'])));
    expect(unwatched.startedReaching).toEqual([]);
  });
});

describe('the addresses an allowed name may not resolve to', () => {
  it("are the host's own, link-local and multicast ones, in both families and IPv4-mapped", () => {
    const inner = [
      '127.0.0.1',
      '127.1.2.3',
      '0.0.0.0',
      '169.254.169.254',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
    ];
    const outer = [
      '10.0.0.1',
      '192.168.1.1',
      '93.184.216.34',
      '169.253.0.1',
      '2606:2800:220:1::1',
      'fd00::1',
      '::ffff:10.0.0.1',
    ];
    expect(inner.filter((a) => !innerAddress(a))).toEqual([]);
    expect(outer.filter((a) => innerAddress(a))).toEqual([]);
  });
});
