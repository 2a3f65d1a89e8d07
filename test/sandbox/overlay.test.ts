// --fs overlay (the default), read-only and host: what a job sees of the host's files, what reaches the
// host, and the pollution report — every path the job wrote outside its workdir, in the result, on the
// CLI's stderr and in JUnit. Real jobs on this kernel; each test ends with nothing left behind (no
// cgroup, launcher, scratch dir with its upper layers, or mount).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { hiddenByPrivateTmp } from '../../harness/job/workdir-binds.js';
import type { JobResult } from '../../harness/job/result.js';
import { runJob } from '../../harness/run-job.js';
import { CLI, NO_LEFTOVERS, ROOT, describeSandbox, leftovers, ringfence } from '../support/sandbox.js';

/** A directory outside the host's /tmp (which a job does not see) that the test removes again. */
function hostScratch(label: string): string {
  return fs.mkdtempSync(path.join('/var/tmp', `rf-overlay-test-${label}-`));
}

describeSandbox('--fs: what a job sees of the host and what it wrote there', () => {
  let workdir = '';
  const cleanup: string[] = [];

  beforeEach(() => {
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-overlay-work-'));
    fs.chmodSync(workdir, 0o755);
  });

  afterEach(async () => {
    for (const p of [workdir, ...cleanup.splice(0)]) fs.rmSync(p, { recursive: true, force: true });
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('overlay (default): writes outside the workdir succeed inside, the host is untouched, and all three are reported', () => {
    for (const p of ['/root/probe', '/etc/rf-probe']) expect(fs.existsSync(p), `${p} before`).toBe(false);
    const hostname = fs.readFileSync('/etc/hostname', 'utf8');
    const json = path.join(workdir, 'result.json');
    const out = ringfence(
      'run',
      `--json=${json}`,
      '--workdir',
      workdir,
      '--',
      'sh',
      '-c',
      'echo x > /root/probe; echo y > /etc/rf-probe; rm -f /etc/hostname; cat /root/probe /etc/rf-probe; test ! -e /etc/hostname',
    );
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toBe('x\ny\n'); // inside, the writes were there
    // … and on the host they never were
    expect(fs.existsSync('/root/probe')).toBe(false);
    expect(fs.existsSync('/etc/rf-probe')).toBe(false);
    expect(fs.readFileSync('/etc/hostname', 'utf8')).toBe(hostname);
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as JobResult;
    expect(result.filesystem).toEqual({
      mode: 'overlay',
      changes: [
        { path: '/etc/hostname', kind: 'deleted', bytes: 0, type: 'file' },
        { path: '/etc/rf-probe', kind: 'added', bytes: 2, type: 'file' },
        { path: '/root/probe', kind: 'added', bytes: 2, type: 'file' },
      ],
      truncated: 0,
    });
    expect(out.stderr).toContain(
      'ringfence: wrote 3 paths outside its workdir: /etc/hostname (deleted), /etc/rf-probe, /root/probe\n',
    );
  });

  it("overlay: its layers live on a tmpfs charged to the job's memory — 100 MiB written outside the workdir under --memory 64m is an OOM kill, and nothing reaches the host", async () => {
    const result = await runJob({
      command: ['dd', 'if=/dev/zero', 'of=/root/rf-big', 'bs=1M', 'count=100'],
      memory: '64m',
      workdir,
    });
    expect(result.status, result.reason).toBe('oom');
    expect(result.memory.oomKills).toBeGreaterThanOrEqual(1);
    expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(fs.existsSync('/root/rf-big')).toBe(false);
    // the same write with the layers on disk (RINGFENCE_LAYERS=disk, read when the scratch is made)
    // is not the job's memory: it passes, and is reported
    const child = spawnSync(
      process.execPath,
      [
        CLI,
        'run',
        '--memory',
        '64m',
        '--workdir',
        workdir,
        '--',
        'sh',
        '-c',
        'dd if=/dev/zero of=/root/rf-big bs=1M count=100 2>/dev/null',
      ],
      { env: { ...process.env, RINGFENCE_LAYERS: 'disk' }, encoding: 'utf8' },
    );
    expect(child.status, child.stderr).toBe(0);
    expect(child.stderr).toContain('ringfence: wrote 1 path outside its workdir: /root/rf-big');
    expect(fs.existsSync('/root/rf-big')).toBe(false);
  });

  it('overlay: the workdir stays the host\'s and writable (out/file is there afterwards), and is not "pollution"', async () => {
    const result = await runJob({ command: ['sh', '-c', 'mkdir -p out && echo z > out/file'], workdir });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(fs.readFileSync(path.join(workdir, 'out', 'file'), 'utf8')).toBe('z\n');
    expect(result.filesystem).toEqual({ mode: 'overlay', changes: [], truncated: 0 });
  });

  it('overlay: a job that left nothing in its layers gets its report from their inode count, without a walk; one that did is walked', async () => {
    // the launcher counts the layers tmpfs's inodes after its last mount step; the harness again
    // after the job: equal, and nothing can be in an upper layer (the trace says which way it went)
    const untouched = (result: JobResult): boolean =>
      (result.trace ?? []).some((t) => t.phase === 'layers untouched');
    for (const command of [['true'], ['sh', '-c', 'cat /etc/hostname > /dev/null; echo out > here']]) {
      const quiet = await runJob({ command, workdir }, { trace: true });
      expect(quiet.status, quiet.reason + quiet.stderr).toBe('passed');
      expect(quiet.filesystem).toEqual({ mode: 'overlay', changes: [], truncated: 0 });
      expect(untouched(quiet), command.join(' ')).toBe(true);
    }
    const host = hostScratch('count');
    cleanup.push(host);
    fs.writeFileSync(path.join(host, 'f'), 'host\n');
    for (const [command, change] of [
      [`echo x > ${host}/new`, { path: `${host}/new`, kind: 'added', bytes: 2, type: 'file' }],
      [`rm ${host}/f`, { path: `${host}/f`, kind: 'deleted', bytes: 0, type: 'file' }],
      [`chmod 600 ${host}/f`, { path: `${host}/f`, kind: 'changed', bytes: 5, type: 'file' }],
      [`touch ${host}/f`, { path: `${host}/f`, kind: 'changed', bytes: 5, type: 'file' }],
    ] as const) {
      const wrote = await runJob({ command: ['sh', '-c', command], workdir }, { trace: true });
      expect(wrote.status, wrote.reason + wrote.stderr).toBe('passed');
      expect(wrote.filesystem?.changes, command).toEqual([change]);
      expect(untouched(wrote), command).toBe(false);
    }
    expect(fs.readFileSync(path.join(host, 'f'), 'utf8')).toBe('host\n');
  });

  it('overlay: a changed host file is "changed" with its new size; a host file the job only read is not listed', async () => {
    const host = hostScratch('changed');
    cleanup.push(host);
    fs.writeFileSync(path.join(host, 'kept'), 'as on the host\n');
    fs.writeFileSync(path.join(host, 'read'), 'read only\n');
    const result = await runJob({
      command: ['sh', '-c', `cat ${host}/read >/dev/null; echo more >> ${host}/kept; mkdir ${host}/new`],
      workdir,
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(fs.readFileSync(path.join(host, 'kept'), 'utf8')).toBe('as on the host\n');
    expect(fs.existsSync(path.join(host, 'new'))).toBe(false);
    expect(result.filesystem?.changes).toEqual([
      { path: `${host}/kept`, kind: 'changed', bytes: 20, type: 'file' },
      { path: `${host}/new`, kind: 'added', bytes: 0, type: 'dir' },
    ]);
  });

  it('overlay: a host directory removed and made again is "replaced"', async () => {
    const host = hostScratch('opaque');
    cleanup.push(host);
    fs.mkdirSync(path.join(host, 'd'));
    fs.writeFileSync(path.join(host, 'd', 'old'), 'old\n');
    const result = await runJob({
      command: ['sh', '-c', `rm -rf ${host}/d && mkdir ${host}/d && ls -A ${host}/d | wc -l`],
      workdir,
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout.trim()).toBe('0'); // the host's d/old is gone for the job
    expect(fs.existsSync(path.join(host, 'd', 'old'))).toBe(true); // not for the host
    expect(result.filesystem?.changes).toEqual([
      { path: `${host}/d`, kind: 'changed', bytes: 0, type: 'dir', replaced: true },
    ]);
  });

  it("--fs host: writes reach the host (today's behaviour), and nothing is watched", async () => {
    const host = hostScratch('host');
    cleanup.push(host);
    const result = await runJob({ command: ['sh', '-c', `echo h > ${host}/written`], workdir, fs: 'host' });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(fs.readFileSync(path.join(host, 'written'), 'utf8')).toBe('h\n');
    expect(result.filesystem).toEqual({ mode: 'host', changes: null, truncated: 0 });
  });

  it('--fs read-only (and its alias --read-only): a write outside /tmp fails with EROFS', () => {
    const host = hostScratch('ro');
    cleanup.push(host);
    for (const flags of [['--fs', 'read-only'], ['--read-only']]) {
      const out = ringfence(
        'run',
        ...flags,
        '--workdir',
        workdir,
        '--',
        'sh',
        '-c',
        `echo x > ${host}/f; echo y > /tmp/fine && echo tmp-ok`,
      );
      expect(out.status, out.stderr).toBe(0);
      expect(out.stderr).toContain('Read-only file system');
      expect(out.stdout).toBe('tmp-ok\n');
      expect(fs.existsSync(path.join(host, 'f'))).toBe(false);
    }
    // the two spellings together must agree
    const clash = ringfence('run', '--fs', 'host', '--read-only', '--', 'true');
    expect(clash.status).toBe(125);
    expect(clash.stderr).toContain('--read-only');
  });

  it('.git in the workdir is read-only under --fs overlay (a hook written there fails with EROFS) unless --allow-git-write', () => {
    fs.mkdirSync(path.join(workdir, '.git', 'hooks'), { recursive: true });
    const hook = path.join(workdir, '.git', 'hooks', 'pre-commit');
    const write = ['sh', '-c', 'echo "#!/bin/sh" > .git/hooks/pre-commit && echo wrote'];
    const refused = ringfence('run', '--workdir', workdir, '--', ...write);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('Read-only file system');
    expect(fs.existsSync(hook)).toBe(false);
    const allowed = ringfence('run', '--workdir', workdir, '--allow-git-write', '--', ...write);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(fs.readFileSync(hook, 'utf8')).toBe('#!/bin/sh\n');
  });

  it(".git as a file (a worktree's or a submodule's) is read-only too", async () => {
    fs.writeFileSync(path.join(workdir, '.git'), 'gitdir: /nowhere\n');
    const result = await runJob({ command: ['sh', '-c', 'echo "gitdir: /evil" > .git'], workdir });
    expect(result.status).toBe('failed');
    expect(result.stderr).toContain('Read-only file system');
    expect(fs.readFileSync(path.join(workdir, '.git'), 'utf8')).toBe('gitdir: /nowhere\n');
  });

  it('what the harness runs from stays read-only under the overlay, and the rest of its checkout only changes inside', async () => {
    if (hiddenByPrivateTmp(ROOT)) return; // a checkout under /tmp is not seen by a job elsewhere at all
    const cli = path.join(ROOT, 'dist', 'harness', 'cli', 'main.js');
    const readme = path.join(ROOT, 'README.md');
    const before = { cli: fs.readFileSync(cli, 'utf8'), readme: fs.readFileSync(readme, 'utf8') };
    const result = await runJob({
      command: ['sh', '-c', `echo pwned >> ${cli}; echo "cli $?"; echo pwned >> ${readme}; echo "readme $?"`],
      workdir,
    });
    expect(result.stdout).toBe('cli 2\nreadme 0\n');
    expect(result.stderr).toContain('Read-only file system');
    expect(fs.readFileSync(cli, 'utf8')).toBe(before.cli);
    expect(fs.readFileSync(readme, 'utf8')).toBe(before.readme);
    expect(result.filesystem?.changes?.map((c) => `${c.kind} ${c.path}`)).toEqual([`changed ${readme}`]);
  });

  it('volumes stay the host\'s and writable under the overlay, and are not "pollution"', async () => {
    const source = hostScratch('volume-source');
    const target = hostScratch('volume-target'); // a volume's target must exist on the host
    cleanup.push(source, target);
    const result = await runJob({
      command: ['sh', '-c', `echo v > ${target}/file`],
      workdir,
      volumes: [`${source}:${target}`],
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(fs.readFileSync(path.join(source, 'file'), 'utf8')).toBe('v\n');
    expect(fs.existsSync(path.join(target, 'file'))).toBe(false);
    expect(result.filesystem?.changes).toEqual([]);
  });

  it('ci: a build that writes dist/x and a test that needs it pass; a job writing ~/.npm/x is reported in JSON and JUnit', () => {
    fs.writeFileSync(
      path.join(workdir, 'ci.yml'),
      [
        'jobs:',
        '  - name: build',
        '    command: mkdir -p dist && echo built > dist/x',
        '  - name: test',
        '    needs: build',
        '    command: grep -q built dist/x',
        '  - name: cache',
        '    command: mkdir -p "$HOME/.npm" && echo c > "$HOME/.npm/rf-x"',
        '',
      ].join('\n'),
    );
    const json = path.join(workdir, 'r.json');
    const junit = path.join(workdir, 'r.xml');
    const out = spawnSync(
      process.execPath,
      [CLI, 'ci', path.join(workdir, 'ci.yml'), '--json', json, '--junit', junit],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, HOME: '/root' },
        timeout: 120_000,
      },
    );
    expect(out.status, out.stdout + out.stderr).toBe(0);
    expect(fs.readFileSync(path.join(workdir, 'dist', 'x'), 'utf8')).toBe('built\n');
    expect(fs.existsSync('/root/.npm/rf-x')).toBe(false);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as {
      jobs: { id: string; result: JobResult }[];
    };
    const byId = new Map(report.jobs.map((j) => [j.id, j.result]));
    expect(byId.get('build')?.filesystem?.changes).toEqual([]);
    const cache = byId.get('cache')?.filesystem?.changes ?? [];
    expect(cache.map((c) => `${c.kind} ${c.path}`)).toContain('added /root/.npm/rf-x');
    const xml = fs.readFileSync(junit, 'utf8');
    expect(xml).toContain('<property name="ringfence.build.fs.changes" value="0"/>');
    expect(xml).toMatch(/<property name="ringfence\.cache\.fs\.changes" value="[1-9]\d*"\/>/);
    expect(xml).toMatch(
      /wrote \d+ paths? outside its workdir[\s\S]*added\s+file\s+\/root\/\.npm\/rf-x \(2 B\)/,
    );
  });

  it('--userns: the overlay (split where overlayfs refuses a mount in a user namespace), or read-only — and said', () => {
    // /etc: a layer's root once "/" is split; /var/tmp: world-writable, under a directory the
    // namespace does not map (host root's /var), made a layer of its own
    const probes = [`/etc/rf-userns-${process.pid}`, `/var/tmp/rf-userns-${process.pid}`];
    const json = path.join(workdir, 'r.json');
    const out = ringfence(
      'run',
      '--userns',
      `--json=${json}`,
      '--workdir',
      workdir,
      '--',
      'sh',
      '-c',
      probes.map((p) => `echo u > ${p} && echo ok`).join('; '),
    );
    expect(out.status, out.stderr).toBe(0);
    for (const p of probes) expect(fs.existsSync(p), p).toBe(false); // never on the host, whichever way
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as JobResult;
    const refused = result.filesystem?.readOnly ?? [];
    const split = refused.find((r) => r.path === '/' && r.dirsOverlaid);
    if (split) {
      // the host's root has submounts (/proc, /dev …), locked in a user namespace: overlayfs cannot
      // take it whole, so each directory in it is an overlay of its own — the normal layout, unsaid
      expect(out.stderr).not.toMatch(/overlay refused/);
      expect(out.stdout).toBe('ok\nok\n');
      expect(result.filesystem?.changes?.map((c) => c.path)).toEqual(probes);
    } else if (refused.length === 0) {
      expect(out.stdout).toBe('ok\nok\n'); // a kernel that overlays a mount with submounts here
    } else {
      expect(out.stderr).toMatch(/ringfence: overlay refused for .*bound read-only instead/);
    }
  });
  it('--userns: the expected layout is unsaid on `run`, said with --verbose', () => {
    const quiet = ringfence('run', '--userns', '--', 'true');
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    const verbose = ringfence('run', '--userns', '--verbose', '--', 'true');
    expect(verbose.status, verbose.stderr).toBe(0);
    // on this kernel "/" always has submounts: split, never refused outright
    expect(verbose.stderr).toBe(
      'ringfence: overlay refused for / (EINVAL) (its submounts are locked in a user namespace, as expected): each directory in it is overlaid on its own, the entries right in it are read-only\n',
    );
  });

  it('an overlay refused for what the user can fix (overlay on overlay) still warns, with and without --userns', () => {
    // a stack two overlays deep, mounted in a private mount namespace of the test's own (gone with
    // it, never seen by the host): a job's overlay of it would be a third, which overlayfs refuses
    const base = hostScratch('stack');
    const work = hostScratch('work');
    cleanup.push(base, work);
    for (const dir of [base, work]) fs.chmodSync(dir, 0o755);
    const script = [
      'set -e',
      `cd ${base}`,
      'mkdir l u1 w1 m1 u2 w2 m2',
      'mount -t overlay rf-test1 -o lowerdir=l,upperdir=u1,workdir=w1 m1',
      'mount -t overlay rf-test2 -o lowerdir=m1,upperdir=u2,workdir=w2 m2',
      `cd ${work}`,
      'for flag in --fs=overlay --userns; do',
      `  ${process.execPath} ${CLI} run "$flag" -- sh -c 'echo x > ${base}/m2/probe' || echo "status $?"`,
      'done',
    ].join('\n');
    const out = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(out.status, out.stderr).toBe(0);
    const line = `ringfence: overlay refused for ${base}/m2 (EINVAL): bound read-only instead (writes there fail with EROFS)`;
    expect(out.stderr.split('\n').filter((l) => l === line)).toHaveLength(2);
    expect(out.stderr).toMatch(/m2\/probe: Read-only file system/);
    expect(out.stdout).toBe('status 2\nstatus 2\n');
    expect(fs.existsSync(path.join(base, 'u2', 'probe'))).toBe(false);
  });
});
