// keepLayer on upper layers laid out by hand, as a job can leave them: what the OCI form of each entry
// is, and that nothing a job planted makes the copy leave its target. The real jobs are in
// test/sandbox/keep-layer.test.ts; these are the shapes one kernel's mount table cannot produce (two
// layers, one of them under a mount point the job turned into a symlink).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_LIMITS, keepLayer } from '../../harness/fs/layer.js';
import { attack } from '../support/tally.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-keep-layer-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function upper(name: string, files: Record<string, string>): string {
  const root = path.join(dir, name);
  fs.mkdirSync(root);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

function tree(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[]).sort();
}

describe('keepLayer', () => {
  it('writes files and links as they are, a deletion as .wh.<name>, without set-uid bits, leaving out FIFOs', () => {
    const u = upper('u0', { 'etc/rf': 'y\n', 'root/probe': 'x\n' });
    fs.chmodSync(path.join(u, 'root/probe'), 0o4755);
    fs.chmodSync(path.join(u, 'root'), 0o2755);
    fs.symlinkSync('/etc/passwd', path.join(u, 'root/link'));
    spawnSync('mkfifo', [path.join(u, 'root/fifo')]);
    const whiteout = spawnSync('mknod', [path.join(u, 'etc/hostname'), 'c', '0', '0']);
    expect(whiteout.status, 'mknod (root)').toBe(0);
    const target = path.join(dir, 'layer');
    const kept = keepLayer([{ upper: u, mountPoint: '/' }], [], { path: target, format: 'dir' });
    // each path kept without its set-uid or set-gid bit is named
    expect({ ...kept, stripped: kept.stripped?.sort() }).toEqual({
      path: target,
      format: 'dir',
      entries: 6,
      skipped: 1,
      stripped: ['/root', '/root/probe'],
    });
    expect(tree(target)).toEqual(['etc', 'etc/.wh.hostname', 'etc/rf', 'root', 'root/link', 'root/probe']);
    expect(fs.statSync(path.join(target, 'etc/.wh.hostname')).size).toBe(0);
    expect(fs.readlinkSync(path.join(target, 'root/link'))).toBe('/etc/passwd');
    expect(fs.statSync(path.join(target, 'root/probe')).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(path.join(target, 'root')).mode & 0o7777).toBe(0o755);
  });

  it('leaves out the job paths that were not overlaid (workdir, /tmp, volumes)', () => {
    const u = upper('u0', { 'srv/app/out.txt': 'w', 'srv/other': 'o' });
    const target = path.join(dir, 'layer');
    keepLayer([{ upper: u, mountPoint: '/' }], ['/srv/app'], { path: target, format: 'dir' });
    expect(tree(target)).toEqual(['srv', 'srv/other']);
  });

  it('attack: a layer under a mount point the job replaced by a symlink is skipped, not followed out of the target', () => {
    const victim = path.join(dir, 'victim');
    fs.mkdirSync(victim);
    // the job renamed /a (with the mount point /a/b in it) and planted /a -> the victim
    const root = upper('u0', {});
    fs.symlinkSync(victim, path.join(root, 'a'));
    const mounted = upper('u1', { planted: 'p' });
    const target = path.join(dir, 'layer');
    const kept = keepLayer(
      [
        { upper: mounted, mountPoint: '/a/b' },
        { upper: root, mountPoint: '/' },
      ],
      [],
      { path: target, format: 'dir' },
    );
    expect(tree(victim)).toEqual([]);
    expect(kept.incomplete).toBe(true);
    expect(fs.lstatSync(path.join(target, 'a')).isSymbolicLink()).toBe(true);
    attack('keep-layer: a mount point made a symlink to leave the target', 'contained');
  });

  it(`bounds the depth it copies at ${KEEP_LIMITS.depth} levels and says the layer is incomplete`, () => {
    const deep = Array.from({ length: KEEP_LIMITS.depth + 5 }, () => 'd').join('/');
    const u = upper('u0', { [`${deep}/f`]: 'x' });
    const target = path.join(dir, 'layer.tar');
    const kept = keepLayer([{ upper: u, mountPoint: '/' }], [], { path: target, format: 'tar' });
    expect(kept.incomplete).toBe(true);
    expect(kept.entries).toBe(KEEP_LIMITS.depth);
    const listed = spawnSync('tar', ['-tf', target], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n').filter((l) => l !== '')).toHaveLength(KEEP_LIMITS.depth);
  });

  it('says why when the layer cannot be kept, and leaves no partial tree or file', () => {
    const u = upper('u0', { 'root/probe': 'x' });
    // a directory target that filled up while the job ran
    const target = path.join(dir, 'layer');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'theirs'), '');
    const kept = keepLayer([{ upper: u, mountPoint: '/' }], [], { path: target, format: 'dir' });
    expect(kept.error).toBe('ENOTEMPTY');
    expect(tree(target)).toEqual(['theirs']);
    expect(fs.readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
  });
});
