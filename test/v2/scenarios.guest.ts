// The v2 set: what users' machines look like, each in a throwaway QEMU guest with Debian's kernel and
// pure cgroup v2 (test/v2/vm/run.sh, started by .ci/run). RINGFENCE_V2_SCENARIO names the scenario;
// every check runs the built CLI as a user would, with no flag and no env that names a cgroup, and
// reads the kernel's counters through the results. The guest is emulated (5–20× slower than here):
// outcomes and counters, never tight timings.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { JobResult } from '../../harness/job/result.js';
import type { RunReport } from '../../reporters/types.js';

type Scenario = 'systemd-root' | 'systemd-user' | 'container' | 'container-nouserns' | 'container-privileged';
const SCENARIOS: readonly Scenario[] = [
  'systemd-root',
  'systemd-user',
  'container',
  'container-nouserns',
  'container-privileged',
];
const scenario = process.env.RINGFENCE_V2_SCENARIO as Scenario;
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'harness', 'cli', 'main.js');
/** A cgroup for jobs can be had here (the unprivileged containers have none). */
const cgroups =
  scenario === 'systemd-root' || scenario === 'systemd-user' || scenario === 'container-privileged';
const systemd = scenario === 'systemd-root' || scenario === 'systemd-user';
const MiB = 1024 * 1024;

let dir: string;
beforeAll(() => {
  expect(SCENARIOS, 'RINGFENCE_V2_SCENARIO').toContain(scenario);
  // the guest's own kernel: pure v2, as users have it
  expect(fs.statfsSync('/sys/fs/cgroup').type).toBe(0x63677270);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-v2-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function ringfence(args: string[], env: Record<string, string> = {}): Run {
  const clean = { ...process.env, ...env };
  // nothing that chooses the placement for it: the point is that none is needed
  delete clean.RINGFENCE_CGROUP_PARENT;
  if (env.RINGFENCE_STRICT === undefined) delete clean.RINGFENCE_STRICT;
  const out = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: clean,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** `ringfence run --json` and the one job's result. */
function run(name: string, args: string[], env: Record<string, string> = {}): Run & { result: JobResult } {
  const json = path.join(dir, `${name}.json`);
  const out = ringfence(['run', '--json', json, ...args], env);
  if (!fs.existsSync(json)) throw new Error(`no results file (exit ${out.status}): ${out.stderr}`);
  // `run --json` writes the one JobResult
  const result = JSON.parse(fs.readFileSync(json, 'utf8')) as JobResult;
  return { ...out, result };
}

/**
 * A check through the library in a process of its own (test/v2/*-check.mjs: the library places the
 * process it runs in, and that must end with it): exits 0 and prints its findings as a JSON line.
 */
function libraryCheck<T>(script: string): T {
  const out = spawnSync(process.execPath, [path.join(ROOT, 'test', 'v2', script)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
  });
  expect(out.status, out.stderr).toBe(0);
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as T;
}

const warnings = (stderr: string): string[] =>
  stderr.split('\n').filter((l) => l.startsWith('ringfence: warning:'));

function alive(pid: number): boolean {
  try {
    // a zombie is dead for this purpose: its process ended
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe(`v2 guest: ${scenario}`, () => {
  it('doctor exits 0 and names the placement and the privileges', () => {
    const out = ringfence(['doctor']);
    console.log(out.stdout);
    expect(out.status, out.stdout + out.stderr).toBe(0);
    const placement = /placement\s+(.*)/.exec(out.stdout)?.[1] ?? '';
    const privileges = /privileges\s+(\S.*)/.exec(out.stdout)?.[1]?.trim();
    if (systemd) expect(placement).toMatch(/systemd-scope: systemd scope ringfence-\d+-\d+\.scope/);
    if (scenario === 'container-privileged') expect(placement).toMatch(/^leaf: /);
    if (!cgroups) expect(placement).toMatch(/no cgroup for jobs: .*not writable/);
    // the overlay line agrees with the namespaces: where jobs get none, it is not applied
    const overlay = /^(ok|warn)\s+overlay \(--fs overlay\)\s+(.*)$/m.exec(out.stdout);
    const namespaces = /^(?:ok|warn)\s+namespaces\s+(\S+)/m.exec(out.stdout)?.[1];
    expect(overlay?.[1]).toBe(namespaces === 'none' ? 'warn' : 'ok');
    expect(privileges).toBe(!cgroups ? 'namespaces only' : scenario === 'systemd-user' ? 'rootless' : 'root');
    // the marks agree with what the trial job shows
    const trial = /trial job\s+(.*)/.exec(out.stdout)?.[1] ?? '';
    for (const cap of ['memory', 'pids']) {
      const mark = new RegExp(`^(ok|warn)\\s+cgroup ${cap}\\s`, 'm').exec(out.stdout)?.[1];
      const flag = cap === 'memory' ? '--memory' : '--pids-limit';
      if (mark === 'ok') expect(trial).toMatch(new RegExp(`enforced: [^;]*${flag}`));
      else expect(trial).toMatch(new RegExp(`not enforced: [^;]*${flag}`));
    }
  });

  it('a 200 MiB hog under --memory 64m: OOM-killed (137) where there is a cgroup, else run with one warning', () => {
    const out = run('hog', ['--memory', '64m', '--', 'node', 'fixtures/memory-hog.js', '200']);
    const { result } = out;
    console.log(
      `hog: exit ${out.status}, ${result.reason}; cpu ${result.cpu.totalMs} ms, peak ${result.memory.peakBytes}, pressure ${JSON.stringify(result.pressure)}, enforcement ${JSON.stringify(result.enforcement)}`,
    );
    if (warnings(out.stderr).length > 0) console.log(warnings(out.stderr).join('\n'));
    if (cgroups) {
      expect(out.status, out.stderr).toBe(137);
      expect(result.status).toBe('oom');
      expect(result.memory.oomKills).toBeGreaterThanOrEqual(1);
      expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * MiB);
      expect(result.enforcement?.figures).toBe('cgroup');
      expect(result.enforcement?.notEnforced).toEqual([]);
      expect(warnings(out.stderr)).toEqual([]);
      // how close it ran to its cap before the kill: time stalled on memory, from the kernel
      expect(result.pressure?.memory?.someMs).toBeGreaterThanOrEqual(0);
    } else {
      expect(out.status, out.stderr).toBe(0);
      const lines = warnings(out.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/--memory: this process has no cgroup/);
      expect(result.enforcement?.figures).toBe('rusage');
      expect(result.enforcement?.notEnforced).toContain('--memory');
      if (result.enforcement?.namespaces === 'none')
        expect(lines[0]).toMatch(/namespaces: this host lets ringfence make none/);
      if (scenario === 'container-nouserns') expect(result.enforcement?.namespaces).toBe('none');
      // CPU and peak memory from the launcher's whole-tree rusage
      expect(result.cpu.totalMs).toBeGreaterThan(0);
      expect(result.memory.peakBytes).toBeGreaterThanOrEqual(200 * MiB);
    }
    if (systemd) expect(result.enforcement?.placement).toBe('systemd-scope');
    if (scenario === 'container-privileged') expect(result.enforcement?.placement).toBe('leaf');
  });

  it.runIf(!cgroups)('strict mode refuses what cannot be enforced before anything runs (125)', () => {
    const marker = path.join(dir, 'strict-ran');
    const out = ringfence(['run', '--strict', '--memory', '64m', '--', 'sh', '-c', `echo ran > ${marker}`]);
    expect(out.status, out.stderr).toBe(125);
    expect(out.stderr).toMatch(/strict mode: --memory cannot be enforced here/);
    expect(fs.existsSync(marker)).toBe(false);
    const byEnv = ringfence(['run', '--memory', '64m', '--', 'true'], { RINGFENCE_STRICT: '1' });
    expect(byEnv.status).toBe(125);
  });

  it.runIf(scenario === 'systemd-user')(
    '--cpuset-cpus warns naming the missing delegation and the drop-in; strict refuses it',
    () => {
      const out = run('cpuset', ['--cpuset-cpus', '0', '--', 'true']);
      expect(out.status, out.stderr).toBe(0);
      expect(warnings(out.stderr)).toHaveLength(1);
      expect(out.stderr).toMatch(/--cpuset-cpus: the cpuset controller is not available/);
      expect(out.stderr).toMatch(/user@\.service\.d\/delegate\.conf.*Delegate=cpu cpuset io memory pids/);
      expect(out.result.enforcement?.notEnforced).toEqual(['--cpuset-cpus']);
      const strict = ringfence(['run', '--strict', '--cpuset-cpus', '0', '--', 'true']);
      expect(strict.status).toBe(125);
    },
  );

  it.runIf(scenario === 'systemd-user')(
    'rootless `run -- true` prints nothing on stderr; --verbose and doctor name the split overlay',
    () => {
      const out = ringfence(['run', '--', 'true']);
      expect(out.status, out.stderr).toBe(0);
      expect(out.stderr).toBe('');
      // the normal rootless layout is still said where asked for: / is split, never refused outright
      const verbose = ringfence(['run', '--verbose', '--', 'true']);
      expect(verbose.status, verbose.stderr).toBe(0);
      expect(verbose.stderr).toMatch(
        /^ringfence: overlay refused for \/ \(EINVAL\).* \(its submounts are locked/,
      );
      expect(verbose.stderr).not.toMatch(/bound read-only instead/);
      expect(ringfence(['doctor']).stdout).toMatch(/overlay.*\(\/[^)]*: each directory overlaid on its own/);
    },
  );

  it('--disk 32m --files 500: a 64 MiB write stops at the cap where it is enforced, else one warning names it and --strict refuses', () => {
    const out = run('disk', [
      '--disk',
      '32m',
      '--files',
      '500',
      '--',
      'sh',
      '-c',
      // and a file in the workdir: under an explicit cap, nothing of a job that hit it is written back
      'dd if=/dev/zero of=/tmp/big bs=1M count=64; s=$?; echo x > rf-disk-probe; exit $s',
    ]);
    const probe = path.join(ROOT, 'rf-disk-probe');
    const probeLeft = fs.existsSync(probe);
    fs.rmSync(probe, { force: true });
    const { result } = out;
    console.log(
      `disk: exit ${out.status}, ${result.reason}; disk ${JSON.stringify(result.disk)}, not enforced ${JSON.stringify(result.enforcement?.notEnforced)}`,
    );
    if (warnings(out.stderr).length > 0) console.log(warnings(out.stderr).join('\n'));
    if (scenario === 'systemd-root' && result.disk) {
      expect(out.stderr).toMatch(/No space left on device/);
      expect(result.disk.capReached).toBe('disk');
      expect(result.disk.bytes).toBeLessThanOrEqual(32 * MiB);
      expect(result.reason).toMatch(/^disk: .* written, cap 32 MiB reached/);
      expect(probeLeft).toBe(false);
      expect(warnings(out.stderr)).toEqual([]);
      return;
    }
    // rootless (systemd-user), in a container, or a root guest without loop devices or mke2fs: the
    // write reaches its /tmp on disk, and the one warning says which caps and why
    expect(result.disk).toBeUndefined();
    expect(result.enforcement?.notEnforced).toContain('--disk and --files');
    const lines = warnings(out.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--disk and --files: /);
    if (scenario === 'systemd-user') expect(lines[0]).toMatch(/rootless: a capped filesystem needs root/);
    const strict = ringfence(['run', '--strict', '--disk', '32m', '--', 'true']);
    expect(strict.status).toBe(125);
    expect(strict.stderr).toMatch(/--disk cannot be enforced here/);
  });

  it('a daemonizing, SIGTERM-ignoring tree ends on its timeout (124) with no process of it left', () => {
    // the daemons must all be up when the timeout strikes: the fixture says so with a marker (in the
    // workdir, which every --fs mode shares with the host), and a slow guest gets a longer timeout
    const marker = path.join(ROOT, `.v2-daemonized-${process.pid}`);
    onTestFinished(() => fs.rmSync(marker, { force: true }));
    let out: ReturnType<typeof run> | undefined;
    for (let seconds = 1; seconds <= 16 && !fs.existsSync(marker); seconds *= 2) {
      out = run('timeout', ['--timeout', `${seconds}s`, '--', 'sh', 'fixtures/daemonize.sh', marker]);
      expect(out.status, out.stderr).toBe(124);
    }
    expect(fs.existsSync(marker), 'the daemons were up within 16 s').toBe(true);
    const tree = out?.result.diagnostics.processTree ?? [];
    expect(tree.length).toBeGreaterThanOrEqual(3);
    expect(tree.filter((p) => alive(p.pid))).toEqual([]);
  });

  it('--cpu-time ends a spinner once it used that much CPU', () => {
    const out = run('cputime', [
      '--cpu-time',
      '1s',
      '--timeout',
      '120s',
      '--',
      'node',
      'fixtures/cpu-spin.js',
      '60',
    ]);
    expect(out.status, out.stderr).toBe(124);
    expect(out.result.termination).toBe('cpu-timeout');
    expect(out.result.cpu.totalMs).toBeGreaterThanOrEqual(1000);
  });

  it('--fs overlay: writes outside the workdir stay in the job and are reported; the workdir keeps its own', () => {
    // where the job's user may write on the host: its home (a file, and one in a new directory) and,
    // as root, /etc — not /var/tmp: the guest's holds the shared checkout's mount point, so rootless
    // its entries are read-only (a directory with a mount below is split, see docs/host-files.md)
    const home = os.homedir();
    const probes = [
      path.join(home, `.rf-v2-probe-${process.pid}`),
      path.join(home, `.rf-v2-dir-${process.pid}`, 'probe'),
      ...(process.getuid?.() === 0 ? [`/etc/rf-v2-probe-${process.pid}`] : []),
    ];
    const out = path.join(ROOT, `.v2-out-${process.pid}`);
    onTestFinished(() => {
      for (const p of [...probes, path.dirname(probes[1]!), out])
        fs.rmSync(p, { recursive: true, force: true });
    });
    const writes = probes.map((p) => `mkdir -p ${path.dirname(p)} && echo x > ${p}`).join(' && ');
    const r = run('overlay', ['--', 'sh', '-c', `${writes} && mkdir -p ${out} && echo z > ${out}/file`]);
    console.log(`overlay: ${JSON.stringify(r.result.filesystem)}`);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'file'), 'utf8')).toBe('z\n');
    if (r.result.enforcement?.namespaces === 'none') {
      // no mount namespace: said in the one warning, and the writes reached the host
      expect(r.result.filesystem?.mode).toBe('host');
      expect(warnings(r.stderr)[0]).toMatch(/not applied: .*--fs overlay \(writes reach the host\)/);
      expect(probes.filter((p) => fs.existsSync(p))).toEqual(probes);
      return;
    }
    expect(probes.filter((p) => fs.existsSync(p))).toEqual([]);
    expect(r.result.filesystem?.mode).toBe('overlay');
    expect(r.result.filesystem?.changes?.map((c) => [c.path, c.kind])).toEqual(
      probes.map((p) => [p, 'added']).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    expect(r.stderr).toContain(`ringfence: wrote ${probes.length} paths outside its workdir: `);
  });

  it('services: the job reaches its own service on 127.0.0.1 (one network namespace), and the service goes with it', () => {
    const server = `require('net').createServer((s) => s.end('from the service\\n')).listen(7400, '127.0.0.1')`;
    const client = `require('net').connect(7400, '127.0.0.1').on('data', (d) => process.stdout.write(d))`;
    const service = `{name: echo, command: ${JSON.stringify(['node', '-e', server])}, ready: {tcp: 7400}}`;
    const r = run('services', ['--service', service, '--', 'node', '-e', client]);
    console.log(`services: exit ${r.status}, ${r.result.reason}`);
    if (scenario === 'systemd-root' || scenario === 'container-privileged' || scenario === 'systemd-user') {
      // rootless: the job and its service in one user namespace, made by the service's sandbox
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('from the service\n');
      expect(r.result.services?.map((s) => [s.name, s.outcome])).toEqual([['echo', 'ended']]);
    } else {
      // no namespaces here: said, and nothing runs on the container's own network
      expect(r.result.status).toBe('error');
      expect(r.result.reason).toMatch(/service echo: it got no network namespace of its own to share/);
    }
  });

  it.runIf(scenario === 'systemd-user')(
    '--network allow: rootless, the allowed port is reached through the proxy and another is refused',
    async () => {
      // two servers on the guest's loopback, in a process of their own (spawnSync blocks this one);
      // each request they answer is a line in `hits`
      const hits = path.join(dir, 'net-hits');
      const serve = `
        const http = require('http'), fs = require('fs');
        const listen = (name) => new Promise((resolve) => {
          const server = http.createServer((q, s) => { fs.appendFileSync(${JSON.stringify(hits)}, name + '\\n'); s.end('hello from ' + name); });
          server.listen(0, '127.0.0.2', () => resolve(server.address().port));
        });
        Promise.all([listen('allowed'), listen('other')]).then((ports) => console.log(ports.join(' ')));`;
      const server = spawn(process.execPath, ['-e', serve], { stdio: ['ignore', 'pipe', 'inherit'] });
      onTestFinished(() => void server.kill('SIGKILL'));
      const [allowed, other] = await new Promise<number[]>((resolve) =>
        server.stdout.once('data', (d: Buffer) => resolve(d.toString().trim().split(' ').map(Number))),
      );
      const get = (port: number): string =>
        `curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.2:${port}/; echo " exit=$?"`;
      const r = run('net-allow', [
        '--network',
        `allow:127.0.0.2:${allowed}`,
        '--',
        'sh',
        '-c',
        `echo "allowed=$(${get(allowed ?? 0)})"; echo "other=$(${get(other ?? 0)})"; curl -sS --noproxy '*' http://127.0.0.2:${allowed}/; echo "around=$?"`,
      ]);
      console.log(`net-allow: exit ${r.status}, ${r.stdout.trim().replace(/\n/g, '; ')}`);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('allowed=200 exit=0\n');
      expect(r.stdout).toContain('other=403 exit=0\n');
      expect(r.stdout).toContain('around=7\n');
      expect(fs.readFileSync(hits, 'utf8')).toBe('allowed\n');
      expect(r.stderr).toContain(`ringfence: reached 1 host, refused 1: 127.0.0.2:${other}`);
      const connections = r.result.network?.connections ?? [];
      expect(connections.map((c) => [c.port, c.allowed])).toEqual([
        [allowed, true],
        [other, false],
      ]);
      expect(connections[0]?.bytesIn).toBeGreaterThan(0);
    },
  );

  describe.runIf(systemd)('services demo, as on a root host', () => {
    // what is running now of this uid (and, rootless, of its subordinate ids: a Postgres runs as one)
    const mine = (): Map<number, string> => {
      const ids = new Set([process.getuid?.() ?? 0]);
      const out = new Map<number, string>();
      for (const n of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
          const status = fs.readFileSync(`/proc/${n}/status`, 'utf8');
          const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
          if (!ids.has(uid) && !(uid >= 100000 && uid < 165536)) continue;
          const cgroup = fs.readFileSync(`/proc/${n}/cgroup`, 'utf8');
          const comm = fs.readFileSync(`/proc/${n}/comm`, 'utf8').trim();
          if (/ringfence/.test(cgroup) || /^(redis|postgres|initdb|ringfence|sleep)/.test(comm))
            out.set(Number(n), `${comm} uid ${uid} ${cgroup.trim()}`);
        } catch {
          // ended meanwhile
        }
      }
      return out;
    };
    let before: Map<number, string>;
    beforeAll(() => (before = mine()));

    it('ci fixtures/services.yml: the Redis pair and the Postgres pass, the frozen Redis is seen frozen and thawed, never-ready fails', () => {
      const json = path.join(dir, 'services-ci.json');
      const out = ringfence(['ci', 'fixtures/services.yml', '--json', json]);
      console.log(`services ci: exit ${out.status}; ${out.stdout.trim().split('\n').at(-1)}`);
      expect(out.status, out.stderr + out.stdout).toBe(1);
      const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
      for (const j of report.jobs) console.log(`  ${j.id}: ${j.result?.status}, ${j.result?.reason}`);
      const outcomes = Object.fromEntries(report.jobs.map((j) => [j.id, j.result?.status]));
      const byId = (id: string): JobResult | null | undefined => report.jobs.find((j) => j.id === id)?.result;
      // as `ringfence ci fixtures/services.yml` gives as root on the (v1) host — but for two timings
      // of emulation, where a Node start takes seconds: the frozen Redis's client may start only
      // once the 3 s freeze began, and the never-ready service may not have printed within its 2 s
      const { 'redis-frozen': frozenStatus, ...rest } = outcomes;
      expect(rest).toEqual({
        'redis-a': 'passed',
        'redis-b': 'passed',
        postgres: 'passed',
        'never-ready': 'error',
      });
      expect(byId('never-ready')?.reason).toMatch(
        /^service never-ready: not ready on tcp:7777 after 2s; its last output: (listening on 7777 soon|\(none\))$/,
      );
      // the freeze (cgroup.freeze, rootless) for its 3 s, and the server answering after it: the client
      // may have started only once it ended (a Node start in emulation), never on a frozen server
      const frozen = byId('redis-frozen');
      const answers = (frozen?.stdout ?? '')
        .split('\n')
        .flatMap((l) => /^\S+ (pong|timeout|error \S+)$/.exec(l)?.[1] ?? []);
      console.log(`  redis-frozen: the client saw ${answers.join(', ')}`);
      expect(answers.at(-1), `${frozenStatus}: ${frozen?.stderr}`).toBe('pong');
      const pauses = frozen?.services?.[0]?.result?.pauses ?? [];
      expect(pauses).toHaveLength(1);
      expect(pauses[0]?.forMs).toBeGreaterThanOrEqual(2900);
      for (const id of ['redis-a', 'redis-b', 'postgres', 'redis-frozen'])
        expect(byId(id)?.services?.map((sv) => sv.outcome)).toEqual(['ended']);
    });

    it('the Vitest demo with services: each file its own Redis on 127.0.0.1:6379', () => {
      const fixture = path.join(ROOT, 'fixtures', 'vitest-demo', 'services');
      const project = fs.mkdtempSync(path.join(os.homedir(), 'rf-v2-services-'));
      onTestFinished(() => fs.rmSync(project, { recursive: true, force: true }));
      for (const f of ['a.test.ts', 'b.test.ts', 'redis.ts'])
        fs.copyFileSync(path.join(fixture, f), path.join(project, f));
      // the demo's config, with a file's time for emulation: a Node and Vitest start there take ~30 s
      const config = fs.readFileSync(path.join(fixture, 'vitest.config.ts'), 'utf8');
      expect(config).toContain("timeout: '30s'");
      fs.writeFileSync(
        path.join(project, 'vitest.config.ts'),
        config.replace("timeout: '30s'", "timeout: '200s'"),
      );
      fs.writeFileSync(path.join(project, 'package.json'), '{"type": "module"}\n');
      const modules = path.join(project, 'node_modules');
      fs.mkdirSync(modules);
      fs.symlinkSync(path.join(ROOT, 'node_modules', 'vitest'), path.join(modules, 'vitest'));
      fs.symlinkSync(ROOT, path.join(modules, 'ringfence'));
      const barrier = path.join(project, 'barrier');
      fs.mkdirSync(barrier);
      const json = path.join(barrier, 'results.json');
      const out = spawnSync(process.execPath, [path.join(modules, 'vitest', 'vitest.mjs'), 'run'], {
        cwd: project,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, RINGFENCE_VITEST_JSON: json, RINGFENCE_BARRIER_DIR: barrier, NO_COLOR: '1' },
      });
      const output = out.stdout + out.stderr;
      console.log(`services vitest: exit ${out.status}`);
      expect(out.status, output).toBe(0);
      expect(output).toMatch(/Test Files\s+2 passed \(2\)/);
      const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
      expect(report.jobs).toHaveLength(2);
      for (const job of report.jobs) {
        const [redis] = job.result?.services ?? [];
        expect([redis?.name, redis?.outcome]).toEqual(['redis', 'ended']);
        expect(redis?.result?.memory.peakBytes).toBeGreaterThan(0);
      }
      expect(fs.readdirSync(barrier).sort()).toEqual(['ready.a', 'ready.b', 'results.json']);
    });

    it('leaves no process of this user (or its subordinate ids) behind', () => {
      const left = [...mine()].filter(([pid]) => !before.has(pid));
      expect(left).toEqual([]);
    });
  });

  it('pause(): a spinner stops while another runs (cgroup.freeze, or SIGSTOP without a cgroup), and runs again on resume()', () => {
    const check = libraryCheck<{
      ok: boolean;
      moved: number;
      other: number;
      pauses: { atMs: number; forMs: number }[];
    }>('pause-check.mjs');
    console.log(`pause: the paused spinner moved ${check.moved} ms while the other used ${check.other} ms`);
    expect(check.ok).toBe(true);
    // without a cgroup the figure is /proc's ticks (10 ms): one tick of slack there
    expect(check.moved).toBeLessThanOrEqual(cgroups ? 5 : 10);
    expect(check.other).toBeGreaterThan(300);
    expect(check.pauses).toHaveLength(1);
  });

  it('the next job on a spare: its init made ahead where there are namespaces, the job in its own cgroup', () => {
    const libraryResult = libraryCheck<{
      jobs: {
        status: string;
        reason: string;
        namespaces: string;
        phases: string[];
        hostname: string;
        ownNetwork: boolean;
        cgroup: string;
        launcherCgroup: string;
      }[];
      counted: { status: string; reason: string; cpuMs: number; peakBytes: number | null; phases: string[] };
    }>('ahead-check.mjs');
    const { jobs } = libraryResult;
    console.log(
      `ahead: ${jobs.map((j) => `${j.status} [${j.phases.filter((p) => p === 'ahead' || p === 'clone').join()}]`).join('; ')}`,
    );
    for (const [i, job] of jobs.entries()) {
      expect(job.status, job.reason).toBe('passed');
      // the unprivileged containers may refuse namespaces (nouserns always does): then no init ahead
      const namespaces = job.namespaces !== 'none';
      if (scenario === 'container-nouserns') expect(namespaces).toBe(false);
      if (systemd || scenario === 'container-privileged') expect(namespaces).toBe(true);
      expect(job.ownNetwork).toBe(namespaces);
      if (namespaces) expect(job.hostname).toBe('ringfence');
      // the first job had no spare; the next ones took the spare's init, made before they were known
      // (without namespaces init is forked after the gate, as always: the phase is still 'clone')
      const first = i === 0 || !namespaces;
      expect(job.phases).toContain(first ? 'clone' : 'ahead');
      expect(job.phases).not.toContain(first ? 'ahead' : 'clone');
      // v2: one line, 0::/path — the job's own cgroup where there is one; init was cloned into it
      // (CLONE_INTO_CGROUP) and its launcher stayed out
      if (cgroups) {
        expect(job.cgroup).toMatch(/^0::\/.*ringfence.*job-/);
        expect(job.launcherCgroup).toMatch(/^0::\//);
        expect(job.launcherCgroup).not.toBe(job.cgroup);
      }
    }
    // the counters, read on the launcher's last line while it exits (readStatsEarly),
    // hold all the job did: ~300 ms of CPU, 64 MiB touched
    const { counted } = libraryResult;
    expect(counted.status, counted.reason).toBe('passed');
    if (cgroups) {
      expect(counted.cpuMs).toBeGreaterThanOrEqual(250);
      expect(counted.peakBytes).toBeGreaterThanOrEqual(64 * MiB);
    }
    // early wherever there is a PID namespace (init's end is the job's end) and a cgroup
    if (cgroups && jobs[0]?.namespaces !== 'none') {
      expect(counted.phases.indexOf('stats (early)')).toBeGreaterThan(-1);
      expect(counted.phases.indexOf('stats (early)')).toBeLessThan(counted.phases.indexOf('exited'));
    } else expect(counted.phases).not.toContain('stats (early)');
  });

  it.runIf(cgroups)('a fork bomb is held at --pids-limit 32 (the kernel’s pids.peak)', () => {
    const out = run('pids', ['--pids-limit', '32', '--timeout', '5s', '--', 'sh', 'fixtures/fork-bomb.sh']);
    expect(out.status).toBe(124);
    expect(out.result.pids.peak).toBeLessThanOrEqual(32);
    expect(out.result.pids.peak).toBeGreaterThanOrEqual(16);
  });

  it.runIf(cgroups)('ringfence ci fixtures/demo.yml gives the same outcomes as on v1', () => {
    const json = path.join(dir, 'demo.json');
    const out = ringfence(['ci', 'fixtures/demo.yml', '--json', json]);
    expect(out.status, out.stderr).toBe(1);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    expect(Object.fromEntries(report.jobs.map((job) => [job.id, job.outcome]))).toEqual({
      build: 'passed',
      'unit-tests': 'passed',
      package: 'passed',
      lint: 'passed',
      'flaky-network-test': 'flaky',
      'memory-leak': 'oom',
      hang: 'timeout',
      'fork-bomb': 'timeout',
      deploy: 'skipped',
    });
    expect(report.jobs.find((job) => job.id === 'fork-bomb')?.result?.pids.peak).toBeLessThanOrEqual(32);
    expect(report.host.cgroupVersion).toBe(2);
    expect(report.host.placement).toMatch(systemd ? /systemd scope/ : /ringfence-leaf/);
  });

  it.runIf(scenario === 'systemd-root')(
    'two spinners on one CPU with cpu-shares 1024 and 256 get CPU about 4 : 1 (2 to 4.6 under emulation)',
    () => {
      // fixtures/priority.yml, but the two start spinning together: under emulation a job's start
      // costs ringfence ~0.5 s, and the one started first would spin alone meanwhile. Each says it is
      // ready in a shared directory (their workdir: writable to both, whatever --fs) and waits,
      // sleeping, for the other.
      const barrier = fs.mkdtempSync(path.join(ROOT, '.v2-priority-'));
      onTestFinished(() => fs.rmSync(barrier, { recursive: true, force: true }));
      // … and stop together: the heavy one says when (8 s on), else the one started second spins
      // alone while the other's timeout has already ended it. The light one starts once the heavy
      // one says `go` (waiting on its barrier costs the heavy one a fork and a stat of the shared
      // folder, which the light one would spin through alone). The stop file is looked for every
      // 2000 rounds only: the workdir is the host's shared folder, and a stat per round would make
      // the spinners wait on I/O instead of competing for the CPU (2.11 : 1 seen)
      const spin =
        'touch ready.$0; if [ $0 = heavy ]; then while [ ! -e ready.light ]; do sleep 0.05; done; (sleep 8; touch stop) & touch go; else while [ ! -e go ]; do sleep 0.05; done; fi; i=0; while :; do i=$((i + 1)); if [ $((i % 2000)) = 0 ] && [ -e stop ]; then break; fi; done';
      const manifest = path.join(dir, 'priority.yml');
      fs.writeFileSync(
        manifest,
        fs
          .readFileSync(path.join(ROOT, 'fixtures', 'priority.yml'), 'utf8')
          .replace('cwd: ..', `cwd: ${barrier}`)
          .replace('timeout: 3s', 'timeout: 60s')
          .replace(
            /command: \[sh, -c, 'while :; do :; done'\]\n(.*\n.*cpu-shares: 256)/,
            `command: [sh, -c, '${spin}', heavy]\n$1`,
          )
          .replace(
            /(cpu-shares: 256\n\s*)command: \[sh, -c, 'while :; do :; done'\]/,
            `$1command: [sh, -c, '${spin}', light]`,
          ),
      );
      expect(fs.readFileSync(manifest, 'utf8').match(/ready\.\$0/g)).toHaveLength(2);
      const json = path.join(dir, 'priority.json');
      ringfence(['ci', manifest, '--concurrency', '2', '--json', json]);
      const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
      const cpu = (name: string): number => report.jobs.find((j) => j.id === name)?.result?.cpu.totalMs ?? 0;
      console.log(
        `cpu-shares 1024 : 256 → CPU ${cpu('heavy')} ms : ${cpu('light')} ms = ${(cpu('heavy') / cpu('light')).toFixed(2)} : 1`,
      );
      expect(cpu('heavy') + cpu('light')).toBeGreaterThan(1000);
      // under TCG emulation the split measured 2.7–3.8 over runs (the emulated CPUs are host threads
      // on a loaded 2-core machine; the v1 host asserts 4 ± 0.6 in test/sandbox/priority.test.ts):
      // what this checks is that the weights apply at all (1 : 1 without them)
      expect(cpu('heavy') / cpu('light')).toBeGreaterThanOrEqual(2);
      expect(cpu('heavy') / cpu('light')).toBeLessThanOrEqual(4.6);
    },
  );

  // The pool takes the same lifecycle as `ringfence run` (runJob), which every scenario checks above;
  // the demo itself runs where the pool's enforcement differs — rootless under systemd (a delegated
  // cgroup) and a container with no cgroup and no user namespace — since it costs ~110 s a guest
  // and CI must stay under 30 minutes.
  it.runIf(scenario === 'systemd-user' || scenario === 'container-nouserns')(
    'the Vitest demo: every file sandboxed, hang and runaway end on their timeout',
    () => {
      const json = path.join(dir, 'vitest.json');
      // without a cgroup only the timeouts are asked of it: those two files, to spare the slow guest
      const files = cgroups ? [] : ['hang', 'runaway'];
      const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
      const out = spawnSync(process.execPath, [vitest, 'run', '--root', 'fixtures/vitest-demo', ...files], {
        cwd: ROOT,
        env: {
          ...process.env,
          RINGFENCE_DEMO_TIMEOUT: '25s',
          NO_COLOR: '1',
          RINGFENCE_VITEST_JSON: json,
          RINGFENCE_VITEST_JUNIT: path.join(dir, 'vitest.xml'),
        },
        encoding: 'utf8',
        timeout: 300_000,
      });
      const output = out.stdout + out.stderr;
      expect(out.status, output).toBe(1);
      expect(output).toMatch(/ringfence: hang\.test\.ts was killed: exceeded wall-clock timeout 25s/);
      expect(output).toMatch(/ringfence: runaway\.test\.ts was killed: exceeded wall-clock timeout 25s/);
      const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
      const outcomes = Object.fromEntries(report.jobs.map((job) => [job.id, job.outcome]));
      expect(outcomes['hang.test.ts']).toBe('timeout');
      expect(outcomes['runaway.test.ts']).toBe('timeout');
      if (cgroups) {
        expect(output).toMatch(/Test Files\s+3 failed \| 2 passed \(5\)/);
        expect(output).toMatch(/ringfence: leak\.test\.ts was killed: memory limit 256 MiB reached/);
        expect(outcomes['leak.test.ts']).toBe('oom');
      }
    },
  );

  it('leaves no ringfence cgroup, scope, process or scratch dir behind', () => {
    const found = spawnSync('find', ['/sys/fs/cgroup', '-name', 'ringfence-*', '-type', 'd'], {
      encoding: 'utf8',
    });
    const dirs = found.stdout
      .split('\n')
      .filter((d) => d !== '')
      // a privileged container's processes stay in the leaf ringfence moved them to: it is theirs now
      .filter((d) => !(scenario === 'container-privileged' && path.basename(d) === 'ringfence-leaf'));
    expect(dirs).toEqual([]);
    if (systemd) {
      const user = scenario === 'systemd-user' ? ['--user'] : [];
      const units = spawnSync('systemctl', [...user, 'list-units', '--all', '--no-legend', 'ringfence*'], {
        encoding: 'utf8',
      });
      expect(units.stdout.trim()).toBe('');
    }
    expect(fs.readdirSync(os.tmpdir()).filter((n) => /^ringfence-\d+-\d+-\d+-/.test(n))).toEqual([]);
    const launchers = fs
      .readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .filter((n) => {
        try {
          return fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').startsWith('ringfence-launcher');
        } catch {
          return false;
        }
      });
    expect(launchers).toEqual([]);
  });
});
