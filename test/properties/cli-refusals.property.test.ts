// Property of the command line: a bad value, whichever flag or manifest field it is in, is refused
// before anything runs, naming the flag or field, with the documented exit status — 125 for `run`
// (as Docker), 2 for `ci` (docs/cli.md, "ringfence ci"). Values are generated with fast-check,
// kept only where resolveJobSpec (what every entry point calls) refuses them in this process, and
// then given to the built CLI, a few processes at a time (each is a Node start-up).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveJobSpec, type JobSpecInput } from '../../harness/job/spec.js';
import { ROOT } from '../support/sandbox.js';
import { badInputs } from '../support/tally.js';
import { ringfenceAsync, type CliRun } from '../faults/helpers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-prop-cli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** CLI flag (= manifest field = InputError field) → the JobSpecInput key it fills. */
const FLAGS: [string, keyof JobSpecInput][] = [
  ['memory', 'memory'],
  ['cpus', 'cpus'],
  ['cpu-shares', 'cpuShares'],
  ['cpuset-cpus', 'cpusetCpus'],
  ['pids-limit', 'pidsLimit'],
  ['blkio-weight', 'blkioWeight'],
  ['timeout', 'timeout'],
  ['cpu-time', 'cpuTime'],
  ['tmp-size', 'tmpSize'],
  ['nofile', 'nofile'],
  ['output-limit', 'outputLimit'],
  ['hostname', 'hostname'],
];

const junk = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom('12zz', '-1', '0', '1e3', '0x10', 'lots', '9999999h', ' ', '1.5.5', '-', '--'),
  fc.tuple(fc.integer({ min: -99, max: 99 }), fc.stringMatching(/^[a-z]{1,3}$/)).map(([n, u]) => `${n}${u}`),
);

/** [flag, value] pairs resolveJobSpec refuses for that flag's field (argv cannot carry NUL). */
function refusedPairs(count: number): [string, string][] {
  const pairs: [string, string][] = [];
  const arb = fc.tuple(fc.constantFrom(...FLAGS), junk);
  while (pairs.length < count) {
    for (const [[flag, key], value] of fc.sample(arb, 50)) {
      if (value.includes('\0') || pairs.length >= count) continue;
      try {
        resolveJobSpec({ command: ['true'], env: {}, [key]: value });
      } catch {
        pairs.push([flag, value]);
      }
    }
  }
  return pairs;
}

/** Runs the CLI for each argument list, `width` at a time. */
async function pool(argLists: string[][], width = 3): Promise<CliRun[]> {
  const out: CliRun[] = new Array<CliRun>(argLists.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < argLists.length) {
        const i = next++;
        out[i] = await ringfenceAsync(argLists[i]!);
      }
    }),
  );
  return out;
}

describe('CLI refusals name the flag or field and exit with the documented status', () => {
  it('run --FLAG=junk: exit 125, "--FLAG" named, nothing run', async () => {
    const pairs = refusedPairs(8);
    const runs = await pool(pairs.map(([flag, value]) => ['run', `--${flag}=${value}`, '--', 'echo', 'RAN']));
    pairs.forEach(([flag, value], i) => {
      const out = runs[i]!;
      const what = `run --${flag}=${JSON.stringify(value)}: ${out.stderr}`;
      expect(out.status, what).toBe(125);
      expect(out.stderr, what).toMatch(new RegExp(`^ringfence: --${flag}: `));
      expect(out.stdout, what).not.toContain('RAN');
    });
    badInputs('cli: run --flag=junk', pairs.length);
  }, 60_000);

  it('ci with a junk field in the manifest: exit 2, file:line, job and field named, no report', async () => {
    const pairs = refusedPairs(5);
    const files = pairs.map(([flag, value], i) => {
      const file = path.join(dir, `bad-${i}.yml`);
      fs.writeFileSync(
        file,
        `defaults:\n  cwd: ${JSON.stringify(ROOT)}\njobs:\n  - name: spoilt\n    command: "true"\n    ${flag}: ${JSON.stringify(value)}\n`,
      );
      return file;
    });
    const runs = await pool(files.map((file) => ['ci', file, '--json', `${file}.json`]));
    pairs.forEach(([flag, value], i) => {
      const out = runs[i]!;
      const what = `${flag}: ${JSON.stringify(value)}: ${out.stderr}`;
      expect(out.status, what).toBe(2);
      expect(out.stderr, what).toContain(`${files[i]}:6, job "spoilt", field "${flag}": `);
      expect(fs.existsSync(`${files[i]}.json`), what).toBe(false);
    });
    badInputs('cli: ci manifest field junk', pairs.length);
  }, 60_000);

  it('ci --concurrency=junk and unknown flags: exit 2; run with an unknown flag: 125', async () => {
    const values = fc
      .sample(fc.oneof(junk, fc.integer({ min: -50, max: 0 }).map(String), fc.constant('1025')), 30)
      .filter((v) => !/^\s*\d+\s*$/.test(v) || Number(v) < 1 || Number(v) > 1024)
      .filter((v) => !v.includes('\0'))
      .slice(0, 3);
    const manifest = path.join(ROOT, 'fixtures', 'manifests', 'valid.yml');
    const lists = [
      ...values.map((v) => ['ci', manifest, `--concurrency=${v}`]),
      ['ci', manifest, '--no-such-flag'],
      ['run', '--no-such-flag', '--', 'echo', 'RAN'],
    ];
    const runs = await pool(lists);
    values.forEach((v, i) => {
      const out = runs[i]!;
      expect(out.status, `--concurrency=${JSON.stringify(v)}: ${out.stderr}`).toBe(2);
      expect(out.stderr).toMatch(/--concurrency/);
    });
    const [ciFlag, runFlag] = runs.slice(values.length);
    expect(ciFlag?.status).toBe(2);
    expect(ciFlag?.stderr).toContain('--no-such-flag');
    expect(runFlag?.status).toBe(125);
    expect(runFlag?.stderr).toContain('--no-such-flag');
    expect(runFlag?.stdout).not.toContain('RAN');
    badInputs('cli: ci --concurrency junk and unknown flags', values.length + 2);
  }, 60_000);
});
