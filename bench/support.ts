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

/** The median of a sample (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The 90th percentile of a sample (nearest rank). */
export function p90(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)]!;
}
