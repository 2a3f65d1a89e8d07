// A job's wall-clock deadline on a timer that fires on time. Node's timers fire up to a millisecond
// or two late (libuv counts its timeouts in whole ms, and a busy event loop adds its own lag), and
// after a deadline every millisecond is the job's kill arriving later: so the timer is armed a
// little early and the last stretch is waited out on the clock, synchronously.
import { performance } from 'node:perf_hooks';
import { sleepSync } from '../cgroup/fsutil.js';

/** How much earlier than the deadline the timer is armed; at most this long is waited synchronously. */
const LEAD_MS = 2;
/** The last stretch before the deadline is polled back to back: a sleep that short overshoots. */
const SPIN_MS = 0.15;

/** Calls `fire` once `ms` have passed, within a fraction of a millisecond; clearTimeout cancels it. */
export function setDeadline(fire: () => void, ms: number): NodeJS.Timeout {
  const at = performance.now() + ms;
  return setTimeout(
    () => {
      waitUntil(at);
      fire();
    },
    Math.max(0, ms - LEAD_MS),
  );
}

function waitUntil(at: number): void {
  for (let left = at - performance.now(); left > 0; left = at - performance.now()) {
    if (left > SPIN_MS) sleepSync(left - SPIN_MS);
  }
}
