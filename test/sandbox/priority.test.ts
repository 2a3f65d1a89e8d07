// Prioritisation: every job of one ringfence process is a sibling of the others, so cpu-shares
// (v1 cpu.shares, v2 cpu.weight) compare between concurrent jobs as between Docker containers. Two
// spinners pinned to one CPU with shares 1024 and 256 in one `ci` run get CPU 4 : 1 — read from the
// kernel's own counters (each job's cgroup), on whatever cgroup version this host has.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunReport } from '../../reporters/types.js';
import { describeSandbox, leftovers, NO_LEFTOVERS, ringfence } from '../support/sandbox.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-priority-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeSandbox('cpu-shares between concurrent jobs', () => {
  it('two spinners on one CPU with shares 1024 and 256 get CPU 4 ± 0.6 : 1', async () => {
    const json = path.join(dir, 'priority.json');
    const out = ringfence('ci', 'fixtures/priority.yml', '--concurrency', '2', '--json', json);
    expect(out.stderr).toMatch(/TIMEOUT heavy/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    const cpu = (name: string): number => {
      const result = report.jobs.find((j) => j.id === name)?.result;
      expect(result?.status).toBe('timeout');
      expect(result?.enforcement?.figures).toBe('cgroup');
      return result?.cpu.totalMs ?? 0;
    };
    const heavy = cpu('heavy');
    const light = cpu('light');
    // together they had one CPU for the whole overlap: most of it was used
    expect(heavy + light).toBeGreaterThan(1000);
    expect(heavy / light).toBeGreaterThanOrEqual(3.4);
    expect(heavy / light).toBeLessThanOrEqual(4.6);
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });
});
