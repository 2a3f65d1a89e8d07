// The piscina worker: runs one job at a time through the same runJob as `ringfence run`. Aborts
// arrive on a MessagePort (piscina's own abort terminates the thread, which would skip the freezer
// path and the cleanup); a `dispose` task removes this thread's spares and cgroup parents before the
// pool is destroyed.
import { threadId, workerData, type MessagePort } from 'node:worker_threads';
import { adoptSealed, type SealedHandles } from '../../native/sealed.js';
import type { JobResult } from '../job/result.js';
import { runJob } from '../run-job.js';
import { Sandbox } from '../launch/spares.js';
import type { JobSpec } from '../job/spec.js';

/** What each worker thread is started with (harness.ts makes it). */
export interface WorkerData {
  sealed: SealedHandles;
}

// the native files sealed by the thread that made the pool: never a fresh read of the disk
adoptSealed((workerData as WorkerData | undefined)?.sealed);

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
