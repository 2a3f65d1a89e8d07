// The systemd placement runs busctl: an attack on it is a job that leaves a `busctl` where the next
// `npx ringfence` would find it first in PATH (npx puts the project's node_modules/.bin there, and a
// job may write its workdir). systemBinary() never looks in PATH.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { systemBinary } from '../../harness/cgroup/placement.js';

let dir = '';
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('a busctl planted first in PATH is never the one chosen', () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-placement-'));
  const planted = path.join(dir, 'busctl');
  fs.writeFileSync(planted, '#!/bin/sh\ntouch /tmp/pwned\n', { mode: 0o755 });
  const savedPath = process.env.PATH;
  process.env.PATH = `${dir}:${savedPath ?? ''}`;
  try {
    const chosen = systemBinary('busctl');
    expect(chosen).not.toBe(planted);
    // where systemd is installed it is the root-owned copy in a system directory
    if (chosen !== null)
      expect(['/usr/bin/busctl', '/bin/busctl', '/usr/sbin/busctl', '/sbin/busctl']).toContain(chosen);
  } finally {
    process.env.PATH = savedPath;
  }
});

it('a program in a system directory that its owner let others write is refused', () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-placement-'));
  const file = path.join(dir, 'busctl');
  fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
  fs.chmodSync(file, 0o757);
  expect(systemBinary('busctl', [dir])).toBeNull();
  // and one not owned by root, however its mode (skipped meaning where the test runs as non-root: then
  // the file is not root's in the first place)
  fs.chmodSync(file, 0o755);
  if (process.getuid?.() !== 0) expect(systemBinary('busctl', [dir])).toBeNull();
  else expect(systemBinary('busctl', [dir])).toBe(file);
});
