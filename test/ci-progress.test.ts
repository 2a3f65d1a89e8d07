// The live bar of `ringfence ci` on a terminal and its final summary line count one run the same way,
// in the same words (a flaky job is not "passed" in one and "flaky" in the other; a skipped job is
// not "failed"). Driven with the scheduler's events on a stand-in terminal stream.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, outcomeCounts } from '../harness/ci/progress.js';
import type { ManifestJob } from '../harness/manifest/types.js';
import type { JobOutcome } from '../reporters/types.js';
import { entry } from './compare/factory.js';

/** A terminal as cli-progress sees one: everything written, kept. */
function terminal(): NodeJS.WriteStream & { text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(stream, { isTTY: true, columns: 160, rows: 40, text: () => text });
  stream.cursorTo = (() => true) as NodeJS.WriteStream['cursorTo'];
  stream.moveCursor = (() => true) as NodeJS.WriteStream['moveCursor'];
  stream.clearLine = (() => true) as NodeJS.WriteStream['clearLine'];
  stream.clearScreenDown = (() => true) as NodeJS.WriteStream['clearScreenDown'];
  return stream;
}

const OUTCOMES: JobOutcome[] = [
  'passed',
  'passed',
  'flaky',
  'failed',
  'oom',
  'timeout',
  'skipped',
  'passed',
  'passed',
];

describe('ci progress and summary: one vocabulary', () => {
  it('counts outcomes as the summary line does', () => {
    expect(outcomeCounts(OUTCOMES)).toBe('4 passed, 1 flaky, 3 failed, 1 skipped, 0 aborted');
  });

  it('the live bar ends on the same counts as the summary', () => {
    const stream = terminal();
    const progress = createProgress(OUTCOMES.length, stream);
    OUTCOMES.forEach((outcome, i) => {
      const job: ManifestJob = {
        name: `job-${i}`,
        spec: { command: ['true'] },
        needs: [],
        retries: 0,
      };
      progress.onEvent({ type: 'start', job, attempt: 1 });
      progress.onEvent({ type: 'end', job, entry: entry(job.name, { outcome }) });
    });
    progress.stop();
    const text = stream.text();
    expect(text).toContain(`9/9 | ${outcomeCounts(OUTCOMES)}`);
    expect(text).not.toMatch(/\d+ passed, \d+ failed \|/); // the old two-word count
  });
});
