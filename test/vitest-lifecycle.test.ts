// The Vitest pool when Vitest itself goes away or keeps running: Ctrl-C and SIGKILL of the Vitest
// process while sandboxes run, and watch mode, where every re-run starts fresh sandboxes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { RunReport } from '../reporters/types.js';
import { isLauncherProcess } from '../harness/launch/binary.js';
import { NO_LEFTOVERS, ROOT, describeSandbox, leftovers, pidAlive, ringfence } from './support/sandbox.js';
import { DEMO, childrenOf, launchersOf, vitestStart, waitFor } from './support/vitest.js';

/** The demo's hanging and runaway files under a 60 s limit: they are still running when we interrupt. */
const LONG_CONFIG = path.join(ROOT, 'test', 'fixtures', 'vitest-long.config.ts');

describeSandbox('Vitest pool lifecycle', () => {
  it('Ctrl-C of Vitest ends every running sandbox at once and leaves nothing behind', async () => {
    const vitest = vitestStart(['run', '--config', LONG_CONFIG, '--root', DEMO]);
    const pid = vitest.child.pid!;
    let launchers: number[] = [];
    await waitFor('a sandbox to start', () => (launchers = launchersOf(pid)).length > 0, 30_000);
    const interrupted = performance.now();
    vitest.child.kill('SIGINT');
    const end = await vitest.exited;
    // Vitest answers Ctrl-C with exit code 130; our exit handler ended the sandboxes before that
    expect(end.code, vitest.output()).toBe(130);
    expect(performance.now() - interrupted).toBeLessThan(5000); // not the files' 60 s limit
    for (const launcher of launchers) expect(pidAlive(launcher)).toBe(false);
    // nothing left for a later sweep either: the exit handler removed cgroups and scratch dirs itself
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 60_000);

  it('SIGKILL of Vitest: its sandboxes die with it, and the next start sweeps what it left', async () => {
    const vitest = vitestStart(['run', '--config', LONG_CONFIG, '--root', DEMO]);
    const pid = vitest.child.pid!;
    let launchers: number[] = [];
    await waitFor('a sandbox to start', () => (launchers = launchersOf(pid)).length > 0, 30_000);
    vitest.child.kill('SIGKILL');
    expect((await vitest.exited).signal).toBe('SIGKILL');
    // PR_SET_PDEATHSIG: the launchers (and with them each sandbox's PID namespace) end with Vitest
    await waitFor('the sandboxes to die with Vitest', () => launchers.every((l) => !pidAlive(l)), 5000);
    // the next file's launcher, waiting at its gate, reads the gate's end and exits on its own
    let before = await leftovers({ strict: true });
    for (const deadline = performance.now() + 5000; before.launchers.length && performance.now() < deadline;)
      before = await leftovers({ strict: true });
    expect(before.launchers).toEqual([]);
    // a killed process runs no handler, so its (empty) cgroups stay until the next ringfence starts
    expect(before.cgroups.some((dir) => path.basename(dir).startsWith(`ringfence-${pid}-`))).toBe(true);
    const next = ringfence('run', '--', 'true');
    expect(next.status, next.stderr).toBe(0);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 60_000);

  describeWatchMode();
});

/**
 * Watch mode on a project of its own (files are edited, so not the demo): each re-run after an edit
 * runs in fresh sandboxes, and the reporter rewrites its results for that run.
 */
function describeWatchMode(): void {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-vitest-watch-'));
  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  it('watch mode: every re-run after an edit runs in fresh sandboxes and is reported', async () => {
    // the project resolves vitest and ringfence from this checkout's node_modules
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'));
    fs.writeFileSync(
      path.join(project, 'vitest.config.ts'),
      [
        `import { defineConfig } from 'vitest/config';`,
        `import { ringfence } from 'ringfence/vitest';`,
        `import { RingfenceReporter } from 'ringfence/vitest/reporter';`,
        `export default defineConfig({ test: { pool: ringfence({ memory: '256m', timeout: '30s' }), isolate: true,`,
        `  reporters: ['default', new RingfenceReporter({ json: 'results.json' })] } });`,
      ].join('\n'),
    );
    const sum = path.join(project, 'sum.ts');
    const writeSum = (body: string): void =>
      fs.writeFileSync(sum, `export const sum = (a: number, b: number): number => ${body};\n`);
    writeSum('a + b');
    fs.writeFileSync(
      path.join(project, 'sum.test.ts'),
      `import { expect, it } from 'vitest';\nimport { sum } from './sum.js';\nit('adds', () => expect(sum(1, 2)).toBe(3));\n`,
    );
    const results = path.join(project, 'results.json');
    const report = (): RunReport | null => {
      try {
        return JSON.parse(fs.readFileSync(results, 'utf8')) as RunReport;
      } catch {
        return null; // not written yet
      }
    };
    const vitest = vitestStart(['--watch', '--root', project], project);
    try {
      const runs: RunReport[] = [];
      const nextRun = async (outcome: string): Promise<void> => {
        const seen = runs.at(-1)?.finishedAt;
        await waitFor(
          `a run with outcome ${outcome}\n${vitest.output()}`,
          () => {
            const r = report();
            return r !== null && r.finishedAt !== seen && r.jobs[0]?.outcome === outcome;
          },
          30_000,
        );
        runs.push(report()!);
      };
      await nextRun('passed');
      writeSum('a - b'); // a bug: the watcher re-runs the test, which now fails
      await nextRun('failed');
      writeSum('a + b');
      await nextRun('passed');

      expect(runs.map((r) => r.jobs[0]?.tests?.[0]?.outcome)).toEqual(['passed', 'failed', 'passed']);
      // each run's file ran in a sandbox of its own: its own start, the kernel's figures for it
      const starts = runs.map((r) => r.jobs[0]?.result?.startedAt);
      expect(new Set(starts).size).toBe(3);
      for (const r of runs) expect(r.jobs[0]?.result?.memory.peakBytes).toBeGreaterThan(1024 * 1024);
      // idle between runs: no sandbox kept — at most the next file's launcher, waiting at its gate
      // with no process of a job under it: its only child may be the init it made ahead
      // (native/launcher/ahead.c), ringfence's own code, itself with no child yet
      const waiting = launchersOf(vitest.child.pid!);
      expect(waiting.length).toBeLessThanOrEqual(1);
      for (const launcher of waiting) {
        const children = childrenOf(launcher);
        expect(children.length).toBeLessThanOrEqual(1);
        for (const init of children) {
          expect(isLauncherProcess(init)).toBe(true);
          expect(childrenOf(init)).toEqual([]);
        }
      }
    } finally {
      vitest.child.kill('SIGTERM');
      await vitest.exited;
    }
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 120_000);
}
