// Attack: a job changes what the harness executes or loads next — the launcher (renamed over,
// truncated), the spawn library and koffi's .node written in place (a mapped library changes under
// the running harness), ringfence's and piscina's JavaScript appended to, dist/ moved away, a file
// planted in native/build, the node binary itself. Each is a host file the next harness runs as root.
// Every one must fail inside (EROFS, EBUSY, ETXTBSY), the host files must be byte-identical after,
// and the next job must run the genuine launcher. Then the ways around it: the checkout through a
// writable volume, a volume onto or from a protected path, a workdir inside one.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { resolveJobSpec } from '../../harness/job/spec.js';
import { InputError } from '../../harness/job/units.js';
import { FIXTURES, ROOT, describeSandbox, ringfence } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, outcomes, removeDir, tempDir } from './helpers.js';
import { LAUNCHER, REFUSED, snapshot, tamperTargets } from './native-files.js';

const TAMPER = path.join(ADVERSARIAL, 'tamper.js');
const PWNED = '/var/tmp/rf-tamper-pwned';

function expectAllRefused(stdout: string, targets: Record<string, string>): void {
  const results = outcomes(stdout);
  for (const label of Object.keys(targets)) expect(results[label], `${label}: ${stdout}`).toMatch(REFUSED);
}

async function expectGenuineLauncherRuns(): Promise<void> {
  const next = await runJob({ command: ['true'], workdir: '/' });
  expect(next.status, next.reason).toBe('passed');
  // a fresh process checks the launcher on disk against the install's record before using it
  const fresh = ringfence('run', '-q', '--', 'true');
  expect(fresh.status, fresh.stderr).toBe(0);
  expect(fs.existsSync(PWNED)).toBe(false);
}

describeSandbox("adversarial: changing the harness's own files from a job", () => {
  it('every write to the launcher, spawn library, koffi, ringfence/piscina JS and node fails inside; the host is unchanged', async () => {
    fs.rmSync(PWNED, { force: true });
    const before = snapshot();
    const targets = tamperTargets();
    const result = await runJob({
      command: ['node', TAMPER, JSON.stringify(targets)],
      workdir: ROOT,
      timeout: '20s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expectAllRefused(result.stdout, targets);
    expect(snapshot()).toEqual(before);
    await expectGenuineLauncherRuns();
    await expectNoLeftovers();
    attack(
      'replace/overwrite/append the launcher, spawn library, koffi .node, ringfence and piscina JS, node',
      'contained',
    );
  });

  it('a writable volume of the whole checkout shows those paths read-only too; the rest of it stays writable', async () => {
    const before = snapshot();
    const mounted = '/mnt';
    const targets = tamperTargets(mounted);
    const probe = path.join(mounted, 'fixtures', `.rf-volume-probe-${process.pid}`);
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `node ${path.join(mounted, 'fixtures', 'adversarial', 'tamper.js')} '${JSON.stringify(targets)}' && echo written > ${probe} && rm ${probe} && echo probe ok`,
      ],
      workdir: '/',
      volumes: [`${ROOT}:${mounted}`],
      timeout: '20s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expectAllRefused(result.stdout, targets);
    expect(result.stdout).toContain('probe ok'); // the volume itself is writable
    expect(snapshot()).toEqual(before);
    await expectNoLeftovers();
    attack('reach the protected files through a writable volume of their parent', 'contained');
  });

  it('a workdir inside native/build cannot write there', async () => {
    const before = snapshot();
    const result = await runJob({
      command: ['node', TAMPER, JSON.stringify({ 'rename:launcher': LAUNCHER })],
      workdir: path.dirname(LAUNCHER),
      timeout: '20s',
      volumes: path.relative('/tmp', FIXTURES).startsWith('..') ? [] : [`${FIXTURES}:${FIXTURES}:ro`],
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(outcomes(result.stdout)['rename:launcher']).toMatch(REFUSED);
    expect(snapshot()).toEqual(before);
    await expectNoLeftovers();
    attack('workdir inside native/build', 'contained');
  });

  it('a volume that would make a protected path writable, or cover it, is refused with the reason', () => {
    const elsewhere = tempDir('vol');
    try {
      const refusals: [string, RegExp][] = [
        [`${path.dirname(LAUNCHER)}:/mnt/nb`, /which the harness runs from; mount it read-only/],
        [`${path.join(ROOT, 'dist', 'harness')}:/mnt/h`, /which the harness runs from; mount it read-only/],
        [`${elsewhere}:${path.join(ROOT, 'dist')}`, /would cover .*dist, which the harness runs from/],
        [`${elsewhere}:${path.join(ROOT, 'node_modules', 'koffi', 'build')}`, /would cover .*koffi/],
      ];
      for (const [volume, why] of refusals) {
        let caught: unknown = null;
        try {
          resolveJobSpec({ command: ['true'], volumes: [volume] });
        } catch (error) {
          caught = error;
        }
        expect(caught, volume).toBeInstanceOf(InputError);
        expect((caught as InputError).field).toBe('volume');
        expect((caught as Error).message).toMatch(why);
      }
      // read-only is fine, and the CLI refuses the writable one before anything runs
      expect(
        resolveJobSpec({ command: ['true'], volumes: [`${path.dirname(LAUNCHER)}:/mnt/nb:ro`] }).volumes,
      ).toHaveLength(1);
      const marker = path.join(elsewhere, 'ran');
      const out = ringfence('run', '--volume', `${path.dirname(LAUNCHER)}:/mnt/nb`, '--', 'touch', marker);
      expect(out.status).toBe(125);
      expect(out.stderr).toMatch(/--volume: .* mount it read-only/);
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      removeDir(elsewhere);
    }
    attack('volume onto or from a protected path', 'contained');
  });
});
