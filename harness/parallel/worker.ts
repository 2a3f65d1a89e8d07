// The piscina worker: runs one job at a time through the same runJob as `ringfence run`. Aborts
// arrive on a MessagePort (piscina's own abort terminates the thread, which would skip the freezer
// path and the cleanup); a `dispose` task removes this thread's spares and cgroup parents before the
// pool is destroyed.
import { threadId, workerData, type MessagePort } from 'node:worker_threads';
import { adoptSealed, type SealedHandles } from '../../native/sealed.js';
import type { JobResult } from '../job/result.js';
import { runJob } from '../run-job.js';
import { Sandbox, warmSandbox } from '../launch/spares.js';
import type { JobSpec } from '../job/spec.js';

/** What each worker thread is started with (harness.ts makes it). */
export interface WorkerData {
  sealed: SealedHandles;
  /**
   * A job like the Harness's (its defaults): its Sandbox and first spare made as the thread starts,
   * once `placed` (an Int32 cell) says 1 — the main thread places the process before any worker
   * makes a cgroup; 2: it could not, and the first job meets the same problem.
   */
  warm?: { spec: JobSpec; placed: SharedArrayBuffer } | null;
}

const data = workerData as WorkerData | undefined;
// the native files sealed by the thread that made the pool: never a fresh read of the disk
adoptSealed(data?.sealed);
// while the pool waits for its first job: a first job that finds no spare starts its launcher and
// opens the cgroup driver on its own path
const warming = data?.warm ? warm(data.warm.spec, new Int32Array(data.warm.placed)) : Promise.resolve();

/** Atomics.waitAsync (Node ≥ 16; the lib this project compiles against predates its types). */
type WaitAsync = (
  cell: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

async function warm(spec: JobSpec, placed: Int32Array): Promise<void> {
  const waiting = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(placed, 0, 0);
  if (waiting.async) await waiting.value;
  if (Atomics.load(placed, 0) === 1) await warmSandbox(spec);
}

export interface JobTask {
  kind: 'job';
  spec: JobSpec;
  /**
   * 'abort' on this port ends the job through the freezer path; 'started' is said on it. null when
   * the caller neither listens nor aborts (Harness.run without onStart or signal).
   */
  port: MessagePort | null;
  /** Harness.run's `trace`: the hrtime its trace counts from (RunOptions.traceOrigin); null: none. */
  traceOrigin: bigint | null;
}

/** One per worker at close: all wait on the barrier so that each worker takes exactly one. */
export interface DisposeTask {
  kind: 'dispose';
  barrier: SharedArrayBuffer;
  workers: number;
}

export default async function task(input: JobTask | DisposeTask): Promise<JobResult | number> {
  if (input.kind === 'dispose') return dispose(input);
  const { port, traceOrigin } = input;
  const options = traceOrigin === null ? { warn: false } : { warn: false, trace: true, traceOrigin };
  if (!port) return runJob(input.spec, options);
  const controller = new AbortController();
  port.once('message', () => controller.abort());
  port.postMessage('started');
  try {
    return await runJob(input.spec, { ...options, signal: controller.signal });
  } finally {
    port.close();
  }
}

/** Returns this worker's threadId, so the pool can tell which workers are done. */
async function dispose({ barrier, workers }: DisposeTask): Promise<number> {
  // a spare still being made would outlive the disposal
  await warming;
  const arrived = new Int32Array(barrier);
  Atomics.add(arrived, 0, 1);
  // hold this worker until every worker has taken its dispose task (2 s at most)
  for (let waited = 0; Atomics.load(arrived, 0) < workers && waited < 2000; waited += 5) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Sandbox.settle();
  Sandbox.disposeAll();
  return threadId;
}
