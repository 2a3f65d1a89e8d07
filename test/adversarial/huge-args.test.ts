// Attack: a huge argv or environment — one argument far past the kernel's 128 KiB per string, two
// hundred thousand small ones past ARG_MAX, a 1 MiB variable. They travel through the harness (the
// launcher's own command line, or the config written through the gate of a launcher started ahead)
// and must end as a clear `error` result naming E2BIG, not a crashed or stuck harness, a stack
// overflow (a spread of 200 000 arguments into a call did that in harness/launch/command-line.ts), or a
// launcher left at its gate. And a job that execs something huge itself only fails itself.
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { Sandbox } from '../../harness/launch/spares.js';
import type { JobSpecInput } from '../../harness/job/spec.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';

const BIG = 'x'.repeat(1024 * 1024);
const MANY = Array.from({ length: 200_000 }, () => 'abcdefghij');

const cases: { name: string; spec: JobSpecInput }[] = [
  { name: 'one 1 MiB argument', spec: { command: ['echo', BIG] } },
  { name: '200 000 arguments', spec: { command: ['true', ...MANY] } },
  { name: 'a 1 MiB environment variable', spec: { command: ['true'], extraEnv: { RF_BIG: BIG } } },
];

async function expectHarnessWorks(): Promise<void> {
  const result = await runJob({ command: ['sh', '-c', 'echo still-here'] });
  expect(result.status).toBe('passed');
  expect(result.stdout).toBe('still-here\n');
}

describeSandbox('adversarial: huge argv and environment', () => {
  for (const { name, spec } of cases) {
    it(`${name}: an E2BIG error result through either launcher path, and the harness runs on`, async () => {
      // a fresh launcher: the command line goes to posix_spawn
      Sandbox.releaseSpares();
      const fresh = await runJob(spec);
      expect(fresh.status).toBe('error');
      expect(fresh.error?.message).toMatch(/E2BIG/);
      // a launcher started ahead (the job before leaves one): the config goes through its gate
      await expectHarnessWorks();
      const spare = await runJob(spec);
      expect(spare.status).toBe('error');
      expect(spare.error).toMatchObject({ code: 'E2BIG' });
      expect(spare.error?.step).toMatch(/^exec /);
      await expectHarnessWorks();
      attack(`huge argv/env: ${name}`, 'contained');
      await expectNoLeftovers();
    });
  }

  it('a job that execs a huge command line itself only fails itself', async () => {
    const script =
      "const { spawnSync } = require('node:child_process');" +
      "const r = spawnSync('true', ['x'.repeat(1 << 20)]);" +
      'console.log(r.error ? r.error.code : r.status);';
    const result = await runJob({ command: ['node', '-e', script], timeout: '10s' });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toBe('E2BIG\n');
    await expectHarnessWorks();
    attack('huge argv/env: exec inside the job', 'contained');
    await expectNoLeftovers();
  });
});
