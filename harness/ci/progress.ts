// What `ringfence ci` shows while it runs: on a terminal a live bar (cli-progress) with passed/failed
// counts and the longest-running jobs; elsewhere (CI logs) one plain line per finished job.
import type CliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import { formatBytes, formatDuration, refusedForksText as refused } from '../job/format.js';
import type { JobEntry } from '../../reporters/types.js';
import type { SchedulerEvent } from './scheduler.js';

export interface Progress {
  onEvent(event: SchedulerEvent): void;
  stop(): void;
}

const LABEL: Record<JobEntry['outcome'], string> = {
  passed: 'PASS   ',
  flaky: 'FLAKY  ',
  failed: 'FAIL   ',
  timeout: 'TIMEOUT',
  oom: 'OOM    ',
  signaled: 'KILLED ',
  error: 'ERROR  ',
  aborted: 'ABORTED',
  skipped: 'SKIP   ',
};

/** The outcomes that count as failed in the counts (each has its own label in the job lines). */
const FAILED: readonly JobEntry['outcome'][] = ['failed', 'timeout', 'oom', 'signaled', 'error'];

/**
 * `4 passed, 1 flaky, 3 failed, 1 skipped, 0 aborted`: the one vocabulary of the live bar and the
 * final summary line, so the two never count the same run differently.
 */
export function outcomeCounts(outcomes: readonly JobEntry['outcome'][]): string {
  const count = (which: readonly JobEntry['outcome'][]): number =>
    outcomes.filter((o) => which.includes(o)).length;
  return `${count(['passed'])} passed, ${count(['flaky'])} flaky, ${count(FAILED)} failed, ${count(['skipped'])} skipped, ${count(['aborted'])} aborted`;
}

/** One line for a finished job: outcome, name, time, CPU, peak memory, and why when it did not pass. */
export function describeEntry(entry: JobEntry): string {
  const r = entry.result;
  const figures = r
    ? ` (${formatDuration(r.wallMs)}, cpu ${formatDuration(r.cpu.totalMs)}${r.memory.peakBytes === null ? '' : `, peak ${formatBytes(r.memory.peakBytes)}`}${refused(r.pids) ? `, ${refused(r.pids)}` : ''}${entry.attempts.length > 1 ? `, ${entry.attempts.length} attempts` : ''})`
    : '';
  const why =
    entry.outcome === 'passed' || entry.outcome === 'flaky' ? '' : `: ${entry.skipReason ?? r?.reason ?? ''}`;
  return `${LABEL[entry.outcome]} ${entry.id}${figures}${why}`;
}

export function createProgress(total: number, stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY) {
    return {
      onEvent: (event) => {
        if (event.type === 'end') stream.write(`${describeEntry(event.entry)}\n`);
        if (event.type === 'retry') stream.write(`RETRY   ${event.job.name}: ${event.result.reason}\n`);
      },
      stop: () => undefined,
    };
  }
  // loaded only for a terminal (a CI log gets plain lines): one module less on every other run's path
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const started = new Map<string, number>();
  const ended: JobEntry['outcome'][] = [];
  const multi = new cliProgress.MultiBar(
    {
      format: '{bar} {value}/{total} | {counts} | {running}',
      hideCursor: true,
      clearOnComplete: false,
      stream,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const longest = (): string =>
    [...started.entries()]
      .sort((a, b) => a[1] - b[1])
      .slice(0, 3)
      .map(([name, since]) => `${name} ${formatDuration(Date.now() - since)}`)
      .join(', ');
  const bar = multi.create(total, 0, { counts: outcomeCounts(ended), running: '' });
  const timer = setInterval(() => bar.update({ running: longest() }), 250);
  timer.unref();
  return {
    onEvent: (event) => {
      if (event.type === 'start') started.set(event.job.name, Date.now());
      if (event.type !== 'end') return;
      started.delete(event.job.name);
      ended.push(event.entry.outcome);
      // finished jobs that did not pass are printed above the bar, so their reason stays on screen
      if (event.entry.outcome !== 'passed' && event.entry.outcome !== 'flaky')
        multi.log(`${describeEntry(event.entry)}\n`);
      bar.increment(1, { counts: outcomeCounts(ended), running: longest() });
    },
    stop: () => {
      clearInterval(timer);
      multi.stop();
    },
  };
}
