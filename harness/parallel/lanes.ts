// The Harness's lanes: how many jobs may run at once on the calling thread and on worker threads,
// and the jobs waiting for one. A job takes the first lane to free up, whichever kind, in the order
// the jobs came; a finishing job hands its lane straight on, so a job that arrives meanwhile cannot
// jump the queue. Kept apart from harness.ts, which decides what runs on a lane of each kind.

/** Where a job runs: on the calling thread, or on a worker thread. */
export type Lane = 'caller' | 'worker';

export class Lanes {
  /** Jobs running now on each kind of lane. */
  private callerBusy = 0;
  private workerBusy = 0;
  /** Jobs waiting for a lane, first come first served. */
  private readonly waiting: ((lane: Lane) => void)[] = [];

  constructor(
    /** Lanes on the calling thread. */
    readonly caller: number,
    /** Lanes on worker threads, one each. */
    readonly workers: number,
  ) {}

  /**
   * A free lane at once, or the one a finishing job hands on; null when `signal` aborts first (the
   * job leaves the queue then, not when a lane frees).
   */
  take(signal: AbortSignal | undefined): Promise<Lane | null> {
    if (this.callerBusy < this.caller) {
      this.callerBusy++;
      return Promise.resolve('caller');
    }
    if (this.workerBusy < this.workers) {
      this.workerBusy++;
      return Promise.resolve('worker');
    }
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(null);
      };
      const waiter = (lane: Lane): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(lane);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /**
   * Hands the lane to the next job waiting (it stays busy), or frees it. On the next turn of the
   * event loop: the job that had it is seen to end (runAll's progress) before the next one starts.
   */
  release(lane: Lane): void {
    setImmediate(() => {
      const next = this.waiting.shift();
      if (next) next(lane);
      else if (lane === 'caller') this.callerBusy--;
      else this.workerBusy--;
    });
  }
}
