// A setup file for `npm run bench:vitest -- --trace`, run inside each test file's worker under either
// pool: when the worker's Node process started, when Vitest had it ready (this file runs), its first
// test's start and its last test's end, as one `RFTRACE` line on stderr (epoch ms) for the bench.
import { afterAll, afterEach, beforeEach, expect } from 'vitest';

const now = (): number => performance.timeOrigin + performance.now();
const marks = { node: performance.timeOrigin, ready: now(), firstTest: 0, lastTest: 0 };

beforeEach(() => {
  if (!marks.firstTest) marks.firstTest = now();
});
afterEach(() => {
  marks.lastTest = now();
});
afterAll(() => {
  const file = expect.getState().testPath;
  process.stderr.write(`RFTRACE ${JSON.stringify({ side: 'worker', file, ...marks })}\n`);
});
