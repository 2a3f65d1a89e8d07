// The pollution report's walk of an upper layer, on a tree made here (the kernel's part — an overlay
// filling the layer — is tested in test/sandbox/overlay.test.ts): what counts as added, changed and
// deleted, symlinks never followed, and every bound.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  WALK_LIMITS,
  pollutionSummary,
  readOnlySummary,
  readPollution,
  type HostStat,
} from '../../harness/fs/pollution.js';

describe('readPollution', () => {
  let upper = '';
  let hostSide = '';
  /** The "host": what exists under hostSide, by the job's path. */
  const host: HostStat = (p) => {
    try {
      return fs.lstatSync(path.join(hostSide, p));
    } catch {
      return null;
    }
  };

  beforeEach(() => {
    upper = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-upper-'));
    hostSide = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-lower-'));
  });
  afterEach(() => {
    fs.rmSync(upper, { recursive: true, force: true });
    fs.rmSync(hostSide, { recursive: true, force: true });
  });

  it('lists added and changed files, symlinks as symlinks, new empty directories; parents copied up are not listed', () => {
    fs.mkdirSync(path.join(hostSide, 'etc'));
    fs.writeFileSync(path.join(hostSide, 'etc', 'passwd'), 'host\n');
    fs.mkdirSync(path.join(upper, 'etc'));
    fs.chmodSync(path.join(upper, 'etc'), fs.statSync(path.join(hostSide, 'etc')).mode & 0o7777);
    fs.writeFileSync(path.join(upper, 'etc', 'passwd'), 'changed!\n');
    fs.writeFileSync(path.join(upper, 'etc', 'new'), 'n');
    fs.symlinkSync('/', path.join(upper, 'etc', 'root-link'));
    fs.mkdirSync(path.join(upper, 'opt', 'empty'), { recursive: true });
    fs.mkdirSync(path.join(upper, 'var', 'full'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'var', 'full', 'f'), '');
    const found = readPollution([{ upper, mountPoint: '/' }], [], WALK_LIMITS, host);
    expect(found).toEqual({
      changes: [
        { path: '/etc/new', kind: 'added', bytes: 1, type: 'file' },
        { path: '/etc/passwd', kind: 'changed', bytes: 9, type: 'file' },
        { path: '/etc/root-link', kind: 'added', bytes: 1, type: 'symlink' },
        { path: '/opt/empty', kind: 'added', bytes: 0, type: 'dir' },
        { path: '/var/full/f', kind: 'added', bytes: 0, type: 'file' },
      ],
      truncated: 0,
      incomplete: false,
    });
  });

  it('names paths by the mount point of the layer and leaves out the paths not overlaid', () => {
    fs.writeFileSync(path.join(upper, 'a'), 'a');
    fs.mkdirSync(path.join(upper, 'work'));
    fs.writeFileSync(path.join(upper, 'work', 'b'), 'b');
    const found = readPollution([{ upper, mountPoint: '/home' }], ['/home/work'], WALK_LIMITS, host);
    expect(found.changes.map((c) => c.path)).toEqual(['/home/a']);
  });

  it('reads a whiteout (a 0/0 character device) as a deletion of what the host has there', () => {
    if (process.getuid?.() !== 0) return; // mknod needs root
    fs.writeFileSync(path.join(hostSide, 'gone'), 'was here\n');
    expect(spawnSync('mknod', [path.join(upper, 'gone'), 'c', '0', '0']).status).toBe(0);
    expect(readPollution([{ upper, mountPoint: '/' }], [], WALK_LIMITS, host).changes).toEqual([
      { path: '/gone', kind: 'deleted', bytes: 0, type: 'file' },
    ]);
  });

  it('bounds what it lists, what it reads and how deep it goes', () => {
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(upper, `f${i}`), '');
    const listed = readPollution([{ upper, mountPoint: '/' }], [], { ...WALK_LIMITS, listed: 3 }, host);
    expect(listed.changes).toHaveLength(3);
    expect(listed.truncated).toBe(7);
    expect(listed.incomplete).toBe(false);
    const read = readPollution([{ upper, mountPoint: '/' }], [], { ...WALK_LIMITS, visited: 4 }, host);
    expect(read.changes.length + read.truncated).toBe(4);
    expect(read.incomplete).toBe(true);
    fs.mkdirSync(path.join(upper, 'a', 'b', 'c', 'd'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'a', 'b', 'c', 'd', 'deep'), '');
    const deep = readPollution([{ upper, mountPoint: '/' }], [], { ...WALK_LIMITS, depth: 2 }, host);
    expect(deep.incomplete).toBe(true);
    expect(deep.changes.map((c) => c.path).filter((p) => p.startsWith('/a'))).toEqual(['/a/b/c']);
  });

  it('says the whole of it in one line, and the fallbacks in another', () => {
    const filesystem = {
      mode: 'overlay' as const,
      changes: [
        { path: '/etc/hostname', kind: 'deleted' as const, bytes: 0, type: 'file' as const },
        { path: '/root/probe', kind: 'added' as const, bytes: 2, type: 'file' as const },
      ],
      truncated: 0,
    };
    expect(pollutionSummary(filesystem)).toBe(
      'wrote 2 paths outside its workdir: /etc/hostname (deleted), /root/probe',
    );
    expect(pollutionSummary({ ...filesystem, truncated: 9, incomplete: true }, 1)).toBe(
      'wrote at least 11 paths outside its workdir: /etc/hostname (deleted), and 10 more',
    );
    expect(pollutionSummary({ ...filesystem, changes: [] })).toBeNull();
    expect(pollutionSummary({ mode: 'host', changes: null, truncated: 0 })).toBeNull();
    expect(readOnlySummary({ ...filesystem, readOnly: [{ path: '/', code: 'EINVAL' }] })).toBe(
      'overlay refused for / (EINVAL): bound read-only instead (writes there fail with EROFS)',
    );
  });
});
