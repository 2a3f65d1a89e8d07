// Fault: two harnesses at once on one machine. Two `ringfence ci` processes start within moments of
// each other, the second while the first's jobs run — so the second's start-up sweep of stale
// instance parents runs beside the first's live ones. Each must keep to its own instance cgroups
// (pid + start time + thread in the name), neither may sweep, kill or read the other's jobs, and both
// must finish with exactly the results their manifests ask for.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseInstanceName } from '../../harness/cgroup/instance.js';
import { readResultsFile } from '../../reporters/json.js';
import { ROOT, describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers, fault } from '../support/tally.js';
import { instanceDirs, ringfenceAsync, waitFor, type CliRun } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-fault-two-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Jobs whose output says which harness ran them; one of each outcome that touches the cgroup. */
function manifest(tag: string): string {
  const file = path.join(dir, `${tag}.yml`);
  const jobs = [
    ...[1, 2, 3, 4].map(
      (i) => `  - name: ${tag}-sleep-${i}\n    command: [sh, -c, "sleep 0.4; echo ${tag}-${i}"]`,
    ),
    `  - name: ${tag}-oom\n    memory: 32m\n    command: [node, fixtures/memory-hog.js, "200"]`,
    `  - name: ${tag}-timeout\n    timeout: 700ms\n    command: [sh, fixtures/daemonize.sh]`,
    `  - name: ${tag}-after\n    needs: ${tag}-sleep-1\n    command: [echo, ${tag}-after]`,
  ];
  fs.writeFileSync(
    file,
    `defaults:\n  cwd: ${JSON.stringify(ROOT)}\n  memory: 128m\njobs:\n${jobs.join('\n')}\n`,
  );
  return file;
}

describeSandbox('fault: two harnesses at once', () => {
  it('both finish with exactly their own results, in distinct instance cgroups, untouched by each other', async () => {
    const owners = new Set<number>();
    let pids: number[] = [];
    let sampling = true;
    // every instance parent seen while the two run, by owner pid
    const sampler = (async () => {
      while (sampling) {
        for (const d of instanceDirs()) {
          const id = parseInstanceName(path.basename(d));
          if (id) owners.add(id.pid);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const runs: Promise<CliRun>[] = [];
    try {
      const first = ringfenceAsync(
        ['ci', manifest('a'), '--concurrency', '2', '--json', path.join(dir, 'a.json')],
        (pid) => (pids = [...pids, pid]),
      );
      runs.push(first);
      // the second starts once the first has jobs running: its sweep meets live instance parents
      await waitFor('the first harness to run jobs', 15_000, () => owners.has(pids[0] ?? -1));
      runs.push(
        ringfenceAsync(
          ['ci', manifest('b'), '--concurrency', '2', '--json', path.join(dir, 'b.json')],
          (pid) => (pids = [...pids, pid]),
        ),
      );
      const [a, b] = await Promise.all(runs);
      // each exits 1 only for its own oom and timeout jobs; nothing else failed
      expect(a?.status, a?.stderr).toBe(1);
      expect(b?.status, b?.stderr).toBe(1);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(pids).toHaveLength(2);
    expect(pids[0]).not.toBe(pids[1]);
    // both made instance parents of their own (by pid), seen at the same time on the machine
    expect(owners.has(pids[0]!) && owners.has(pids[1]!)).toBe(true);

    for (const tag of ['a', 'b']) {
      const report = readResultsFile(path.join(dir, `${tag}.json`));
      const outcomes = Object.fromEntries(report.jobs.map((j) => [j.id, j.outcome]));
      expect(outcomes).toEqual({
        [`${tag}-sleep-1`]: 'passed',
        [`${tag}-sleep-2`]: 'passed',
        [`${tag}-sleep-3`]: 'passed',
        [`${tag}-sleep-4`]: 'passed',
        [`${tag}-oom`]: 'oom',
        [`${tag}-timeout`]: 'timeout',
        [`${tag}-after`]: 'passed',
      });
      // each job's output is its own harness's (no cross-talk through shared names or scratch)
      for (const job of report.jobs.filter((j) => j.id.includes('sleep'))) {
        expect(job.result?.stdout.trim()).toBe(job.id.replace('-sleep', ''));
      }
    }
    fault('two harnesses at once', 'survived');
    await expectNoLeftovers({ strict: true });
  }, 60_000);
});
