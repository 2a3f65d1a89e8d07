// The launcher binary without namespaces (--no-namespaces: a container that refuses them), started
// directly with a gate and a status pipe as the harness starts it: leftovers still die with the job
// (the launcher is their subreaper), the job sees the host's PID namespace, namespace-only options are
// refused, and the last status line is the whole tree's rusage — in the namespace mode too.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installedLauncherPath } from '../harness/launch/binary.js';
import { parseLauncherReports, type LauncherReport } from '../harness/launch/status.js';
import { FIXTURES, pidAlive } from './support/sandbox.js';

const LAUNCHER = installedLauncherPath();
const runnable = process.platform === 'linux' && fs.existsSync(LAUNCHER);
/** The namespace mode (the comparison cases) needs root here; --no-namespaces needs nothing. */
const root = process.getuid?.() === 0;
const NO_NS = ['--no-namespaces', '--net=host'];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  status: string;
  reports: LauncherReport[];
}

interface Launch {
  child: ChildProcess;
  pid: number;
  done: Promise<Outcome>;
}

const launched: ChildProcess[] = [];
const strayPids: number[] = [];

function ppidOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null; // gone
  }
}

/** Every live descendant of `pid` (not `pid` itself), found by walking /proc's ppid links. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = ppidOf(Number(name));
    if (ppid !== null) children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Starts the launcher as the harness does (gate on fd 3, status on fd 4) and opens its gate; `extra`
 * fds are handed to it from fd 5 on.
 */
function launch(
  options: readonly string[],
  command: readonly string[],
  cwd: string,
  extra: readonly number[] = [],
): Launch {
  const child = spawn(
    LAUNCHER,
    [
      '--gate-fd=3',
      '--status-fd=4',
      `--parent-pid=${process.pid}`,
      `--workdir=${cwd}`,
      ...options,
      '--',
      ...command,
    ],
    { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', ...extra], cwd },
  );
  launched.push(child);
  if (child.pid === undefined) throw new Error(`cannot start ${LAUNCHER}`);
  const text = { stdout: '', stderr: '', status: '' };
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (text.stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (text.stderr += s));
  // fds 3 and 4 are socket pairs, both ways
  const gate = child.stdio[3] as Duplex | null;
  const status = child.stdio[4] as Duplex | null;
  status?.setEncoding('utf8').on('data', (s: string) => (text.status += s));
  const done = new Promise<Outcome>((resolve) =>
    child.once('close', (code, signal) =>
      resolve({ code, signal, ...text, reports: parseLauncherReports(text.status) }),
    ),
  );
  // a launcher that refused its arguments has exited without reading the gate: EPIPE, ECONNRESET
  gate?.on('error', () => undefined);
  gate?.end('g');
  return { child, pid: child.pid, done };
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function readPids(file: string): number[] {
  return fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
}

/** After each test: a failed one may leave a launcher or its job running; end what it started, by pid. */
function cleanUp(): void {
  for (const child of launched.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    for (const pid of descendants(child.pid)) kill(pid);
    child.kill('SIGKILL');
  }
  for (const pid of strayPids.splice(0)) if (pidAlive(pid)) kill(pid);
}

function tree(outcome: Outcome): Extract<LauncherReport, { kind: 'tree' }> {
  const found = outcome.reports.filter((r) => r.kind === 'tree');
  expect(found, outcome.status).toHaveLength(1);
  // the last line the launcher writes
  expect(outcome.reports.at(-1)).toBe(found[0]);
  return found[0] as Extract<LauncherReport, { kind: 'tree' }>;
}

describe('tree status line', () => {
  it('parses as its own kind beside the others, and a cut one is ignored', () => {
    const text = 'exit\t0\t1\t2\t3\ntree\t4096\t1500000\t250\ntree\t1\t2';
    const reports = parseLauncherReports(text);
    expect(reports).toEqual([
      { kind: 'exit', code: 0, maxRssKiB: 1, userUs: 2, systemUs: 3, io: null },
      { kind: 'tree', maxRssKiB: 4096, userUs: 1500000, systemUs: 250 },
    ]);
    // what the harness looks for is found as before
    expect(reports.find((r) => r.kind === 'exit' || r.kind === 'signal')?.kind).toBe('exit');
    expect(reports.find((r) => r.kind === 'error')).toBeUndefined();
  });
});

describe.runIf(runnable)('launcher --no-namespaces', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-no-ns-'));
    fs.chmodSync(dir, 0o755);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(cleanUp);

  it('kills and reaps a daemonized leftover when the job exits, and exits with the job’s code', async () => {
    const pidFile = path.join(dir, 'daemon.pids');
    const run = launch(NO_NS, ['sh', path.join(FIXTURES, 'daemonize-and-exit.sh'), pidFile, '7'], dir);
    await until(() => fs.existsSync(pidFile), 'the daemon wrote its pids');
    const daemon = readPids(pidFile);
    strayPids.push(...daemon);
    expect(daemon).toHaveLength(2);
    const out = await run.done;
    expect(out.code, out.status + out.stderr).toBe(7);
    expect(out.reports.find((r) => r.kind === 'exit')).toMatchObject({ kind: 'exit', code: 7 });
    tree(out);
    // the launcher reaped them before it exited: not even a zombie is left
    for (const pid of daemon) expect(fs.existsSync(`/proc/${pid}`), `daemon process ${pid}`).toBe(false);
    fs.rmSync(pidFile);
  });

  it('runs the job in the host’s PID namespace, as a plain child of init, with the exit line as usual', async () => {
    const out = await launch(NO_NS, ['sh', '-c', 'readlink /proc/self/ns/pid; exit 3'], dir).done;
    expect(out.code, out.status + out.stderr).toBe(3);
    expect(out.stdout.trim()).toBe(fs.readlinkSync('/proc/self/ns/pid'));
    // the job's init named first (a plain child here), the exit, then the tree's figures
    expect(out.reports.map((r) => r.kind)).toEqual(['init', 'exit', 'tree']);
  });

  it.runIf(root)('(the namespace mode, for comparison: a PID namespace of its own)', async () => {
    const out = await launch([], ['readlink', '/proc/self/ns/pid'], dir).done;
    expect(out.code, out.status + out.stderr).toBe(0);
    expect(out.stdout.trim()).toMatch(/^pid:\[\d+\]$/);
    expect(out.stdout.trim()).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
  });

  it.each([
    ['--userns', '--userns'],
    ['--cgroupns', '--cgroupns'],
    ['--volume=/tmp:/mnt:ro', '--volume'],
    ['--tmp-dir=/tmp', '--tmp-dir'],
    ['--tmp-size=1048576', '--tmp-size'],
    ['--read-only', '--read-only'],
    ['--protect=/usr', '--protect'],
    ['--hostname=box', '--hostname'],
    ['--net=none', '--net=host'],
  ])('refuses %s with it: exit 125, an args error naming it', async (option, named) => {
    // (a later --net=host would override --net=none: that one is given alone)
    const net = option.startsWith('--net=') ? [] : ['--net=host'];
    // the option both before and after --no-namespaces: the order must not matter
    for (const options of [
      [option, '--no-namespaces', ...net],
      ['--no-namespaces', ...net, option],
    ]) {
      const out = await launch(options, ['true'], dir).done;
      expect(out.code).toBe(125);
      // nothing ran: no init, so no tree line either
      expect(out.reports, out.status).toHaveLength(1);
      const [error] = out.reports;
      expect(error).toMatchObject({ kind: 'error', errno: 22, code: 'EINVAL' });
      const step = error?.kind === 'error' ? error.step : '';
      expect(step).toMatch(/^args --no-namespaces /);
      expect(step).toContain(named);
    }
  });

  it('wants the network said explicitly: no --net is refused like --net=none', async () => {
    const out = await launch(['--no-namespaces'], ['true'], dir).done;
    expect(out.code).toBe(125);
    expect(out.status).toMatch(/^error\targs --no-namespaces needs --net=host[^\t\n]*\t22\n$/);
  });

  it('accepts every option the harness may pass with it', async () => {
    const keep = fs.openSync('/dev/null', 'r');
    try {
      // what launcherArgs passes besides the gate, status, parent pid and workdir (launch() adds those)
      const options = [
        ...NO_NS,
        '--nofile=64',
        ...(root ? ['--uid=65534', '--gid=65534'] : []),
        '--keep-fd=5',
      ];
      const command = ['sh', '-c', 'echo "$(pwd) $(ulimit -n) $(id -u)"; ls /proc/self/fd'];
      const out = await launch(options, command, dir, [keep]).done;
      expect(out.code, out.status + out.stderr).toBe(0);
      const [first, ...fds] = out.stdout.trim().split('\n');
      expect(first).toBe(`${dir} 64 ${root ? 65534 : process.getuid?.()}`);
      // 0-2, the kept 5 and the one ls lists with (the lowest free: 3); the gate and status are gone
      expect(fds.map(Number)).toEqual([0, 1, 2, 3, 5]);
    } finally {
      fs.closeSync(keep);
    }
  });

  it('ends with init’s status, the tree line and nothing left when every process below it is killed from outside', async () => {
    const pidFile = path.join(dir, 'outside.pids');
    // a daemon orphaned to the launcher, and the job's main process still running
    const script = 'sh "$0" "$1"; exec sleep 1000';
    const fixture = path.join(FIXTURES, 'daemonize-and-exit.sh');
    const run = launch(NO_NS, ['sh', '-c', script, fixture, pidFile], dir);
    await until(() => fs.existsSync(pidFile), 'the daemon wrote its pids');
    const daemon = readPids(pidFile);
    strayPids.push(...daemon);
    await until(() => ppidOf(daemon[0]!) === run.pid, 'the daemon was orphaned to the launcher');
    // what the harness does on a timeout without a cgroup: SIGKILL every descendant, not the launcher
    const below = descendants(run.pid);
    for (const pid of daemon) expect(below).toContain(pid);
    for (const pid of below) kill(pid);
    const out = await run.done;
    expect(out.code, out.status + out.stderr).toBe(128 + 9);
    tree(out);
    for (const pid of below) expect(fs.existsSync(`/proc/${pid}`), `process ${pid}`).toBe(false);
    fs.rmSync(pidFile);
  });
});

describe.runIf(runnable)('launcher tree line: the whole job tree’s rusage', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tree-'));
    fs.chmodSync(dir, 0o755);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(cleanUp);

  const modes: [string, string[], boolean][] = [
    ['--no-namespaces (reaped by the launcher, a subreaper)', NO_NS, true],
    ['namespaces (reaped by init, PID 1)', [], root], // needs root here
  ];
  it.each(modes.filter(([, , can]) => can).map(([mode, options]) => [mode, options] as const))(
    'covers an orphaned grandchild’s CPU burn that the job’s own figures leave out: %s',
    async (_mode, options) => {
      const result = path.join(dir, `spin-${options.length}.json`);
      // `( … & )`: the subshell exits at once, so the spinner's shell is orphaned and reaped by whoever
      // the mode makes the job's reaper — never by the job's main process, which only waits for the file
      const script = `( "$0" "$1" 1 > "$2.tmp" && mv "$2.tmp" "$2" & ); while [ ! -s "$2" ]; do sleep 0.02; done`;
      const out = await launch(
        options,
        ['sh', '-c', script, process.execPath, path.join(FIXTURES, 'cpu-spin.js'), result],
        dir,
      ).done;
      expect(out.code, out.status + out.stderr).toBe(0);
      const spin = JSON.parse(fs.readFileSync(result, 'utf8')) as { userMs: number; totalMs: number };
      fs.rmSync(result);
      const exit = out.reports.find((r) => r.kind === 'exit');
      if (exit?.kind !== 'exit') throw new Error(`no exit line: ${out.status}`);
      const whole = tree(out);
      expect(spin.totalMs).toBeGreaterThanOrEqual(1000);
      // the tree has the spinner's CPU time, the job's main process (and what it reaped) has not
      expect(whole.userUs).toBeGreaterThanOrEqual(0.8 * spin.userMs * 1000);
      expect(whole.userUs + whole.systemUs).toBeGreaterThanOrEqual(0.9 * spin.totalMs * 1000);
      expect(exit.userUs + exit.systemUs).toBeLessThan(0.25 * spin.totalMs * 1000);
      // the largest single process is at least node's, which the main shell's figure never saw
      expect(whole.maxRssKiB).toBeGreaterThan(exit.maxRssKiB);
    },
  );
});
