// The error every native binding throws (native/libc/, native/spawn-lib/): the call that failed and
// the kernel's errno, by name.
import os from 'node:os';

export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
  ) {
    super(`${syscall}: ${errnoName(errno)}`);
    this.name = 'SyscallError';
  }
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}
