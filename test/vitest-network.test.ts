// The Vitest pool with `network: { allow: [...] }`, end to end: a project of its own
// (fixtures/vitest-demo/network) whose test files fetch through their sandbox's proxy from a real
// HTTP server on the host's loopback (allowed: answered) and ask for another server's port (refused,
// and that server never sees the request), and the reporter's JSON and JUnit list each file's
// connections under ringfence.<file>.net.*.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunReport } from '../reporters/types.js';
import { makeProject } from './support/project.js';
import { JUNIT_XSD, NO_LEFTOVERS, describeSandbox, leftovers } from './support/sandbox.js';
import { DEMO, cleanEnv } from './support/vitest.js';

/** A server on the host's 127.0.0.1 that answers every request with `body` and counts them. */
async function hostServer(
  body: string,
): Promise<{ port: number; served: () => number; close: () => Promise<void> }> {
  let served = 0;
  const server = http.createServer((_req, res) => {
    served++;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    served: () => served,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `vitest run` in `project`, in a child that leaves this process's event loop free to serve. */
function vitestIn(
  project: string,
  env: Record<string, string>,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(project, 'node_modules', '.bin', 'vitest'), 'run'], {
      cwd: project,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (status) => resolve({ status, output }));
  });
}

describeSandbox('the Vitest pool with an allow-list', () => {
  let allowed: Awaited<ReturnType<typeof hostServer>>;
  let other: Awaited<ReturnType<typeof hostServer>>;
  let project = '';
  beforeAll(async () => {
    allowed = await hostServer('hello from the host');
    other = await hostServer('this server is not on the list');
    project = makeProject('vitest-network', path.join(DEMO, 'network'));
  });
  afterAll(async () => {
    await allowed?.close();
    await other?.close();
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('fetches from the allowed host server, is refused another, and reports both', async () => {
    const json = path.join(project, 'results.json');
    const xml = path.join(project, 'junit.xml');
    const out = await vitestIn(project, {
      RINGFENCE_NET_PORT: String(allowed.port),
      RINGFENCE_NET_OTHER_PORT: String(other.port),
      RINGFENCE_VITEST_JSON: json,
      RINGFENCE_VITEST_JUNIT: xml,
    });
    expect(out.status, out.output).toBe(0);
    expect(out.output).toMatch(/Test Files\s+2 passed \(2\)/);
    expect(out.output).toMatch(/Tests\s+3 passed \(3\)/);
    expect(allowed.served()).toBe(1);
    expect(other.served()).toBe(0);

    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    const network = Object.fromEntries(report.jobs.map((job) => [job.id, job.result?.network]));
    const target = { host: '127.0.0.1', via: 'http' };
    expect(network['allowed.test.ts']).toMatchObject({
      mode: 'allow',
      allow: [`127.0.0.1:${allowed.port}`],
      connections: [{ ...target, port: allowed.port, allowed: true }],
    });
    // the bytes on the wire: the body and the response's head
    const bytesIn = network['allowed.test.ts']?.connections[0]?.bytesIn ?? 0;
    expect(bytesIn).toBeGreaterThan('hello from the host'.length);
    expect(bytesIn).toBeLessThan('hello from the host'.length + 1024);
    expect(network['refused.test.ts']).toMatchObject({
      mode: 'allow',
      connections: [{ ...target, port: other.port, allowed: false, bytesIn: 0 }],
    });

    const lint = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, xml], { encoding: 'utf8' });
    expect(lint.status, lint.stderr).toBe(0);
    const junit = fs.readFileSync(xml, 'utf8');
    const property = (name: string, value: string | number): string =>
      `<property name="ringfence.${name}" value="${value}"/>`;
    expect(junit).toContain(property('allowed.test.ts.net.mode', 'allow'));
    expect(junit).toContain(property('allowed.test.ts.net.reached', 1));
    expect(junit).toContain(property('allowed.test.ts.net.reached_hosts', `127.0.0.1:${allowed.port}`));
    expect(junit).toContain(property('refused.test.ts.net.refused', 1));
    expect(junit).toContain(property('refused.test.ts.net.refused_hosts', `127.0.0.1:${other.port}`));
    expect(junit).toContain(`refused  http    127.0.0.1:${other.port}`);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 120_000);
});
