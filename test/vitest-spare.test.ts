// The Vitest pool's spare worker (harness/vitest/spare-worker.ts): the next file's sandbox and Node
// process start while the current file runs, its timeout counts from when a file takes it, and the
// run leaves no spare behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { NO_LEFTOVERS, ROOT, describeSandbox, leftovers } from './support/sandbox.js';
import { vitestStart } from './support/vitest.js';

/** A file that runs for `ms`, then says (on stderr) when its Node process started and its test ran. */
const fileBody = (name: string, ms: number): string =>
  [
    `import { expect, it } from 'vitest';`,
    `it('${name}', async () => {`,
    `  const begin = performance.timeOrigin + performance.now();`,
    `  await new Promise((resolve) => setTimeout(resolve, ${ms}));`,
    `  const end = performance.timeOrigin + performance.now();`,
    `  process.stderr.write('RFSPARE ' + JSON.stringify({ name: '${name}', node: performance.timeOrigin, begin, end }) + '\\n');`,
    `  expect(end - begin).toBeGreaterThanOrEqual(${ms - 5});`,
    `});`,
  ].join('\n');

describeSandbox('Vitest pool spare worker', () => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-vitest-spare-'));
  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  it("starts the next file's worker ahead, counts its timeout from its file, and leaves none behind", async () => {
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'));
    // one worker: the second file's spare waits out the whole first file (4 s) before its own 4 s,
    // which pass under a 6 s timeout only if the wait is not counted
    fs.writeFileSync(
      path.join(project, 'vitest.config.ts'),
      [
        `import { defineConfig } from 'vitest/config';`,
        `import { ringfence } from 'ringfence/vitest';`,
        `export default defineConfig({ test: { pool: ringfence({ timeout: '6s' }), isolate: true,`,
        `  maxWorkers: 1, include: ['*.test.ts'] } });`,
      ].join('\n'),
    );
    fs.writeFileSync(path.join(project, 'a.test.ts'), fileBody('a', 4000));
    fs.writeFileSync(path.join(project, 'b.test.ts'), fileBody('b', 4000));
    const vitest = vitestStart(['run', '--root', project], project);
    const end = await vitest.exited;
    const output = vitest.output();
    expect(end.code, output).toBe(0);
    expect(output).toMatch(/Test Files\s+2 passed \(2\)/);
    const marks = output
      .split('\n')
      .filter((line) => line.startsWith('RFSPARE '))
      .map(
        (line) => JSON.parse(line.slice('RFSPARE '.length)) as { node: number; begin: number; end: number },
      );
    expect(marks).toHaveLength(2);
    const [first, second] = marks.sort((x, y) => x.begin - y.begin) as [(typeof marks)[0], (typeof marks)[0]];
    // the second file's Node process was running while the first file's test still ran
    expect(second.node).toBeLessThan(first.end);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 60_000);
});
