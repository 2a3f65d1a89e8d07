// Helpers shared by the fault, property and load suites: where an instance's cgroups and scratch dirs
// are, which processes sit in them, and polling with a deadline. Read from the kernel, never mocked.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseInstanceName, type InstanceId } from '../../harness/cgroup/instance.js';
import { CLI, ROOT } from '../support/sandbox.js';

/** Every `ringfence-<pid>-<start>-<thread>` instance parent on the machine, in any hierarchy. */
export function instanceDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      if (parseInstanceName(entry.name) !== null) out.push(full);
      else if (depth > 0) walk(full, depth - 1);
    }
  };
  walk('/sys/fs/cgroup', 6);
  return out;
}

/** Instance parents (every hierarchy) owned by process `pid`, optionally only thread `threadId`. */
export function instanceDirsOf(pid: number, threadId?: number): string[] {
  const parents = instanceDirs().filter((dir) => parseInstanceName(path.basename(dir))?.pid === pid);
  if (threadId === undefined) return parents;
  // one parent per process; a thread's own are its job cgroups in it, named job-<threadId>-…
  return parents.flatMap((dir) => {
    try {
      return fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name.startsWith(`job-${threadId}-`))
        .map((e) => path.join(dir, e.name));
    } catch {
      return [];
    }
  });
}

/** Scratch dirs of process `pid` (optionally one thread of it) in the host's tmpdir. */
export function scratchDirsOf(pid: number, threadId?: number): string[] {
  const prefix = threadId === undefined ? `ringfence-${pid}-` : null;
  return fs
    .readdirSync(os.tmpdir())
    .filter((name) => {
      if (prefix !== null) return name.startsWith(prefix);
      const m = /^ringfence-(\d+)-(\d+)-(\d+)-/.exec(name);
      return m !== null && Number(m[1]) === pid && Number(m[3]) === threadId;
    })
    .map((name) => path.join(os.tmpdir(), name));
}

/** The pids in every job cgroup below the given instance parents (cgroup.procs, all hierarchies). */
export function pidsUnder(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    try {
      for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n'))
        if (line.trim() !== '') pids.add(Number(line));
      for (const entry of fs.readdirSync(dir, { withFileTypes: true }))
        if (entry.isDirectory()) walk(path.join(dir, entry.name));
    } catch {
      // removed while walking
    }
  };
  for (const dir of dirs) walk(dir);
  return [...pids];
}

/** The instance a process's job runs under, from its /proc/<pid>/cgroup (freezer line), or null. */
export function instanceOfPid(pid: number): InstanceId | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    // …/ringfence-<pid>-<starttime>/job-<threadId>-<n>-<random>
    const m = /\/(ringfence-\d+-\d+)\/job-(\d+)-/.exec(text);
    const id = m?.[1] === undefined ? null : parseInstanceName(m[1]);
    return id === null ? null : { ...id, threadId: Number(m?.[2]) };
  } catch {
    return null;
  }
}

/** A process's command line with spaces between the arguments ('' once it is gone or a zombie). */
export function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Pids whose command line is exactly `argv` (NUL-separated in /proc). */
export function pidsByCmdline(argv: readonly string[]): number[] {
  const want = argv.join('\0');
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0$/, '') === want)
        found.push(Number(name));
    } catch {
      // exited while listing
    }
  }
  return found;
}

/** Polls `check` every 20 ms until it returns a value other than undefined/false, or throws at the deadline. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | false,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
  ms: number;
}

/** The built CLI as a child process that runs beside the test (spawnSync would block the poller). */
export function ringfenceAsync(args: readonly string[], onSpawn?: (pid: number) => void): Promise<CliRun> {
  const start = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  if (child.pid !== undefined) onSpawn?.(child.pid);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) =>
      resolve({ status, signal, stdout, stderr, pid: child.pid ?? -1, ms: performance.now() - start }),
    );
  });
}
