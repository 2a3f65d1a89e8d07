// The Vitest pool when a file's sandbox cannot start: the file fails at once with the start failure's
// own message and fix, the run goes on, the reason is said once at the top, and nothing is left —
// where it used to print RUN and wait for ever. And bad pool options are refused when the config
// loads, naming the option, before any file runs.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { CHECKSUMS_FILE } from '../native/sealed.js';
import { NO_LEFTOVERS, ROOT, describeSandbox, leftovers } from './support/sandbox.js';
import { DEMO, vitestRun } from './support/vitest.js';

const CONFIG = path.join(DEMO, 'start-failures', 'vitest.config.ts');
const BUILD = path.join(ROOT, 'native', 'build');
const FILES = ['host.test.ts', 'pass.test.ts'];

/** Runs the two demo files under start-failures/vitest.config.ts; the wall time of the whole run. */
function run(env: Record<string, string>): { status: number | null; output: string; ms: number } {
  const start = performance.now();
  const out = vitestRun(['--config', CONFIG], env);
  return { ...out, ms: performance.now() - start };
}

/** Every file failed with `could not start FILE: <reason>`, the reason said once above them, exit 1. */
function expectStartFailure(
  out: { status: number | null; output: string; ms: number },
  reason: RegExp,
): void {
  expect(out.status, out.output).toBe(1);
  expect(out.ms).toBeLessThan(10_000);
  expect(out.output).toMatch(/Test Files\s+2 failed \(2\)/);
  const banner = 'ringfence: test files cannot start their sandboxes: ';
  expect(out.output.split(banner).length - 1, out.output).toBe(1);
  const bannerAt = out.output.indexOf(banner);
  expect(out.output.slice(bannerAt + banner.length)).toMatch(reason);
  for (const file of FILES) {
    const failure = `ringfence: could not start ${file}: `;
    const at = out.output.indexOf(failure);
    expect(at, `${file}: ${out.output}`).toBeGreaterThan(bannerAt); // the banner comes first
    expect(out.output.slice(at + failure.length)).toMatch(reason);
  }
}

/** Replaces a file of the native build for the length of `body`, then puts the original back. */
function withBuildFile(name: string, change: (file: string) => void, body: () => void): void {
  const file = path.join(BUILD, name);
  const saved = `${file}.saved-${process.pid}`;
  fs.copyFileSync(file, saved);
  try {
    change(file);
    body();
  } finally {
    fs.renameSync(saved, file);
  }
}

describeSandbox('ringfence Vitest pool: a sandbox that cannot start', () => {
  it('a refused cgroup parent fails every file at once with the reason and its fix', async () => {
    const out = run({ RINGFENCE_CGROUP_PARENT: '/a/../b' });
    expectStartFailure(
      out,
      /^--cgroup-parent "\/a\/\.\.\/b" contains "\.\." — give a path from the hierarchy root/,
    );
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('a worker that dies before its first message fails its file with how it ended and what it said', async () => {
    const out = run({
      RINGFENCE_DEMO_EXEC_ARGV: JSON.stringify(['--require=/nonexistent/ringfence-preload.cjs']),
    });
    expectStartFailure(
      out,
      /^the Vitest worker ended before its first message \(exited with code 1\); its last output:\s+Error: Cannot find module '\/nonexistent\/ringfence-preload\.cjs'/,
    );
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('a missing launcher fails every file, naming the fix', async () => {
    withBuildFile(
      'ringfence-launcher',
      (file) => fs.rmSync(file),
      () => {
        const out = run({});
        expectStartFailure(out, /native\/build\/ringfence-launcher is missing — run npm install/);
      },
    );
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('a launcher that is not the one npm install built fails every file, naming the fix', async () => {
    withBuildFile(
      CHECKSUMS_FILE,
      (file) => {
        const wrong = createHash('sha256').update('not the launcher').digest('hex');
        const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
        fs.writeFileSync(file, JSON.stringify({ ...recorded, 'ringfence-launcher': wrong }));
      },
      () => {
        const out = run({});
        expectStartFailure(
          out,
          /ringfence-launcher is not the file npm install built .*: rebuild it: npm rebuild ringfence/,
        );
      },
    );
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });
});

describeSandbox('ringfence Vitest pool: options are checked when the config loads', () => {
  it.each([
    [{ memory: '12zz' }, /ringfence\(\{ memory \}\): invalid size "12zz"/],
    [{ pidsLimit: -1 }, /ringfence\(\{ pidsLimit \}\): must be between 3 and 4194304, got -1/],
    [{ timeout: 'soon' }, /ringfence\(\{ timeout \}\): invalid duration "soon"/],
    [{ network: 'bridge' }, /ringfence\(\{ network \}\): /],
    [
      { memroy: '1g' },
      /ringfence\(\): unknown option "memroy" \(known: memory, cpus, pidsLimit, timeout, network, hostname, userns, strict, fs, allowGitWrite, writable, disk, files, services\)/,
    ],
    [{ writable: ['../up'] }, /ringfence\(\{ writable \}\): "\.\.\/up" must stay inside the workdir/],
  ])('%j is refused before any file runs', async (options, message) => {
    const out = run({ RINGFENCE_DEMO_POOL_OPTIONS: JSON.stringify(options) });
    expect(out.status).not.toBe(0);
    expect(out.output).toMatch(message);
    expect(out.output).not.toMatch(/(pass|host)\.test\.ts/); // no file ran, none was even listed
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });
});
