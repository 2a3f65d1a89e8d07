// A job under `--network allow:…`, around the one job path: a network namespace made here with only
// `lo` (native/spawn/netns.c), the shared proxy's listener for this job inside it (proxy.ts), the
// proxy variables in the job's environment, and — once it ended — every connection it tried in its
// result. The job (and its services) join that namespace as services join theirs; the namespace,
// the listener and the proxy stay the harness's own fds, which nothing in the job holds.
import fs from 'node:fs';
import { listenInNetns } from '../../native/spawn.js';
import { failedToStart } from '../job/result-build.js';
import type { JobNetwork, JobResult } from '../job/result.js';
import type { RunOptions } from '../job/run-options.js';
import type { JobSpec } from '../job/spec.js';
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

type Made = { netFd: number | null; listenFd: number; port: number };

/** The next job's namespace and listener, made while this one runs (as a spare launcher is). */
let ahead: Made | null = null;

function takeMade(): Made {
  const made = ahead ?? listenInNetns(null);
  ahead = null;
  return made;
}

function prepareNext(): void {
  setImmediate(() => {
    try {
      ahead ??= listenInNetns(null);
    } catch {
      // the next job makes its own, and says why if it cannot
    }
  });
}

/** Runs `spec` (network `allow`) through `next` (the job path, services or not) with its way out. */
export async function runWithAllowList(
  spec: JobSpec,
  options: RunOptions,
  next: (spec: JobSpec, options: RunOptions) => Promise<JobResult>,
): Promise<JobResult> {
  const startedAt = new Date();
  let made: Made;
  try {
    if (process.geteuid?.() !== 0)
      throw new Error(
        'needs root for now: rootless, the job is in a user namespace of its own, whose network the harness cannot enter',
      );
    if (options.netnsFd !== undefined) throw new Error('takes no network namespace of the caller');
    made = takeMade();
  } catch (error) {
    const reason = `--network allow: ${error instanceof Error ? error.message : String(error)}`;
    return { ...failedToStart(spec, startedAt, 'network', new Error(reason), null), reason };
  }
  const netFd = made.netFd as number;
  const way = attach(made.listenFd, spec.allow);
  prepareNext();
  try {
    const result = await next(
      { ...spec, env: { ...spec.env, ...proxyEnv(made.port) } },
      { ...options, netnsFd: netFd },
    );
    await way.detach();
    const network: JobNetwork = {
      mode: 'allow',
      allow: spec.allow.map(formatAllowRule),
      connections: way.job.connections.map((c) => ({ ...c })),
      truncated: way.job.truncated,
    };
    return { ...result, network };
  } finally {
    await way.detach();
    fs.closeSync(netFd);
  }
}
