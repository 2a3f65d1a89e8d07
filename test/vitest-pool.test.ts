// The Vitest pool as a user meets it: fixtures/vitest-demo run by Vitest's CLI with `pool: ringfence()`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { NO_LEFTOVERS, ROOT, describeSandbox, leftovers } from './support/sandbox.js';

describeSandbox('ringfence Vitest pool', () => {
  it('runs every demo file sandboxed: leak, hang and runaway fail with their cause, the rest pass', async () => {
    const started = performance.now();
    const out = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--root',
        path.join(ROOT, 'fixtures', 'vitest-demo'),
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const output = out.stdout + out.stderr;
    expect(out.status, output).toBe(1);
    expect(seconds).toBeLessThan(60); // bounded: nothing hangs
    expect(output).toMatch(
      /ringfence: leak\.test\.ts was killed: memory limit 256 MiB reached \(OOM kill, peak \d+ MiB\)/,
    );
    expect(output).toMatch(/ringfence: hang\.test\.ts was killed: exceeded wall-clock timeout 3s/);
    expect(output).toMatch(
      /ringfence: runaway\.test\.ts was killed: exceeded wall-clock timeout 3s; killed \d+ processes/,
    );
    expect(output).toMatch(/Test Files\s+3 failed \| 2 passed \(5\)/);
    // host.test.ts asserts from inside that it sees no host process, only lo, its own hostname
    expect(output).toMatch(/✓ host\.test\.ts/);
    expect(await leftovers({ strict: true })).toEqual(NO_LEFTOVERS);
  }, 120_000);
});
