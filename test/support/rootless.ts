// Running the built CLI, or a script of the harness's, as a user who is not root: setpriv to uid
// 65534 (nobody), for the tests of what a rootless user gets (test/sandbox/*-rootless.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CLI } from './sandbox.js';

export const NOBODY = 65534;

/** Why a rootless job cannot be tried here (no setpriv, unprivileged user namespaces off), or null. */
export function rootlessUnavailable(): string | null {
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'no setpriv (util-linux)';
  const read = (file: string): string | null => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      return null;
    }
  };
  if (read('/proc/sys/user/max_user_namespaces') === '0') return 'user.max_user_namespaces is 0';
  if (read('/proc/sys/kernel/unprivileged_userns_clone') === '0')
    return 'unprivileged user namespaces are off';
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1')
    return 'AppArmor restricts unprivileged user namespaces';
  return null;
}

/**
 * Node with `args` as nobody, from `cwd`, with `env` added to ours; resolves with its exit status and
 * both outputs once it closed.
 */
export function nodeAsNobody(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ...args],
      { cwd, env: { ...process.env, ...env, HOME: cwd }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The CLI as nobody (nodeAsNobody). */
export function cliAsNobody(
  cwd: string,
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return nodeAsNobody(cwd, [CLI, ...args]);
}
