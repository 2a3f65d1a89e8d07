// Attack: a test file under the Vitest pool rewrites the ringfence it runs under (its launcher, its
// JavaScript) or Vitest's own files — loaded and run as the user's Vitest process, outside every
// sandbox, at the next run. fixtures/vitest-demo/attacks/launcher.test.ts tries; its tests pass only
// when every write fails with EROFS, and nothing on the host may have changed.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { DEMO, vitestRun } from '../support/vitest.js';
import { snapshot } from './native-files.js';

describeSandbox('adversarial: a Vitest test file against the harness', () => {
  it('cannot replace the launcher or change the JavaScript the next run loads', async () => {
    fs.rmSync('/var/tmp/rf-pwned', { force: true });
    const before = snapshot();
    const run = vitestRun([], {}, path.join(DEMO, 'attacks'));
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/Tests\s+2 passed \(2\)/);
    expect(snapshot()).toEqual(before);
    expect(fs.existsSync('/var/tmp/rf-pwned')).toBe(false);
    await expectNoLeftovers();
    attack('a Vitest file replaces the launcher or Vitest/ringfence JS', 'contained');
  });
});
