// git through the allow-list's way out, unchanged: a job clones a repository over HTTP from an
// allowed host on the host's loopback (git's libcurl reads only the lowercase `http_proxy`, or
// `all_proxy`, of the variables the job is given), and a clone from a host the list does not hold
// is refused and reported. The repository is real (`git init`, a commit, `git update-server-info`) and served as
// plain files, as git's "dumb" HTTP protocol reads it.
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

function git(cwd: string, ...args: string[]): string {
  const out = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  });
  if (out.status !== 0) throw new Error(`git ${args.join(' ')}: ${out.stderr}`);
  return out.stdout.trim();
}

/** A bare repository with one commit, ready for dumb HTTP; returns it and the commit's id. */
function makeRepository(root: string): { bare: string; commit: string } {
  const work = path.join(root, 'work');
  const bare = path.join(root, 'served', 'repo.git');
  fs.mkdirSync(work);
  git(work, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(work, 'README'), 'cloned through the allow-list\n');
  git(work, 'add', 'README');
  git(work, '-c', 'user.name=ringfence', '-c', 'user.email=rf@example.invalid', 'commit', '-q', '-m', 'one');
  git(root, 'clone', '-q', '--bare', work, bare);
  git(bare, 'update-server-info');
  return { bare, commit: git(work, 'rev-parse', 'HEAD') };
}

/** Serves `root`'s files by path: what git's dumb HTTP protocol asks for. Counts the requests. */
function fileServer(root: string, served: string[]): http.Server {
  return http.createServer((req, res) => {
    const file = path.join(root, path.normalize(decodeURIComponent(req.url ?? '/').split('?')[0] ?? '/'));
    served.push(req.url ?? '');
    if (!file.startsWith(root + path.sep) || !fs.statSync(file, { throwIfNoEntry: false })?.isFile())
      return void res.writeHead(404).end();
    res.writeHead(200).end(fs.readFileSync(file));
  });
}

describeSandbox('network: git through the way out', () => {
  const served: string[] = [];
  const elsewhere: string[] = [];
  let allowedServer: http.Server;
  let otherServer: http.Server;
  let ports = { allowed: 0, other: 0 };
  let dir = '';
  let repo = '';
  let commit = '';
  beforeAll(async () => {
    dir = tempDir('net-git');
    repo = path.join(dir, 'host');
    fs.mkdirSync(repo);
    ({ commit } = makeRepository(repo));
    allowedServer = fileServer(path.join(repo, 'served'), served);
    otherServer = fileServer(path.join(repo, 'served'), elsewhere);
    ports = { allowed: await listenOnHost(allowedServer), other: await listenOnHost(otherServer) };
  });
  afterAll(async () => {
    await closeServers([allowedServer, otherServer]);
    removeDir(dir);
  });

  it('clones from an allowed host, and a clone from another is refused and reported', async () => {
    const allowed = `${HOST_ADDR}:${ports.allowed}`;
    const other = `${HOST_ADDR}:${ports.other}`;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `export HOME="$PWD" GIT_CONFIG_NOSYSTEM=1
         git clone -q http://${allowed}/repo.git clone && echo "head $(git -C clone rev-parse HEAD)" && echo "readme $(cat clone/README)"
         git clone -q http://${other}/repo.git refused 2>err; echo "other exit=$? $(grep -o 403 err | head -1)"`,
      ],
      workdir: dir,
      network: { allow: [allowed] },
      timeout: '60s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(labelled(result.stdout)).toEqual({
      head: commit,
      readme: 'cloned through the allow-list',
      other: 'exit=128 403',
    });
    // git asked the allowed host for the refs and the objects; the other host heard nothing
    expect(served).toContain('/repo.git/info/refs?service=git-upload-pack');
    expect(served.some((url) => url.startsWith('/repo.git/objects/'))).toBe(true);
    expect(elsewhere).toEqual([]);
    const connections = result.network?.connections ?? [];
    expect(connections.filter((c) => c.allowed).every((c) => c.port === ports.allowed)).toBe(true);
    expect(connections.filter((c) => !c.allowed).map((c) => c.port)).toContain(ports.other);
    expect(connections.filter((c) => c.allowed).reduce((n, c) => n + c.bytesIn, 0)).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, 'refused', 'README'))).toBe(false);
    await expectNoLeftovers();
  });
});
