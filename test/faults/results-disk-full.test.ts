// Fault: the disk fills while the results are written. A tiny tmpfs (mounted and always unmounted
// here) is filled up to one page, and the report is made bigger than that page by the job's output,
// so the write starts, gets part of the way and fails with ENOSPC: the very case where a naive writer
// leaves half a file. `ci` must name the file and ENOSPC, exit non-zero and leave neither the results
// file nor its temp file; `run --json=FILE` likewise.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeSandbox, ringfence } from '../support/sandbox.js';
import { expectNoLeftovers, fault } from '../support/tally.js';

const SIZE = 256 * 1024;
const PAGE = 4096;

let dir: string;
let disk: string;
let mounted = false;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-fault-full-'));
  disk = path.join(dir, 'disk');
  fs.mkdirSync(disk);
  // 64 KiB of output: it lands in the JSON (stdout is kept up to --output-limit) and in the JUnit
  fs.writeFileSync(
    path.join(dir, 'big.yml'),
    'jobs:\n  - name: talker\n    command: [sh, -c, "yes ringfence-test-output | head -c 65536"]\n',
  );
});

afterAll(() => {
  try {
    if (mounted) execFileSync('umount', [disk]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const entries = (): string[] => fs.readdirSync(disk).sort();

describeSandbox('fault: the disk is full when the results are written', () => {
  beforeAll(() => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE},mode=0755`, 'tmpfs', disk]);
    mounted = true;
    // fill it all but one page: a write of more than that starts, then fails half-way
    fs.writeFileSync(path.join(disk, 'filler'), Buffer.alloc(SIZE - PAGE));
  });

  it('the disk is really full: a write of two pages fails with ENOSPC', () => {
    const probe = path.join(disk, 'probe');
    try {
      expect(() => fs.writeFileSync(probe, Buffer.alloc(2 * PAGE))).toThrow(/ENOSPC/);
    } finally {
      fs.rmSync(probe, { force: true });
    }
  });

  it('ci --json: the run summary, then ENOSPC named with the path, exit 3, no half file, no temp file', () => {
    const json = path.join(disk, 'r.json');
    const out = ringfence('ci', path.join(dir, 'big.yml'), '--json', json);
    expect(out.status, out.stderr).toBe(3);
    expect(out.stderr).toMatch(/^PASS +talker/m);
    // the jobs' outcome is not lost with the report: the summary comes first
    expect(out.stderr).toMatch(/ringfence ci: 1 passed, .*\nringfence ci: cannot write .*: ENOSPC/);
    expect(out.stderr).toContain(`cannot write ${json}: ENOSPC`);
    expect(entries()).toEqual(['filler']);
    fault('results file: disk full (ci --json)', 'survived');
  });

  it('ci --junit: the same for the JUnit report', () => {
    const xml = path.join(disk, 'r.xml');
    const out = ringfence('ci', path.join(dir, 'big.yml'), '--junit', xml);
    expect(out.status, out.stderr).toBe(3);
    expect(out.stderr).toContain(`cannot write ${xml}: ENOSPC`);
    expect(entries()).toEqual(['filler']);
    fault('results file: disk full (ci --junit)', 'survived');
  });

  it('run --json=FILE: the error names the file, no half file, no temp file', () => {
    const json = path.join(disk, 'run.json');
    const out = ringfence('run', '-q', `--json=${json}`, '--', 'sh', '-c', 'yes | head -c 65536');
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain(json);
    expect(out.stderr).toContain('ENOSPC');
    expect(entries()).toEqual(['filler']);
    fault('results file: disk full (run --json)', 'survived');
  });

  it('leaves nothing behind', async () => {
    await expectNoLeftovers({ strict: true });
  });
});
