// Fault: the results file's directory cannot be written. As root, modes do not stop a write, so the
// directory is made unwritable the ways root meets too: a read-only bind mount (EROFS), a regular
// file where a directory should be (ENOTDIR), and a directory that does not exist (ENOENT). All three
// can be known before a run, so `ci` refuses at once — the flag, the path and the errno named, exit 2,
// no job run, no file and no temp file written (not even the report whose place was good).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeSandbox, ringfence } from '../support/sandbox.js';
import { expectNoLeftovers, fault } from '../support/tally.js';

let dir: string;
let readOnly: string;
let mounted = false;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-fault-results-'));
  readOnly = path.join(dir, 'ro');
  fs.mkdirSync(readOnly);
  fs.writeFileSync(path.join(dir, 'a-file'), 'not a directory\n');
  fs.writeFileSync(path.join(dir, 'one.yml'), 'jobs:\n  - name: one\n    command: [echo, hello from one]\n');
});

afterAll(() => {
  try {
    if (mounted) execFileSync('umount', [readOnly]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The directory's entries: what a failed write left there. */
const entries = (target: string): string[] => fs.readdirSync(target).sort();

describeSandbox('fault: the results directory is unwritable', () => {
  beforeAll(() => {
    execFileSync('mount', ['--bind', readOnly, readOnly]);
    mounted = true;
    execFileSync('mount', ['-o', 'remount,bind,ro', readOnly]);
  });

  it('the read-only mount really refuses root', () => {
    expect(() => fs.writeFileSync(path.join(readOnly, 'probe'), 'x')).toThrow(/EROFS/);
  });

  it.each([
    ['a read-only mount', () => path.join(readOnly, 'r.json'), 'EROFS'],
    ['a file where the directory should be', () => path.join(dir, 'a-file', 'r.json'), 'ENOTDIR'],
    ['a directory that does not exist', () => path.join(dir, 'missing', 'r.json'), 'ENOENT'],
  ])('--json into %s: refused before the run, naming flag, path and errno, exit 2', (_what, target, code) => {
    const json = target();
    const out = ringfence('ci', path.join(dir, 'one.yml'), '--json', json, '--junit', `${json}.xml`);
    expect(out.status, out.stderr).toBe(2);
    expect(out.stderr).toContain(`ringfence ci: --json: cannot write ${json}: ${code}`);
    expect(out.stderr).not.toMatch(/^PASS +one/m); // nothing ran
    expect(fs.existsSync(json)).toBe(false);
    expect(fs.existsSync(`${json}.xml`)).toBe(false);
    expect(entries(readOnly)).toEqual([]);
    expect(entries(dir)).toEqual(['a-file', 'one.yml', 'ro']);
    fault(`results file: ${code} from its directory`, 'survived');
  });

  it('--junit into a read-only mount: refused before the run, the good --json not written either', () => {
    const json = path.join(dir, 'good.json');
    const xml = path.join(readOnly, 'r.xml');
    try {
      const out = ringfence('ci', path.join(dir, 'one.yml'), '--json', json, '--junit', xml);
      expect(out.status, out.stderr).toBe(2);
      expect(out.stderr).toContain(`ringfence ci: --junit: cannot write ${xml}: EROFS`);
      expect(fs.existsSync(json)).toBe(false);
      expect(entries(readOnly)).toEqual([]);
      fault('results file: the JUnit directory read-only (refused before the run)', 'survived');
    } finally {
      fs.rmSync(json, { force: true });
    }
  });

  it('leaves nothing behind', async () => {
    await expectNoLeftovers({ strict: true });
  });
});
