// Shared by the benchmarks: finding a contender on PATH and running one to completion.
import { execFileSync, spawn } from 'node:child_process';

export function which(program: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function spawnAndWait(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}`)),
    );
  });
}

/** bwrap with the namespaces ringfence makes (pid, uts, ipc, net, mount), over the host's root. */
export function bwrapArgv(bwrap: string, command: string[]): string[] {
  return [
    bwrap,
    '--unshare-pid',
    '--unshare-uts',
    '--unshare-ipc',
    '--unshare-net',
    '--bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    ...command,
  ];
}
