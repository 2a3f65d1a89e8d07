// Shared by the adversarial tests (one attack per file): the C fixtures compiled at test time, temp
// dirs that the tests remove again, a host process and a host set-uid binary to aim at, and the
// fixtures' "LABEL RESULT" lines.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, pidAlive } from '../support/sandbox.js';

export const ADVERSARIAL = path.join(FIXTURES, 'adversarial');

/**
 * A directory under the host's /tmp, readable by any uid (a job run as 65534 must reach it). Jobs get
 * it as their workdir: ringfence binds a workdir under /tmp back in at the same path, though /tmp
 * itself is private.
 */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rf-adv-${label}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Compiles fixtures/adversarial/NAME.c into DIR/NAME and returns its path. */
export function compile(dir: string, name: string): string {
  const out = path.join(dir, name);
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', out, path.join(ADVERSARIAL, `${name}.c`)], {
    encoding: 'utf8',
  });
  if (cc.status !== 0)
    throw new Error(`cc ${name}.c failed (${cc.status}): ${cc.error?.message ?? cc.stderr}`);
  return out;
}

/** The C fixtures print "LABEL RESULT" lines (RESULT: ok or an errno name): LABEL → RESULT. */
export function outcomes(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const [label, result] = line.trim().split(/\s+/);
    if (label && result !== undefined) out[label] = result;
  }
  return out;
}

/** Lines of "LABEL the rest of the line": LABEL → the rest (which may hold spaces). */
export function labelled(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.trim().split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) out[line.slice(0, space)] = line.slice(space + 1);
  }
  return out;
}

/** A process of the host's own, outside every sandbox: what an attack must not reach. */
export interface HostProcess {
  pid: number;
  alive(): boolean;
  stop(): void;
}

export function hostSleeper(seconds = 60): HostProcess {
  const child = spawn('sleep', [String(seconds)], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the host sleeper');
  return {
    pid,
    alive: () => pidAlive(pid),
    stop: () => {
      child.kill('SIGKILL');
    },
  };
}

/**
 * Volumes that show the fixtures to a job whose workdir is elsewhere: a checkout under the host's
 * /tmp (where CI may clone) is hidden by the job's private /tmp unless bound back in, read-only.
 */
export function fixtureVolumes(): string[] {
  return path.relative('/tmp', FIXTURES).startsWith('..') ? [] : [`${FIXTURES}:${FIXTURES}:ro`];
}

const HOST_SETUID_CANDIDATES = ['/usr/bin/su', '/usr/bin/passwd', '/usr/bin/mount', '/bin/su'];

/** A set-uid root binary of the host's (every Debian has su and passwd); throws where there is none. */
export function hostSetuidBinary(): string {
  const found = HOST_SETUID_CANDIDATES.find((p) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    return st?.isFile() === true && st.uid === 0 && (st.mode & 0o4000) !== 0;
  });
  if (found === undefined)
    throw new Error(`no set-uid root binary to attack with (${HOST_SETUID_CANDIDATES.join(', ')})`);
  return found;
}
