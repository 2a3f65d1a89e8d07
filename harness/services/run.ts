// A job with services (GitHub Actions' `services:`, Docker Compose's `depends_on`, the ringfence way):
// each service is a sandbox of its own — own cgroup, caps, accounting, mount and PID namespaces —
// and all of them and the job share one network namespace, made for this job alone: inside it
// 127.0.0.1:6379 is this job's own Redis, so two jobs in parallel each get theirs on the same port.
//
// The first service's sandbox makes the namespace (as every job makes one); the harness holds an fd
// of it (/proc/<its init>/ns/net) for the others and the job to join (the launcher's --net=join),
// and closes it at the end, when the namespace goes with its last process. Where that sandbox is in
// a user namespace (rootless, or --userns) the harness holds that one too and the others join it
// first (--userns-fd): one user namespace for the set, as one network — a sandbox in a user namespace
// of its own could not join a network owned by another. Each keeps its own mount, PID, UTS and IPC
// namespaces and cgroup. Rootless, a set in which one runs as another id (`user: postgres`) gets the
// user's subordinate ids mapped in that namespace (subids.ts), or is refused saying how to add them.
// Services start one at a time in startOrder() (after all they `needs`; else as listed), each ready before the next (its check: a port accepting, probed from inside the
// namespace by the launcher; a command exiting 0, run as a sandbox in the namespace; a line of its
// output). Then the job runs; a service that ends meanwhile ends the job, failed, naming it.
// Afterwards the services are ended in the reverse of their start order, each through the freezer
// path (as a timeout ends a job) before the next: an app server goes before the database it needs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { launcherPath, LAUNCHER_ARGV0 } from '../launch/binary.js';
import type { JobResult, ServiceResult } from '../job/result.js';
import { describeReady, startOrder, type ServiceSpec } from './spec.js';
import { userSubids, type Subids } from './subids.js';
import { failedToStart } from '../job/result-build.js';
import { runInSandbox } from '../job/run.js';
import type { RunOptions, RunningJob } from '../job/run-options.js';
import type { JobSpec } from '../job/spec.js';
import { isRoot } from '../identity.js';

/** Between ready checks: a tcp probe is a short-lived process of a few ms, so this stays small. */
const POLL_MS = 5;
/** What a failure quotes of a service's output. */
const LAST_OUTPUT_CHARS = 400;

/** A service's output as it comes, kept for its ready check and for the failure's "last output". */
class OutputTail extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    // keep a bounded tail: enough for a ready line and a failure's quote
    this.text = (this.text + chunk.toString('utf8')).slice(-64 * 1024);
    done();
  }
  last(): string {
    const tail = this.text.trim().slice(-LAST_OUTPUT_CHARS);
    return tail === '' ? '(none)' : tail.replace(/\s+/g, ' ');
  }
}

interface Running {
  service: ServiceSpec;
  handle: RunningJob;
  done: Promise<JobResult>;
  result: JobResult | null;
  output: OutputTail;
  readyMs: number | null;
}

function ended(run: Running): boolean {
  return run.result !== null;
}

/** Whether `pid` is still a child of the launcher (not reaped: its pid not reused by another). */
function childOf(launcherPid: number, pid: number): boolean {
  const children = fs.readFileSync(`/proc/${launcherPid}/task/${launcherPid}/children`, 'utf8');
  return children.trim().split(/\s+/).includes(String(pid));
}

/**
 * The namespaces the first service's sandbox shares, from the job's init as its launcher names it (a
 * spare's init made ahead may have been dropped for a fresh one), or why there are none. Checked
 * after each open: init must still be the launcher's child, and the network namespace must not be
 * ours — never a job joined to a network it was not made, nor the host's. The user namespace is
 * shared where init has one of its own.
 */
async function openShared(handle: RunningJob): Promise<Shared | { why: string; ended: boolean }> {
  const launcherPid = handle.launcherPid;
  let init: number | null;
  let net: number;
  try {
    init = await handle.initPid();
    if (init === null) throw new Error('no init');
    net = fs.openSync(`/proc/${init}/ns/net`, 'r');
  } catch {
    return { why: 'its sandbox ended', ended: true };
  }
  if (!childOf(launcherPid, init)) {
    fs.closeSync(net);
    return { why: 'its sandbox ended', ended: true };
  }
  if (fs.fstatSync(net).ino === fs.statSync('/proc/self/ns/net').ino) {
    fs.closeSync(net);
    return {
      why: 'it got no network namespace of its own to share (this host lets ringfence make none: see `ringfence doctor`)',
      ended: false,
    };
  }
  let user: number | null = null;
  try {
    user = fs.openSync(`/proc/${init}/ns/user`, 'r');
    if (!childOf(launcherPid, init) || fs.fstatSync(user).ino === fs.statSync('/proc/self/ns/user').ino) {
      fs.closeSync(user);
      user = null;
    }
  } catch {
    // its sandbox ended: the next to join fails and says so
  }
  return { net, user };
}

/** The namespaces a set shares: its network, and the user namespace that owns it (or null). */
interface Shared {
  net: number;
  user: number | null;
}

function joinOptions(shared: Shared): { netnsFd: number; usernsFd?: number } {
  return shared.user === null ? { netnsFd: shared.net } : { netnsFd: shared.net, usernsFd: shared.user };
}

/** Whether 127.0.0.1:port accepts in the shared network: the launcher's probe mode, from inside. */
function probeTcp(shared: Shared, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const userns = shared.user === null ? [] : ['--userns-fd=3'];
    const child = spawn(launcherPath(), [`--probe-tcp=${port}`, '--net-fd=0', ...userns], {
      argv0: LAUNCHER_ARGV0,
      stdio: [shared.net, 'ignore', 'ignore', ...(shared.user === null ? [] : [shared.user])],
    });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Why a service failed its job, in one line with its last output. */
function failure(run: Running, what: string): string {
  return `service ${run.service.name}: ${what}; its last output: ${run.output.last()}`;
}

function endedHow(result: JobResult): string {
  if (result.status === 'passed' || result.status === 'failed') return `exited with code ${result.exitCode}`;
  return result.reason;
}

/**
 * Waits until the service is ready: null when it is, else why not (it ended, or the time ran out).
 */
async function waitReady(run: Running, shared: Shared, startedAt: number): Promise<string | null> {
  const { ready, readyTimeoutMs } = run.service;
  const deadline = startedAt + readyTimeoutMs;
  for (;;) {
    if (ended(run)) return failure(run, `${endHow(run)} before it was ready`);
    let ok = false;
    if (ready === null) ok = true;
    else if ('tcp' in ready) ok = await probeTcp(shared, ready.tcp);
    else if ('log' in ready) ok = new RegExp(ready.log, 'm').test(run.output.text);
    else {
      const check = await runInSandbox(
        { ...run.service.spec, name: `${run.service.name} ready`, command: ready.command, services: [] },
        { ...joinOptions(shared), prepareNext: false, warn: false },
      );
      ok = check.status === 'passed';
    }
    if (ok && !ended(run)) {
      run.readyMs = Math.round(performance.now() - startedAt);
      return null;
    }
    if (performance.now() > deadline)
      return failure(run, `not ready on ${describeReady(ready)} after ${readyTimeoutMs / 1000}s`);
    await sleep(POLL_MS);
  }
}

function endHow(run: Running): string {
  return run.result ? endedHow(run.result) : 'ended';
}

/** A result for the job that never ran: a service failed first (the reason is the service's, as said). */
function notRun(spec: JobSpec, reason: string, startedAt: Date): JobResult {
  return { ...failedToStart(spec, startedAt, 'services', new Error(reason), null), reason };
}

/** Runs `spec` with its services (spec.services non-empty), each of them and the job in its own sandbox. */
export async function runWithServices(spec: JobSpec, options: RunOptions): Promise<JobResult> {
  const startedAt = new Date();
  const ids = subidsFor(spec);
  if (ids !== null && 'why' in ids) return { ...notRun(spec, ids.why, startedAt), services: [] };
  // the allow-list's user namespace maps the user alone: no subordinate ids for another id inside
  if (ids !== null && options.usernsFd !== undefined) {
    const why = `--network allow: rootless, services and a job that run as another uid than 0 inside are not supported together yet (its user namespace maps only your own uid); run them as root inside, or run ringfence as root`;
    return { ...notRun(spec, why, startedAt), services: [] };
  }
  const runs: Running[] = [];
  // namespaces given (the allow-list's, harness/net/run.ts) are the caller's to close
  const given = options.netnsFd ?? null;
  const givenUser = options.usernsFd ?? null;
  let shared: Shared | null = given === null ? null : { net: given, user: givenUser };
  let problem: string | null = null;
  try {
    for (const service of startOrder(spec.services)) {
      const output = new OutputTail();
      const t0 = performance.now();
      let onStart: (handle: RunningJob) => void = () => undefined;
      const started = new Promise<RunningJob>((resolve) => (onStart = resolve));
      const done = runInSandbox(service.spec, {
        ...(shared === null ? (ids === null ? {} : { subids: ids }) : joinOptions(shared)),
        prepareNext: false,
        warn: false,
        stdout: output,
        stderr: output,
        onStart: (handle) => onStart(handle),
      });
      // started (the handle came), or over without starting
      const handle = await Promise.race([started, done.then(() => null)]);
      if (handle === null) {
        const result = await done;
        problem = `service ${service.name}: could not start: ${result.reason}`;
        break;
      }
      const run: Running = { service, handle, done, result: null, output, readyMs: null };
      void done.then((r) => (run.result = r));
      runs.push(run);
      if (shared === null) {
        const opened = await openShared(run.handle);
        if ('why' in opened) {
          if (!opened.ended) run.handle.abort();
          run.result = await done;
          problem = opened.ended
            ? failure(run, `${endedHow(run.result)} before it was ready`)
            : failure(run, opened.why);
          break;
        }
        shared = opened;
      }
      problem = await waitReady(run, shared, t0);
      if (problem) break;
    }

    let result: JobResult;
    if (problem !== null || shared === null) {
      result = notRun(spec, problem ?? 'no service started', startedAt);
    } else {
      result = await runJobBeside(spec, options, runs, shared);
    }
    return { ...result, services: await endServices(runs, spec.services) };
  } finally {
    if (shared !== null && shared.net !== given) fs.closeSync(shared.net);
    if (shared?.user != null && shared.user !== givenUser) fs.closeSync(shared.user);
  }
}

/**
 * Rootless, where the job or a service runs as another id than root inside (`user`): the user's
 * subordinate ids for the set's user namespace, or why there are none; else null (root maps a range
 * of its own, and a set all of root inside needs only the user).
 */
function subidsFor(spec: JobSpec): Subids | { why: string } | null {
  if (isRoot()) return null;
  const users = [
    ...spec.services.map((s) => ({ name: `service ${s.name}`, user: s.spec.user })),
    { name: 'the job', user: spec.user },
  ].flatMap(({ name, user }) =>
    user === null || (user.uid === 0 && user.gid === 0) ? [] : [{ name, ...user }],
  );
  const first = users[0];
  if (first === undefined) return null;
  const ids = userSubids(Math.max(...users.map((u) => Math.max(u.uid, u.gid))));
  if ('why' in ids)
    return {
      why: `${first.name} runs as uid ${first.uid} inside, which rootless needs subordinate ids for: ${ids.why}`,
    };
  return ids;
}

/** The job itself, in the services' namespace; a service that ends meanwhile ends it, failed. */
async function runJobBeside(
  spec: JobSpec,
  options: RunOptions,
  runs: Running[],
  shared: Shared,
): Promise<JobResult> {
  let job: RunningJob | null = null;
  // set from callbacks: a box, so the compiler does not narrow it to its initial null
  const state: { lost: Running | null; over: boolean } = { lost: null, over: false };
  const timers: NodeJS.Timeout[] = [];
  for (const run of runs) {
    void run.done.then(() => {
      if (state.over || state.lost) return;
      state.lost = run;
      job?.abort();
    });
  }
  const result = await runInSandbox(
    { ...spec, services: [] },
    {
      ...options,
      ...joinOptions(shared),
      onStart: (handle) => {
        job = handle;
        options.onStart?.(handle);
        if (state.lost) handle.abort(); // it ended while this one started
        // the faults: each pause window, measured from the job's start
        for (const run of runs) {
          const pause = run.service.pause;
          if (!pause) continue;
          timers.push(
            setTimeout(() => {
              void run.handle.pause().then((paused) => {
                if (paused) timers.push(setTimeout(() => run.handle.resume(), pause.forMs));
              });
            }, pause.afterMs),
          );
        }
      },
    },
  );
  state.over = true;
  for (const timer of timers) clearTimeout(timer);
  const gone = state.lost;
  if (gone === null) return result;
  const reason = `service ${gone.service.name} ${endHow(gone)} while the job ran; its last output: ${gone.output.last()}`;
  return { ...result, status: 'failed', reason };
}

/**
 * Ends every service still running (the freezer path), the last started first, each gone before the
 * next is ended; collects each one's result, in the listed order.
 */
async function endServices(runs: Running[], services: readonly ServiceSpec[]): Promise<ServiceResult[]> {
  const running = new Set(runs.filter((run) => !ended(run)));
  for (const run of [...runs].reverse()) {
    if (!running.has(run)) continue;
    run.handle.abort();
    await run.done;
  }
  const out: ServiceResult[] = [];
  for (const service of services) {
    const run = runs.find((r) => r.service === service);
    if (!run) {
      out.push({ name: service.name, outcome: 'not-started', readyMs: null, result: null });
      continue;
    }
    const wasRunning = running.has(run);
    const result = await run.done;
    out.push({
      name: service.name,
      outcome:
        run.readyMs === null
          ? result.status === 'error'
            ? 'not-started'
            : 'not-ready'
          : wasRunning
            ? 'ended'
            : 'exited',
      readyMs: run.readyMs,
      result,
    });
  }
  return out;
}
