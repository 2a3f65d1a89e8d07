// socketpair(2), which Node lacks: the two ends of a Node IPC channel the harness hands a job
// (harness/launch/node-channel.ts). AF_UNIX, SOCK_STREAM and SOCK_CLOEXEC are the same numbers on
// every architecture Linux supports.
import { SyscallError } from '../errors.js';
import { errno, libcFunction } from './library.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;

const socketpair = libcFunction<(domain: number, type: number, protocol: number, fds: Int32Array) => number>(
  'int socketpair(int domain, int type, int protocol, _Out_ int *sv)',
);

/** A connected pair of close-on-exec Unix stream sockets. */
export function streamSocketPair(): [number, number] {
  const fds = new Int32Array(2);
  if (socketpair()(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) !== 0)
    throw new SyscallError('socketpair', errno());
  return [fds[0] ?? -1, fds[1] ?? -1];
}
