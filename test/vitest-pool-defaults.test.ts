// The Vitest pool with no options: each file's sandbox gets the pool's defaults as
// harness/job/options.ts declares them (memory 1g, 256 tasks, 5 minutes, no network, hostname
// ringfence), read back from what the sandbox ran with (the results) and seen from inside
// (host.test.ts: only lo, its own hostname).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { poolOptions } from '../harness/job/options.js';
import { parseDuration, parseSize } from '../harness/job/units.js';
import type { RunReport } from '../reporters/types.js';
import { NO_LEFTOVERS, describeSandbox, leftovers } from './support/sandbox.js';
import { DEMO, vitestRun } from './support/vitest.js';

const CONFIG = path.join(DEMO, 'pool-defaults', 'vitest.config.ts');
const declared = Object.fromEntries(poolOptions().map((option) => [option.key, option.pool?.default]));

describeSandbox('the Vitest pool without options', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-pool-defaults-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs each file under the declared defaults', async () => {
    const json = path.join(dir, 'results.json');
    const out = vitestRun(['--config', CONFIG], { RINGFENCE_VITEST_JSON: json });
    // host.test.ts passes: no network but lo, hostname ringfence
    expect(out.status, out.output).toBe(0);
    expect(out.output).toMatch(/Test Files\s+2 passed \(2\)/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    expect(report.jobs).toHaveLength(2);
    for (const { id, result } of report.jobs) {
      expect(result?.memory.limitBytes, id).toBe(parseSize('memory', declared.memory as string));
      expect(result?.pids.limit, id).toBe(declared.pidsLimit);
      expect(result?.limits.timeoutMs, id).toBe(parseDuration('timeout', declared.timeout as string));
    }
    expect(declared).toMatchObject({ network: 'none', hostname: 'ringfence' }); // what host.test.ts checks
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });
});
