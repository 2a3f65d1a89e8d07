// The scratch dirs a long-lived harness makes, one per job: nothing of them is kept once removed.
// A library that made them once remembered each for an exit-time clean-up, an array that grew by a
// closure per job: 30 000 jobs in a Vitest pool or a CI run kept ~6 MB. This holds whatever makes them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './support/sandbox.js';

const ofChild = (pid: number): string[] =>
  fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`ringfence-${pid}-`));

it('making and removing 10 000 scratch dirs keeps no memory per dir, and leaves none behind', () => {
  const out = spawnSync(
    process.execPath,
    ['--expose-gc', path.join(ROOT, 'test', 'support', 'scratch-child.mjs'), '2000', '12000'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  try {
    expect(out.status, out.stderr).toBe(0);
  } finally {
    // a child that failed half-way may have left its last one
    for (const name of ofChild(out.pid))
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
  const { atMark, atEnd, fresh } = JSON.parse(out.stdout) as {
    atMark: number;
    atEnd: number;
    fresh: number;
  };
  expect(fresh).toBe(12000);
  // what the library kept was ~210 bytes a directory: 2.1 MB over these 10 000; a heap after a full
  // collection moves by a few tens of KB from run to run
  expect(atEnd - atMark).toBeLessThan(512 * 1024);
  // its directories were named after that process (ringfence-<pid>-…), which has exited: none is left
  expect(ofChild(out.pid)).toEqual([]);
}, 120_000);
