// Shared by every test that needs the real sandbox: whether it can run here, and the leftovers check
// (cgroups, launcher processes, scratch dirs, mounts) that every such test ends with.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe } from 'vitest';
import { isInstanceStale, parseInstanceName } from '../../harness/cgroup/instance.js';
import { Sandbox } from '../../harness/launch/spares.js';
import { installedLauncherPath, isLauncherProcess } from '../../harness/launch/binary.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'fixtures');
export const CLI = path.join(ROOT, 'dist', 'harness', 'cli', 'main.js');

/** The built CLI as a user runs it, from the repository root; `ms` is the whole command's wall time. */
export function ringfence(...args: string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
} {
  const start = performance.now();
  const out = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr, ms: performance.now() - start };
}

/**
 * The JUnit schema every report must validate against: ../shared/schemas/junit-10.xsd where the
 * project's shared folder sits beside the checkout (development, CI), else the identical copy in
 * test/fixtures (a clone anywhere else); test/reporters checks the two are the same.
 */
const SHARED_XSD = path.resolve(ROOT, '..', 'shared', 'schemas', 'junit-10.xsd');
export const VENDORED_XSD = path.join(ROOT, 'test', 'fixtures', 'junit-10.xsd');
export const JUNIT_XSD = fs.existsSync(SHARED_XSD) ? SHARED_XSD : VENDORED_XSD;
export const SHARED_JUNIT_XSD = SHARED_XSD;

/** Why the sandbox cannot run here, or null when it can. */
export function sandboxUnavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (cgroup creation and namespaces need it here)';
  if (!fs.existsSync(installedLauncherPath()))
    return `launcher not built (${installedLauncherPath()}): run npm install`;
  if (!fs.existsSync('/sys/fs/cgroup')) return 'no /sys/fs/cgroup';
  return null;
}

/**
 * describe() for suites that need the sandbox: skipped where it cannot run, but with
 * RINGFENCE_REQUIRE_SANDBOX=1 (CI) they run anyway and fail loudly.
 */
export function describeSandbox(name: string, body: () => void): void {
  const why = sandboxUnavailable();
  if (why && process.env.RINGFENCE_REQUIRE_SANDBOX !== '1') describe.skip(`${name} (skipped: ${why})`, body);
  else
    describe(name, () => {
      // vitest ends its workers with SIGTERM, which skips 'exit' handlers: remove the instance parents here
      afterAll(() => Sandbox.disposeAll());
      body();
    });
}

export interface Leftovers {
  cgroups: string[];
  launchers: number[];
  scratch: string[];
  mounts: string[];
}

function findDirs(
  root: string,
  depth: number,
  match: (name: string) => boolean,
  out: string[] = [],
): string[] {
  if (depth < 0) return out;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const full = path.join(root, entry.name);
    if (match(entry.name)) out.push(full);
    else findDirs(full, depth - 1, match, out);
  }
  return out;
}

/**
 * The suite run every process it starts belongs to: set in the Vitest process (the global setup
 * loads this module before any worker starts) and inherited by each worker, CLI and job the tests
 * start. A live process without it is another run on this machine (a second suite, a contributor's
 * own job), whose cgroups, scratch dirs and launchers are not this run's to count.
 */
const RUN_MARK = 'RINGFENCE_TEST_RUN';
process.env[RUN_MARK] ??= `${process.pid}-${Date.now()}`;

/** Whether `pid` is alive and of another run: a gone process's things are leftovers like ours. */
function ofAnotherRun(pid: number): boolean {
  if (pid === process.pid || pid <= 1) return false;
  let environ: string;
  try {
    environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return false;
  }
  return !environ.split('\0').includes(`${RUN_MARK}=${process.env[RUN_MARK]}`);
}

/** The owner a cgroup or scratch name carries: `ringfence-<pid>-…`, or a test's `rf-…-<pid>`. */
function ownerOf(name: string): number | null {
  const m = /^ringfence-(\d+)-/.exec(name) ?? /^rf-.*-(\d+)$/.exec(name);
  return m?.[1] === undefined ? null : Number(m[1]);
}

function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

const ours = (name: string): boolean => {
  const owner = ownerOf(name);
  return owner === null || !ofAnotherRun(owner);
};

/**
 * Everything ringfence may leave behind. Between jobs a live process keeps its empty instance parent
 * (`ringfence-<pid>-<start>-<thread>`, reused by the next job); `strict` counts those too, for the
 * end of the suite when every worker has gone.
 */
export async function leftovers(options: { strict?: boolean } = {}): Promise<Leftovers> {
  await Sandbox.settle();
  // ringfence's own, and the rf-* parents tests make for --cgroup-parent
  const mine = (name: string): boolean => name.startsWith('ringfence-') || name.startsWith('rf-');
  const allowed = (dir: string): boolean => {
    if (options.strict) return false;
    const id = parseInstanceName(path.basename(dir));
    return (
      id !== null &&
      !isInstanceStale(id) &&
      fs.readdirSync(dir, { withFileTypes: true }).every((e) => !e.isDirectory())
    );
  };
  // every launcher runs from a sealed memfd copy: its exe names that, whatever its argv says
  const listLaunchers = (): number[] =>
    fs
      .readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter(isLauncherProcess)
      .filter((pid) => !ofAnotherRun(parentOf(pid)));
  // one already killed (a worker thread's spare when the thread ended: PR_SET_PDEATHSIG) is on its
  // way out and is no leftover: wait for it to be gone, then count what is left
  let launchers = listLaunchers();
  for (
    const deadline = performance.now() + 5000;
    launchers.some(killPending) && performance.now() < deadline;
  ) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    launchers = listLaunchers();
  }
  return {
    cgroups: findDirs('/sys/fs/cgroup', 6, mine).filter((dir) => ours(path.basename(dir)) && !allowed(dir)),
    launchers,
    // scratch dirs are named ringfence-<pid>-<starttime>-<thread>-<random>: not any file called ringfence-…
    scratch: fs
      .readdirSync(os.tmpdir())
      .filter((name) => /^ringfence-\d+-\d+-\d+-/.test(name) && ours(name))
      .map((name) => path.join(os.tmpdir(), name)),
    mounts: fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((line) => line.includes('ringfence')),
  };
}

/** Whether a SIGKILL is pending for `pid` (thread or process-wide): it dies as soon as it runs. */
function killPending(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const SIGKILL_BIT = 1n << 8n; // signal 9
    return ['SigPnd', 'ShdPnd'].some((key) => {
      const hex = new RegExp(`^${key}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1];
      return hex !== undefined && (BigInt(`0x${hex}`) & SIGKILL_BIT) !== 0n;
    });
  } catch {
    return false; // gone already
  }
}

export const NO_LEFTOVERS: Leftovers = { cgroups: [], launchers: [], scratch: [], mounts: [] };

export function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat); // a zombie is dead, only not yet reaped
  } catch {
    return false;
  }
}
