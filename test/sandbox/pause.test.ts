// RunningJob.pause()/resume(): the whole job stopped through the freezer, on a real job, read from the
// cgroup's own CPU counter; the window recorded in the result; a paused job still ends on its timeout
// with nothing left behind.
import { afterEach, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import type { RunningJob } from '../../harness/job/run-options.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readResultsFile, writeResultsFile } from '../../reporters/json.js';
import { renderJUnit } from '../../reporters/junit.js';
import { runReport } from '../support/reports.js';
import { NO_LEFTOVERS, describeSandbox, leftovers, pidAlive } from '../support/sandbox.js';

const SPIN = ['sh', '-c', 'while :; do :; done'];

/** Resolves once `condition` holds, polling; rejects after `ms` naming `what`. */
async function until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describeSandbox('pause and resume through the freezer', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it("a spinner's cgroup CPU time does not move while paused (while another spinner's does), and moves again once resumed", async () => {
    let job: RunningJob | undefined;
    const done = runJob({ command: SPIN, timeout: '60s' }, { onStart: (running) => (job = running) });
    await until('the job to start', () => job !== undefined);
    const handle = job!;
    await until('the spinner to use 100 ms of CPU', () => handle.cpuMs() > 100);

    // a second spinner, never paused, is the clock: the window is over once it has had 200 ms of
    // CPU — proof the machine ran jobs meanwhile, whatever its load — not after a fixed time
    let control: RunningJob | undefined;
    const controlDone = runJob(
      { command: SPIN, timeout: '60s' },
      { onStart: (running) => (control = running) },
    );
    await until('the control spinner to start', () => control !== undefined);
    expect(await handle.pause()).toBe(true);
    const frozenAt = handle.cpuMs();
    const windowStart = performance.now();
    const controlStart = control!.cpuMs();
    await until('the control spinner to use 200 ms of CPU', () => control!.cpuMs() > controlStart + 200);
    const windowMs = performance.now() - windowStart;
    const after = handle.cpuMs();
    expect(after - frozenAt).toBeLessThan(5);
    control!.abort();
    await controlDone;

    handle.resume();
    await until('the spinner to run again', () => handle.cpuMs() > after + 100);
    handle.abort();
    const result = await done;
    expect(result.status).toBe('aborted');
    expect(result.pauses).toHaveLength(1);
    expect(result.pauses![0]!.forMs).toBeGreaterThanOrEqual(windowMs);
    expect(result.pauses![0]!.atMs).toBeGreaterThan(0);
    // CPU time over the whole run is less than the wall time minus the pause (one spinning thread)
    expect(result.cpu.totalMs).toBeLessThan(result.wallMs - result.pauses![0]!.forMs + 50);
    // the window in the results file (valid against its schema) and in JUnit
    const report = runReport([{ id: 'spin', suite: 's', outcome: 'aborted', result, attempts: [result] }]);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rf-pause-')), 'r.json');
    writeResultsFile(file, report);
    expect(readResultsFile(file).jobs[0]!.result!.pauses).toEqual(result.pauses);
    fs.rmSync(path.dirname(file), { recursive: true });
    const xml = renderJUnit(report);
    expect(xml).toContain('<property name="ringfence.spin.paused.count" value="1"/>');
    expect(xml).toMatch(/<property name="ringfence\.spin\.paused\.ms" value="(\d+)"\/>/);
  });

  it('a job paused and never resumed still ends on its timeout, the window closed there, nothing left', async () => {
    let job: RunningJob | undefined;
    const done = runJob({ command: SPIN, timeout: '1500ms' }, { onStart: (running) => (job = running) });
    await until('the job to start', () => job !== undefined);
    expect(await job!.pause()).toBe(true);
    expect(await job!.pause()).toBe(true); // pausing a paused job is a no-op
    const result = await done;
    expect(result.status).toBe('timeout');
    expect(result.pauses).toHaveLength(1);
    expect(result.pauses![0]!.atMs + result.pauses![0]!.forMs).toBeGreaterThanOrEqual(1400);
    expect(pidAlive(job!.launcherPid)).toBe(false);
    // after the end, there is nothing to pause
    expect(await job!.pause()).toBe(false);
  });
});
