// A job under `--network allow:…`, around the one job path: a network namespace with only `lo`, made
// ahead while the previous job ran (ahead.ts, native/spawn/netns.c), the shared proxy's listener for
// this job inside it (proxy.ts), the proxy variables in the job's environment, and — once it ended —
// every connection it tried in its result. The job (and its services) join that namespace as
// services join theirs — rootless, with the user namespace that owns it (native/spawn/usernet.c);
// the namespaces, the listener and the proxy stay the harness's own fds, which nothing in the job holds.
import fs from 'node:fs';
import os from 'node:os';
import { SyscallError } from '../../native/errors.js';
import { apparmorRestrictsUserns, namespacesFix } from '../job/enforce.js';
import { failedToStart } from '../job/result-build.js';
import type { JobNetwork, JobResult } from '../job/result.js';
import type { RunOptions } from '../job/run-options.js';
import type { JobSpec } from '../job/spec.js';
import { prepareNetns, takeNetns, type MadeNetns } from './ahead.js';
import { formatAllowRule } from './allow.js';
import { attach } from './proxy.js';

/** The variables that point tools at the proxy; 127.0.0.1 (the job's own services) goes direct. */
export function proxyEnv(port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    // Node 24's fetch and http honour the variables only when asked
    NODE_USE_ENV_PROXY: '1',
  };
}

/** How a kernel says no to a namespace: no permission (seccomp, AppArmor, no capability), or a limit of 0. */
const { EPERM, EACCES, ENOSPC } = os.constants.errno;
const REFUSED = new Set([EPERM, EACCES, ENOSPC]);

/**
 * The one line for a host that will not make the way out's namespaces (a container without
 * CAP_SYS_ADMIN, user namespaces off or restricted): what failed, and what would let it.
 */
function namespaceRefusal(error: SyscallError, apparmor: boolean): string {
  return `--network allow: this host refuses the job a network namespace of its own (${error.message}) — fix: ${namespacesFix(apparmor)}`;
}

/** Runs `spec` (network `allow`) through `next` (the job path, services or not) with its way out. */
export async function runWithAllowList(
  spec: JobSpec,
  options: RunOptions,
  next: (spec: JobSpec, options: RunOptions) => Promise<JobResult>,
): Promise<JobResult> {
  const startedAt = new Date();
  // RunOptions.trace: the job's phases count from here, and the way out's own steps join them
  const origin = options.trace ? (options.traceOrigin ?? process.hrtime.bigint()) : undefined;
  const at = (phase: string): { phase: string; ms: number } => ({
    phase,
    ms: Math.round(Number(process.hrtime.bigint() - (origin ?? 0n)) / 1e3) / 1e3,
  });
  const marks: { phase: string; ms: number }[] = [];
  let made: MadeNetns;
  try {
    if (options.netnsFd !== undefined) throw new Error('takes no network namespace of the caller');
    made = await takeNetns();
  } catch (error) {
    const reason =
      error instanceof SyscallError && REFUSED.has(error.errno)
        ? namespaceRefusal(error, apparmorRestrictsUserns())
        : `--network allow: ${error instanceof Error ? error.message : String(error)}`;
    return { ...failedToStart(spec, startedAt, 'network', new Error(reason), null), reason };
  }
  const { netFd, userFd } = made;
  if (origin !== undefined) marks.push(at('net taken'));
  const way = attach(made.listenFd, spec.allow);
  // the next job's, on the thread pool while this one starts and runs
  prepareNetns();
  if (origin !== undefined) marks.push(at('net attached'));
  try {
    const result = await next(
      { ...spec, env: { ...spec.env, ...proxyEnv(made.port) } },
      {
        ...options,
        netnsFd: netFd,
        ...(userFd === null ? {} : { usernsFd: userFd }),
        ...(origin === undefined ? {} : { traceOrigin: origin }),
      },
    );
    if (origin !== undefined) marks.push(at('net job returned'));
    await way.detach();
    if (origin !== undefined) marks.push(at('net detached'));
    const network: JobNetwork = {
      mode: 'allow',
      allow: spec.allow.map(formatAllowRule),
      connections: way.job.connections.map((c) => ({ ...c })),
      truncated: way.job.truncated,
      ...(way.job.overLimit > 0 ? { overLimit: way.job.overLimit } : {}),
    };
    const trace = result.trace ? { trace: [...marks, ...result.trace].sort((a, b) => a.ms - b.ms) } : {};
    return { ...result, network, ...trace };
  } finally {
    await way.detach();
    fs.closeSync(netFd);
    if (userFd !== null) fs.closeSync(userFd);
  }
}
