// pip through the allow-list's way out, unchanged: a job downloads a package from an index on an
// allowed host of the host's loopback, and an index on a host the list does not hold is refused
// and reported. The index is a real PEP 503 "simple" page beside a real wheel, built here with
// Python's zipfile; pip reads the proxy from the variables the job is given.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { HOST_ADDR, closeServers, listenOnHost } from '../support/net-servers.js';
import { describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers } from '../support/tally.js';
import { labelled, removeDir, tempDir } from '../adversarial/helpers.js';

const NAME = 'rf-pip-fixture';
const WHEEL = 'rf_pip_fixture-1.0-py3-none-any.whl';

/** A pure-Python wheel of one module, as a build backend would write it. */
function buildWheel(file: string): void {
  const script = `
import base64, hashlib, sys, zipfile
files = {
  'rf_pip_fixture/__init__.py': b"VALUE = 'fetched through the allow-list'\\n",
  'rf_pip_fixture-1.0.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: ${NAME}\\nVersion: 1.0\\n',
  'rf_pip_fixture-1.0.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: ringfence-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
record = ''
for name, data in files.items():
  digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
  record += f'{name},sha256={digest},{len(data)}\\n'
record += 'rf_pip_fixture-1.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(sys.argv[1], 'w') as z:
  for name, data in files.items(): z.writestr(name, data)
  z.writestr('rf_pip_fixture-1.0.dist-info/RECORD', record)
`;
  const out = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`building the wheel: ${out.stderr}`);
}

/** A PEP 503 index of the one wheel; records the paths asked for. */
function indexServer(wheel: Buffer, asked: string[]): http.Server {
  const sha = createHash('sha256').update(wheel).digest('hex');
  return http.createServer((req, res) => {
    asked.push(req.url ?? '');
    if (req.url === `/simple/${NAME}/`)
      return void res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!DOCTYPE html><html><body><a href="/files/${WHEEL}#sha256=${sha}">${WHEEL}</a></body></html>`);
    if (req.url === `/files/${WHEEL}`) return void res.writeHead(200).end(wheel);
    res.writeHead(404).end();
  });
}

describeSandbox('network: pip through the way out', () => {
  const asked: string[] = [];
  const askedElsewhere: string[] = [];
  let servers: http.Server[] = [];
  let ports = { allowed: 0, other: 0 };
  let dir = '';
  let wheel = Buffer.alloc(0);
  beforeAll(async () => {
    dir = tempDir('net-pip');
    const file = path.join(dir, 'built.whl');
    buildWheel(file);
    wheel = fs.readFileSync(file);
    fs.rmSync(file);
    servers = [indexServer(wheel, asked), indexServer(wheel, askedElsewhere)];
    ports = { allowed: await listenOnHost(servers[0]!), other: await listenOnHost(servers[1]!) };
  });
  afterAll(async () => {
    await closeServers(servers);
    removeDir(dir);
  });

  it('downloads from an allowed index, and an index elsewhere is refused and reported', async () => {
    const pip = (port: number, to: string): string =>
      `python3 -m pip download --no-deps --no-cache-dir --disable-pip-version-check -q -d ${to} --index-url http://${HOST_ADDR}:${port}/simple/ ${NAME}`;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `${pip(ports.allowed, 'got')} && echo "got $(ls got)"
         ${pip(ports.other, 'other')} >/dev/null 2>&1; echo "other exit=$?"`,
      ],
      workdir: dir,
      network: { allow: [`${HOST_ADDR}:${ports.allowed}`] },
      timeout: '120s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(labelled(result.stdout)).toEqual({ got: WHEEL, other: 'exit=1' });
    expect(fs.readFileSync(path.join(dir, 'got', WHEEL)).equals(wheel)).toBe(true);
    expect(asked).toEqual([`/simple/${NAME}/`, `/files/${WHEEL}`]);
    expect(askedElsewhere).toEqual([]);
    const connections = result.network?.connections ?? [];
    expect(connections.filter((c) => c.allowed).every((c) => c.port === ports.allowed)).toBe(true);
    expect(connections.filter((c) => !c.allowed).map((c) => c.port)).toContain(ports.other);
    await expectNoLeftovers();
  }, 180_000);
});
