// --network allow:… for a user who is not root: the built CLI run as nobody (setpriv, uid 65534),
// its way out in a user namespace the harness makes and the job joins (native/spawn/usernet.c),
// against real servers on the host's loopback (test/support/net-servers.ts). The allowed port is
// reached through the proxy and counted, another is refused and reported, `curl --noproxy` gets
// nothing, and a service of the job's stays reachable on 127.0.0.1 beside it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../harness/job/result.js';
import { HOST_ADDR, startNetServers, type NetServers } from '../support/net-servers.js';
import { CLI, ROOT, describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers } from '../support/tally.js';
import { removeDir, tempDir } from '../adversarial/helpers.js';
import { NOBODY, cliAsNobody, nodeAsNobody, rootlessUnavailable } from '../support/rootless.js';

const JOBS_CHILD = path.join(ROOT, 'test', 'support', 'jobs-child.mjs');

describeSandbox('network: a rootless allow-list', () => {
  const why = rootlessUnavailable();
  const suite = why && process.env.RINGFENCE_REQUIRE_SANDBOX !== '1' ? describe.skip : describe;
  suite(`as uid ${NOBODY}${why ? ` (cannot here: ${why})` : ''}`, () => {
    let servers: NetServers;
    let dir = '';
    beforeAll(async () => {
      servers = await startNetServers();
      dir = tempDir('net-rootless');
      fs.chownSync(dir, NOBODY, NOBODY);
    });
    afterAll(async () => {
      await servers?.close();
      removeDir(dir);
    });

    it('reaches the allowed port through the proxy, refuses and reports another, and nothing goes around', async () => {
      if (why) throw new Error(`a rootless job cannot run here: ${why}`);
      const before = { ...servers.served };
      const out = path.join(dir, 'result.json');
      const code = (url: string, extra = ''): string =>
        `curl -sS ${extra} -o /dev/null -w '%{http_code} %{size_download}' ${url}; echo " exit=$?"`;
      const script = [
        // the user namespace the job is in maps nobody alone: the harness's own, not root's range
        'echo "map=$(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"',
        `echo "allowed=$(${code(`http://${HOST_ADDR}:${servers.http}/bytes/5000`)})"`,
        `echo "tls=$(${code(`https://${HOST_ADDR}:${servers.tls}/`, '-k')})"`,
        `echo "around=$(${code(`http://${HOST_ADDR}:${servers.http}/`, "--noproxy '*'")})"`,
        `echo "service=$(curl -sS http://127.0.0.1:18999/)"`,
      ].join('; ');
      const service = `{name: web, command: ['${process.execPath}', -e, "require('http').createServer((q, s) => s.end('own service')).listen(18999, '127.0.0.1')"], ready: {tcp: 18999}}`;
      const run = await cliAsNobody(dir, [
        'run',
        `--json=${out}`,
        '--network',
        `allow:${HOST_ADDR}:${servers.http}`,
        '--service',
        service,
        '--',
        'sh',
        '-c',
        script,
      ]);
      expect(run.status, run.stderr + run.stdout).toBe(0);
      const lines = Object.fromEntries(
        run.stdout
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(lines.map).toBe(`0 ${NOBODY} 1`);
      expect(lines.allowed).toBe('200 5000 exit=0');
      // curl's CONNECT got a 403 (exit 56); --noproxy: no route out of the namespace (exit 7)
      expect(lines.tls).toMatch(/ exit=56$/);
      expect(lines.around).toMatch(/^000 0 exit=7$/);
      expect(lines.service).toBe('own service');
      expect(servers.served.http).toBe(before.http + 1);
      expect(servers.served.tls).toBe(before.tls);
      expect(run.stderr).toContain(`ringfence: reached 1 host, refused 1: ${HOST_ADDR}:${servers.tls}`);

      const result = JSON.parse(fs.readFileSync(out, 'utf8')) as JobResult;
      const connections = result.network?.connections ?? [];
      expect(connections).toHaveLength(2);
      expect(connections).toContainEqual(
        expect.objectContaining({ host: HOST_ADDR, port: servers.http, via: 'http', allowed: true }),
      );
      expect(connections.find((c) => c.allowed)?.bytesIn).toBeGreaterThan(5000);
      expect(connections).toContainEqual(
        expect.objectContaining({ host: HOST_ADDR, port: servers.tls, via: 'connect', allowed: false }),
      );
      await expectNoLeftovers();
    }, 60_000);

    it('a job after the first takes a spare launcher, which opens both namespaces by path, and is held to the list as the first', async () => {
      if (why) throw new Error(`a rootless job cannot run here: ${why}`);
      const before = { ...servers.served };
      const job = {
        command: [
          'sh',
          '-c',
          `curl -sS -o /dev/null -w '%{http_code}' http://${HOST_ADDR}:${servers.http}/; echo " $(curl -sS -k -o /dev/null https://${HOST_ADDR}:${servers.tls}/ 2>/dev/null; echo $?)"`,
        ],
        workdir: dir,
        network: { allow: [`${HOST_ADDR}:${servers.http}`] },
      };
      const out = await nodeAsNobody(dir, [JOBS_CHILD, JSON.stringify([job, job, job])]);
      expect(out.status, out.stderr).toBe(0);
      const ran = JSON.parse(out.stdout) as (Pick<JobResult, 'status' | 'reason' | 'stdout' | 'network'> & {
        phases: string[];
      })[];
      for (const r of ran) {
        expect(r.status, r.reason).toBe('passed');
        expect(r.stdout).toBe('200 56\n'); // allowed through the proxy; the other port's CONNECT refused
        expect(r.network?.connections.map((c) => c.allowed).sort()).toEqual([false, true]);
      }
      expect(ran[0]!.phases).toContain('spawn');
      for (const r of ran.slice(1)) expect(r.phases).toContain('launcher (spare)');
      expect(servers.served.http).toBe(before.http + 3);
      expect(servers.served.tls).toBe(before.tls);
      await expectNoLeftovers();
    }, 60_000);

    it('a host that refuses user namespaces gets one line naming it and the fix, and an error result', async () => {
      if (why) throw new Error(`a rootless job cannot run here: ${why}`);
      const out = path.join(dir, 'refused.json');
      // A user namespace of the test's own, mapped by the test (root) from outside, whose limit of
      // nested ones is set to 0 inside: the harness, run in it as nobody, cannot make one.
      const stage1 = path.join(dir, 'stage1.sh');
      const stage2 = path.join(dir, 'stage2.sh');
      // the map is written from outside; exec'd again once it is, so that bash holds the caps it gives
      fs.writeFileSync(
        stage1,
        `while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.01; done\nexec bash ${stage2}\n`,
      );
      fs.writeFileSync(
        stage2,
        [
          'echo 0 > /proc/sys/user/max_user_namespaces || exit 90',
          `cd ${dir}`,
          `exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups env HOME=${dir} ${process.execPath} ${CLI} run --json=${out} --network allow:${HOST_ADDR}:${servers.http} -- true`,
        ].join('\n'),
      );
      const child = spawn('unshare', ['--user', 'bash', stage1], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      const ours = fs.readlinkSync('/proc/self/ns/user');
      const inNewUserns = (): boolean => {
        try {
          return fs.readlinkSync(`/proc/${child.pid}/ns/user`) !== ours;
        } catch {
          return false;
        }
      };
      await expect.poll(inNewUserns, { timeout: 10_000, interval: 5 }).toBe(true);
      fs.writeFileSync(`/proc/${child.pid}/uid_map`, '0 0 65536');
      fs.writeFileSync(`/proc/${child.pid}/gid_map`, '0 0 65536');
      const status = await closed;

      expect(status, stderr + stdout).toBe(125);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^ringfence: error: --network allow: this host refuses the job a network namespace of its own \(clone\(CLONE_NEWUSER\|CLONE_NEWNET\): ENOSPC\) — fix: allow user namespaces \(sysctl user\.max_user_namespaces/,
      );
      const result = JSON.parse(fs.readFileSync(out, 'utf8')) as JobResult;
      expect(result.status).toBe('error');
      expect(result.reason).toBe(lines[0]?.replace(/^ringfence: error: /, ''));
      await expectNoLeftovers();
    }, 60_000);
  });
});
