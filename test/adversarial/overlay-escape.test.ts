// Attack: a job under --fs overlay (the default) tries to reach the host's real files through the
// overlay, or to make the pollution report — which the harness, as root, builds by walking the job's
// upper layers after it — follow, hang or blow up:
//   - /proc/self/root and /proc/1/root: the job's root is the overlay; the host's tree was detached;
//   - `..` from a volume's target: the overlay again, not the host;
//   - symlinks planted in the upper layer to a host file, to "/" and to a FIFO: listed as symlinks,
//     never followed (a followed link to "/" would walk the host; to a FIFO, block);
//   - a very wide tree (5000 files): listed up to the bound, the rest counted, quickly;
//   - a very deep one (past the depth bound and past PATH_MAX): said to be incomplete, not a hang,
//     and the scratch with its layers still removed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { removeDir, tempDir } from './helpers.js';

const tag = `rf-escape-${process.pid}`;

describeSandbox(
  'adversarial: reaching the host through the overlay, and a report that must not follow',
  () => {
    let workdir = '';
    beforeAll(() => {
      workdir = tempDir('overlay');
    });
    afterAll(() => removeDir(workdir));

    it('/proc/self/root and /proc/1/root lead to the overlay, not the host', async () => {
      const result = await runJob({
        command: [
          'sh',
          '-c',
          // init's root is refused to the job (EACCES: no ptrace access) or is the same overlay
          `echo a > /proc/self/root/etc/${tag}-self && cat /etc/${tag}-self; echo b 2>/dev/null > /proc/1/root/etc/${tag}-init`,
        ],
        workdir,
      });
      expect(result.stdout).toBe('a\n');
      expect(fs.existsSync(`/etc/${tag}-self`)).toBe(false);
      expect(fs.existsSync(`/etc/${tag}-init`)).toBe(false);
      const written = result.filesystem?.changes?.map((c) => c.path);
      expect(written).toContain(`/etc/${tag}-self`);
      expect(written?.filter((p) => p !== `/etc/${tag}-init`)).toEqual([`/etc/${tag}-self`]);
      attack('write the host through /proc/self/root under --fs overlay', 'contained');
      await expectNoLeftovers();
    });

    it('`..` from a volume is the overlay', async () => {
      const source = tempDir('vol-src');
      const target = fs.mkdtempSync(path.join('/var/tmp', 'rf-adv-vol-target-'));
      try {
        const result = await runJob({
          command: ['sh', '-c', `echo v > ${target}/../${tag}-dotdot && echo w > ${target}/inside`],
          workdir,
          volumes: [`${source}:${target}`],
        });
        expect(result.status, result.reason + result.stderr).toBe('passed');
        expect(fs.existsSync(`/var/tmp/${tag}-dotdot`)).toBe(false);
        expect(fs.readFileSync(path.join(source, 'inside'), 'utf8')).toBe('w\n'); // the volume is the host's
        expect(result.filesystem?.changes?.map((c) => c.path)).toEqual([`/var/tmp/${tag}-dotdot`]);
        attack('write the host through .. of a volume under --fs overlay', 'contained');
      } finally {
        removeDir(source);
        removeDir(target);
      }
      await expectNoLeftovers();
    });

    it('the inode count that spares a job the walk cannot be evened out: init’s hold on the layers is out of reach', async () => {
      // A job that leaves nothing gets its report from a count (the layers tmpfs's inodes before and
      // after: no walk). This one writes a file, then tries to remove as many of the layers' own
      // entries as it wrote — through init's fd of the tmpfs and its root — so that the count comes
      // out even and its write goes unreported.
      const result = await runJob(
        {
          command: [
            'sh',
            '-c',
            `echo x > /etc/${tag}-offset; for d in /proc/1/fd/* /proc/1/root/..; do rm -rf "$d"/0/work/work "$d"/root 2>/dev/null; ls "$d"/ 2>&1; done; true`,
          ],
          workdir,
        },
        { trace: true },
      );
      expect(result.status, result.reason + result.stderr).toBe('passed');
      // init's fds are ptrace-guarded (their numbers can be listed, not followed; one init closed
      // after the listing is simply gone); its root is the job's own
      const lines = result.stdout
        .trim()
        .split('\n')
        .filter((l) => l.includes('/proc/1/fd/'));
      expect(lines.filter((l) => /Permission denied/.test(l)).length).toBeGreaterThan(2);
      for (const line of lines) expect(line).toMatch(/Permission denied|No such file or directory/);
      expect(result.filesystem?.changes?.map((c) => c.path)).toEqual([`/etc/${tag}-offset`]);
      expect(result.trace?.map((t) => t.phase)).not.toContain('layers untouched');
      expect(fs.existsSync(`/etc/${tag}-offset`)).toBe(false);
      // a job that wrote and removed again is walked (the parents it copied up are inodes more) and
      // lists nothing: the copied-up /var and /var/tmp are no change of its
      const clean = await runJob(
        { command: ['sh', '-c', `echo y > /var/tmp/${tag}-gone && rm /var/tmp/${tag}-gone`], workdir },
        { trace: true },
      );
      expect(clean.filesystem?.changes).toEqual([]);
      attack('even out the layers inode count to hide a write', 'contained');
      await expectNoLeftovers();
    });

    it('symlinks in the upper layer (to a host file, to "/", to a FIFO) are listed, never followed', async () => {
      const result = await runJob({
        command: [
          'sh',
          '-c',
          [
            `mkfifo /root/${tag}-fifo`,
            `ln -s /etc/hostname /root/${tag}-file`,
            `ln -s / /root/${tag}-root`,
            `ln -s /root/${tag}-fifo /root/${tag}-tofifo`,
            `ln -s /usr /root/${tag}-dir`,
          ].join(' && '),
        ],
        workdir,
        timeout: '20s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(result.filesystem?.incomplete).toBeUndefined();
      expect(result.filesystem?.changes).toEqual([
        { path: `/root/${tag}-dir`, kind: 'added', bytes: 4, type: 'symlink' },
        { path: `/root/${tag}-fifo`, kind: 'added', bytes: 0, type: 'other' },
        { path: `/root/${tag}-file`, kind: 'added', bytes: '/etc/hostname'.length, type: 'symlink' },
        { path: `/root/${tag}-root`, kind: 'added', bytes: 1, type: 'symlink' },
        { path: `/root/${tag}-tofifo`, kind: 'added', bytes: `/root/${tag}-fifo`.length, type: 'symlink' },
      ]);
      for (const name of ['fifo', 'file', 'root', 'tofifo', 'dir'])
        expect(fs.existsSync(`/root/${tag}-${name}`)).toBe(false);
      attack('symlinks planted for the pollution report to follow', 'contained');
      await expectNoLeftovers();
    });

    it('a very wide upper tree (5000 files) is bounded: 1000 listed, the rest counted, quickly', async () => {
      const result = await runJob({
        command: ['sh', '-c', `mkdir /root/${tag}-wide && cd /root/${tag}-wide && seq 1 5000 | xargs touch`],
        workdir,
        timeout: '60s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      const report = result.filesystem;
      expect(report?.changes).toHaveLength(1000);
      expect(report?.truncated).toBe(4000);
      expect(report?.incomplete).toBeUndefined();
      expect(report?.changes?.every((c) => c.path.startsWith(`/root/${tag}-wide/`))).toBe(true);
      expect(fs.existsSync(`/root/${tag}-wide`)).toBe(false);
      attack('a 5000-file upper tree for the pollution report', 'contained');
      await expectNoLeftovers();
    });

    it('a very deep upper tree (past the depth bound and PATH_MAX) ends the walk as incomplete; the scratch still goes', async () => {
      const started = performance.now();
      const result = await runJob({
        // one relative mkdir and chdir at a time: the full paths run far past PATH_MAX (4096)
        command: [
          process.execPath,
          '-e',
          `const fs = require('fs'); fs.mkdirSync('/root/${tag}-deep'); process.chdir('/root/${tag}-deep');
         for (let i = 0; i < 2200; i++) { fs.mkdirSync('d'); process.chdir('d'); }
         fs.writeFileSync('bottom.txt', 'reached\\n'); console.log('depth 2200');`,
        ],
        workdir,
        timeout: '60s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(result.stdout).toBe('depth 2200\n');
      expect(result.filesystem?.incomplete).toBe(true);
      // the tree's top stands for it, at the depth where the walk stopped
      expect(result.filesystem?.changes).toHaveLength(1);
      expect(result.filesystem?.changes?.[0]?.path).toMatch(new RegExp(`^/root/${tag}-deep(/d)+$`));
      expect(performance.now() - started).toBeLessThan(30_000);
      expect(fs.existsSync(`/root/${tag}-deep`)).toBe(false);
      attack('a 2200-level upper tree for the pollution report', 'contained');
      await expectNoLeftovers();
    });
  },
);
