// Running Vitest's own CLI from a test, as a user would: fixtures/vitest-demo or a project of its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isLauncherProcess } from '../../harness/launch/binary.js';
import { ROOT } from './sandbox.js';

export const DEMO = path.join(ROOT, 'fixtures', 'vitest-demo');
const VITEST_BIN = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** This process's environment less what makes a Vitest started from inside a Vitest worker believe it is one. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('VITEST') && key !== 'TEST' && key !== 'NODE_ENV',
    ),
  );
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** `vitest run --root ROOT ...args` (the demo by default) run by `node` (this one by default), to its end. */
export function vitestRun(
  args: string[],
  extraEnv: Record<string, string> = {},
  root = DEMO,
  node = process.execPath,
): { status: number | null; output: string } {
  const out = spawnSync(node, [VITEST_BIN, 'run', '--root', root, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: cleanEnv(extraEnv),
  });
  return { status: out.status, output: out.stdout + out.stderr };
}

export interface LiveVitest {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Vitest's CLI started in the background (`args` as given: `run …` or `--watch …`). */
export function vitestStart(args: string[], cwd = ROOT): LiveVitest {
  const child = spawn(process.execPath, [VITEST_BIN, ...args], {
    cwd,
    env: cleanEnv({}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exited };
}

/** Pids of the live (not zombie) children of `parent`. */
export function childrenOf(parent: number): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === parent && state !== 'Z') found.push(Number(name));
    } catch {
      // exited while listing
    }
  }
  return found;
}

/** Pids of ringfence launchers whose parent is `parent` (the sandboxes a Vitest process started). */
export function launchersOf(parent: number): number[] {
  return childrenOf(parent).filter(isLauncherProcess);
}

/** Polls `condition` every 50 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
