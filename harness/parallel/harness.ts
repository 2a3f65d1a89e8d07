// Harness: many jobs in parallel, each through the one job lifecycle, on lanes of the calling thread
// or of a piscina pool of worker threads. A worker that dies turns its job into an `error` result
// and the pool carries on.
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Piscina } from 'piscina';
import { packageRoot } from '../../native/paths.js';
import { sealAllNative, type SealedHandles } from '../../native/sealed.js';
import { usableCpus } from './cpus.js';
import { Lanes } from './lanes.js';
import type { JobResult } from '../job/result.js';
import { runJob } from '../run-job.js';
import { Sandbox, planFor } from '../launch/spares.js';
import { failedToStart } from '../job/result-build.js';
import { reapDeadThread } from './reap-thread.js';
import { strictRefusal, warnOnce, type JobPlan } from '../job/enforce.js';
import { resolveJobSpec, type JobSpec, type JobSpecInput } from '../job/spec.js';
import type { DisposeTask, JobTask, WorkerData } from './worker.js';

export interface HarnessOptions {
  /** Jobs at once. Default: the CPUs this process may use (affinity and cgroup quota). */
  concurrency?: number;
  /** Options every job gets unless it sets its own. */
  defaults?: Partial<JobSpecInput>;
  /**
   * How many of the `concurrency` lanes are the calling thread's: it runs that many jobs at once
   * itself, interleaved on its event loop, and worker threads run the rest, one each. `true` is 1,
   * `false` 0. Default: every lane when there are at most CALLER_LANES, else none, so that the first
   * jobs start together (a worker's first job waits for the thread to load). A job on the calling
   * thread starts at once and costs less CPU than on a worker (no thread to start, no messages, one
   * V8 isolate warming up); it shares the caller's thread, so a crash of the thread is the caller's
   * (the workers' jobs stay isolated).
   */
  inline?: boolean | number;
}

/**
 * The most lanes the calling thread takes by default. A trivial job spends ~4 ms of its thread's CPU
 * (docs/performance.md): two lanes of them keep one thread busy, and more would wait on it.
 */
const CALLER_LANES = 2;

export type ProgressEvent =
  | { type: 'start'; index: number; spec: JobSpec }
  | { type: 'end'; index: number; spec: JobSpec; result: JobResult };

/** Milliseconds from a process.hrtime.bigint() to now (a trace's unit, RunOptions.trace). */
function msSince(origin: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - origin) / 1e3) / 1e3;
}

/** The compiled worker: piscina loads plain JS, so from the TypeScript sources it is dist/'s. */
function workerFile(): string {
  const built = path.join(packageRoot(), 'dist', 'harness', 'parallel', 'worker.js');
  if (fs.existsSync(built)) return built;
  throw new Error(`ringfence: ${built} is missing — run npm run build`);
}

/** A launcher that cannot be sealed is each job's `error` result (with the fix), not a crash here. */
function sealNativeForWorkers(): SealedHandles {
  try {
    return sealAllNative();
  } catch {
    return {};
  }
}

export class Harness {
  readonly concurrency: number;
  /** How many of its lanes are the calling thread's (HarnessOptions.inline). */
  get callerLanes(): number {
    return this.lanes.caller;
  }
  /** null when every lane is the calling thread's. */
  private readonly pool: Piscina | null;
  /** The lanes on the calling thread and on worker threads (one each), and the jobs waiting. */
  private readonly lanes: Lanes;
  /** Every run() not yet returned, waiting for a lane or running: close() waits for them. */
  private readonly inFlight = new Set<Promise<JobResult>>();
  private readonly defaults: Partial<JobSpecInput>;
  private closed: Promise<void> | null = null;
  /** Every worker thread started, by threadId (a thread's Worker says -1 once it has exited). */
  private readonly threadIds = new Set<number>();
  /** The cgroup parents jobs were sent to: a dead worker's leftovers may be under any of them. */
  private readonly cgroupParents = new Set<string | null>([null]);
  /** The main thread's placement for the workers' first spares (warm), awaited by close(). */
  private placing: Promise<unknown> = Promise.resolve();
  /** Removals of what dead workers left, awaited by close(). */
  private readonly reaping = new Set<Promise<void>>();

  constructor(options: HarnessOptions = {}) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? usableCpus()));
    this.defaults = options.defaults ?? {};
    const inline = options.inline;
    const byDefault = this.concurrency <= CALLER_LANES ? this.concurrency : 0;
    // a count that is no number (NaN) takes the default; Infinity is every lane
    const asked = typeof inline === 'number' ? inline : inline === undefined ? NaN : +inline;
    const caller = Number.isNaN(asked) ? byDefault : asked;
    const callerLanes = Math.min(this.concurrency, Math.max(0, Math.floor(caller)));
    this.lanes = new Lanes(callerLanes, this.concurrency - callerLanes);
    // the calling thread's first job starts its own launcher, as `ringfence run`'s does: made here
    // ahead, a spare would be one launcher more for a one-job run whose job came first
    this.pool = this.lanes.workers > 0 ? this.startPool(this.lanes.workers) : null;
  }

  private startPool(threads: number): Piscina {
    // loaded when the first worker thread is wanted: a Harness whose only lane is the calling
    // thread (a one-job `ringfence ci`) never loads it
    const { Piscina: Pool } = createRequire(import.meta.url)('piscina') as typeof import('piscina');
    const pool = new Pool({
      filename: workerFile(),
      // the launcher and the spawn library, sealed now, before any job runs: every worker thread,
      // also one started to replace a dead one, runs these copies (worker.ts adopts them)
      workerData: { sealed: sealNativeForWorkers(), warm: this.warm() } satisfies WorkerData,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      // workers must keep their event loop turning between tasks (spare launchers, cleanup)
      atomics: 'disabled',
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // a worker's garbage is small and short-lived (one job's pipes and result at a time): a small
      // young generation keeps each thread's heap from growing to V8's default before it collects
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    // a worker that dies while idle surfaces here; its tasks already became error results
    pool.on('error', (error: unknown) => {
      process.stderr.write(
        `ringfence: a worker thread died: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    });
    pool.on('workerCreate', (worker: { id: number }) => this.threadIds.add(worker.id));
    // A worker that died mid-job (piscina starts another) leaves its instance parent, the job's
    // cgroup and scratch dir: no dispose task ran there, and the stale sweep spares them while this
    // process lives. Its launchers were tied to the thread (PR_SET_PDEATHSIG) and are gone.
    pool.on('workerDestroy', () => {
      if (this.closed === null) this.reapDeadWorkers();
    });
    return pool;
  }

  /**
   * What each worker prepares as it starts (worker.ts): a spare for a job like this Harness's, once
   * this thread has placed the process — as a first run() would, here while the workers load.
   */
  private warm(): WorkerData['warm'] {
    let spec: JobSpec;
    try {
      spec = this.resolve({ command: ['true'] });
    } catch {
      return null; // defaults that do not resolve: every job says why
    }
    const placed = new SharedArrayBuffer(4);
    const cell = new Int32Array(placed);
    this.placing = planFor(spec).then(
      () => Atomics.store(cell, 0, 1),
      () => Atomics.store(cell, 0, 2),
    );
    void this.placing.then(() => Atomics.notify(cell, 0));
    return { spec, placed };
  }

  /** Reaps the instance of every known thread that is no longer running (see 'workerDestroy'). */
  private reapDeadWorkers(except: ReadonlySet<number> = new Set()): void {
    const live = new Set((this.pool?.threads ?? []).map((thread) => thread.threadId).filter((id) => id >= 0));
    for (const id of this.threadIds) {
      if (live.has(id) || except.has(id)) continue;
      this.threadIds.delete(id);
      const reap: Promise<void> = reapDeadThread(id, this.cgroupParents)
        .catch((error: unknown) => {
          process.stderr.write(
            `ringfence: could not remove what worker thread ${id} left: ${error instanceof Error ? error.message : String(error)}\n`,
          );
        })
        .finally(() => this.reaping.delete(reap));
      this.reaping.add(reap);
    }
  }

  /** Resolves the spec against the defaults; throws InputError (before anything runs) when invalid. */
  resolve(input: JobSpecInput | JobSpec): JobSpec {
    return 'limits' in input ? resolveJobSpec(input) : resolveJobSpec({ ...this.defaults, ...input });
  }

  /**
   * `trace`: the result's `trace` (RunOptions.trace) counts from this call, and adds the lane's own
   * steps — `dispatched` (a lane was free for it) and `returned` (the result back on this thread) —
   * around the job's phases: where a Harness job's time goes beyond runJob's (`npm run
   * bench:throughput -- --trace`).
   */
  async run(
    input: JobSpecInput | JobSpec,
    options: { signal?: AbortSignal; onStart?: () => void; trace?: boolean } = {},
  ): Promise<JobResult> {
    const traceOrigin = options.trace ? process.hrtime.bigint() : null;
    const running = this.runTraced(input, options, traceOrigin);
    this.inFlight.add(running);
    let result: JobResult;
    try {
      result = await running;
    } finally {
      this.inFlight.delete(running);
    }
    if (traceOrigin === null || !result.trace) return result;
    const returned = { phase: 'returned', ms: msSince(traceOrigin) };
    return { ...result, trace: [...result.trace, returned] };
  }

  private async runTraced(
    input: JobSpecInput | JobSpec,
    options: { signal?: AbortSignal; onStart?: () => void },
    traceOrigin: bigint | null,
  ): Promise<JobResult> {
    const spec = this.resolve(input);
    this.cgroupParents.add(spec.cgroupParent);
    const startedAt = new Date();
    if (this.closed)
      return failedToStart(spec, startedAt, 'harness', new Error('the Harness is closed'), null);
    if (options.signal?.aborted) {
      return failedToStart(spec, startedAt, 'abort', new Error('aborted before start'), null, 'aborted');
    }
    // what this host cannot enforce is said (or, strict, refused) here once for the run, from the
    // main thread, which also places this process (a systemd scope) before any worker makes a cgroup
    let plan: JobPlan | null = null;
    try {
      plan = await planFor(spec);
    } catch {
      // the worker meets the same problem and makes it the job's result
    }
    if (plan && spec.strict && plan.notEnforced.length > 0) {
      return failedToStart(spec, startedAt, 'enforce', new Error(strictRefusal(plan.notEnforced)), null);
    }
    if (plan) warnOnce(plan.notEnforced);
    // a free lane, or the next one to free up (runAll hands over every job at once)
    const lane = await this.lanes.take(options.signal);
    if (lane === null) {
      return failedToStart(spec, startedAt, 'abort', new Error('aborted before start'), null, 'aborted');
    }
    try {
      const dispatched = traceOrigin === null ? 0 : msSince(traceOrigin);
      // a worker lane exists only beside a pool
      const result =
        lane === 'caller' || !this.pool
          ? await this.runInline(spec, startedAt, options, traceOrigin)
          : await this.runOnLane(this.pool, spec, startedAt, options, traceOrigin);
      if (traceOrigin === null || !result.trace) return result;
      return { ...result, trace: [{ phase: 'dispatched', ms: dispatched }, ...result.trace] };
    } finally {
      this.lanes.release(lane);
    }
  }

  /** A job on a worker thread, with a channel to it only when the caller listens or may abort. */
  private async runOnLane(
    pool: Piscina,
    spec: JobSpec,
    startedAt: Date,
    options: { signal?: AbortSignal; onStart?: () => void },
    traceOrigin: bigint | null,
  ): Promise<JobResult> {
    // a channel to the worker only for a caller that listens or may abort: each costs a transfer and
    // a message each way between the threads
    if (!options.signal && !options.onStart)
      return this.runOnWorker(pool, spec, startedAt, null, traceOrigin);
    const { port1, port2 } = new MessageChannel();
    const onAbort = (): void => port1.postMessage('abort');
    port1.on('message', (message) => {
      if (message === 'started') options.onStart?.();
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.runOnWorker(pool, spec, startedAt, port2, traceOrigin);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      port1.close();
    }
  }

  private async runOnWorker(
    pool: Piscina,
    spec: JobSpec,
    startedAt: Date,
    port: MessagePort | null,
    traceOrigin: bigint | null,
  ): Promise<JobResult> {
    try {
      const task: JobTask = { kind: 'job', spec, port, traceOrigin };
      return (await pool.run(task, port ? { transferList: [port] } : {})) as JobResult;
    } catch (error) {
      // the worker thread died (or the pool was closed): the job is an error, the pool goes on. It may
      // well have started, so the reason says what happened rather than "could not start"
      const result = failedToStart(spec, startedAt, 'worker', error, null);
      const why = error instanceof Error ? error.message : String(error);
      return { ...result, reason: `the harness's worker thread ended under the job: ${why}` };
    }
  }

  /**
   * A job on the calling thread (HarnessOptions.inline), through the same runJob as a worker's; what
   * it throws is the job's `error` result, as a worker's would be, never the caller's exception.
   */
  private async runInline(
    spec: JobSpec,
    startedAt: Date,
    options: { signal?: AbortSignal; onStart?: () => void },
    traceOrigin: bigint | null,
  ): Promise<JobResult> {
    try {
      options.onStart?.();
      return await runJob(spec, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(traceOrigin === null ? {} : { trace: true, traceOrigin }),
        warn: false,
      });
    } catch (error) {
      return failedToStart(spec, startedAt, 'harness', error, null);
    }
  }

  /** Runs every job, `concurrency` at a time; results in input order. */
  async runAll(
    inputs: readonly (JobSpecInput | JobSpec)[],
    options: { signal?: AbortSignal; onProgress?: (event: ProgressEvent) => void } = {},
  ): Promise<JobResult[]> {
    const specs = inputs.map((input) => this.resolve(input));
    // every job listens on the one signal
    if (options.signal) setMaxListeners(0, options.signal);
    return Promise.all(
      specs.map(async (spec, index) => {
        const result = await this.run(spec, {
          signal: options.signal,
          onStart: () => options.onProgress?.({ type: 'start', index, spec }),
        });
        options.onProgress?.({ type: 'end', index, spec, result });
        return result;
      }),
    );
  }

  /**
   * Waits for running jobs, removes every worker's cgroups and spares, and stops the threads. Each
   * worker must run one dispose task; a round in which a busy worker missed out is repeated.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      // the jobs given before close(), those still waiting for a lane too (a later run() is refused)
      await Promise.allSettled([...this.inFlight]);
      // the calling thread's jobs: their removals finished, its spares dropped (its instance parent
      // goes with the process, as `ringfence run`'s does)
      await this.placing;
      if (this.lanes.caller > 0) await Sandbox.settle();
      const pool = this.pool;
      if (!pool) return;
      const disposed = new Set<number>();
      for (let round = 0; round < 5 && disposed.size < pool.threads.length; round++) {
        const workers = pool.threads.length;
        const task: DisposeTask = { kind: 'dispose', barrier: new SharedArrayBuffer(4), workers };
        const answers = await Promise.allSettled(Array.from({ length: workers }, () => pool.run(task)));
        for (const answer of answers) if (answer.status === 'fulfilled') disposed.add(answer.value as number);
      }
      await pool.destroy();
      // a worker that died before it took its dispose task left its instance behind
      this.reapDeadWorkers(disposed);
      await Promise.all(this.reaping);
    })();
    return this.closed;
  }
}
