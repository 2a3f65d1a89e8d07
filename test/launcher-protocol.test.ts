import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exposeHiddenWorkdir } from '../harness/job/workdir-binds.js';
import { launcherArgs } from '../harness/launch/command-line.js';
import { launcherErrorMessage, parseLauncherReports, unescapeMountPath } from '../harness/launch/status.js';
import { parseProcess } from '../harness/job/proctree.js';
import { resolveJobSpec } from '../harness/job/spec.js';

describe('launcher status protocol', () => {
  it('parses errors, exits and signals, ignoring a cut-off last line', () => {
    const text =
      'error\tmount /proc\t1\nexit\t3\t2048\t1500\t250\t10\t20\t4096\t8192\nsignal\t9\t100\t1\t2\nexit\t0\t1\t2\t3\t4\t5';
    expect(parseLauncherReports(text)).toEqual([
      { kind: 'error', step: 'mount /proc', errno: 1, code: 'EPERM' },
      {
        kind: 'exit',
        code: 3,
        maxRssKiB: 2048,
        userUs: 1500,
        systemUs: 250,
        io: { rchar: 10, wchar: 20, readBytes: 4096, writeBytes: 8192 },
      },
      // a kernel without task I/O accounting sends no I/O fields
      { kind: 'signal', signal: 9, maxRssKiB: 100, userUs: 1, systemUs: 2, io: null },
    ]);
  });

  it('names the fix for namespaces the host refuses, and nothing more for other failures', () => {
    const clone = { step: 'clone', code: 'EPERM' };
    expect(launcherErrorMessage(clone, { userns: false }, false)).toMatch(
      /^clone: EPERM — a job's namespaces need root or a user namespace: pass --userns/,
    );
    expect(launcherErrorMessage(clone, { userns: true }, false)).toMatch(
      /^clone: EPERM — this host refuses new user namespaces \(user\.max_user_namespaces=0/,
    );
    expect(launcherErrorMessage(clone, { userns: false }, true)).toMatch(/refused even to root/);
    expect(launcherErrorMessage({ step: 'mount /proc', code: 'EPERM' }, { userns: false }, false)).toBe(
      'mount /proc: EPERM',
    );
  });

  it('builds the command line from the spec', () => {
    const spec = resolveJobSpec({
      command: ['node', 'x.js'],
      hostname: 'h',
      tmpSize: '8m',
      readOnly: true,
      volumes: ['/tmp:/mnt:ro'],
      user: '1:2',
      nofile: 100,
      workdir: '/',
    });
    const args = launcherArgs(spec, '/scratch');
    expect(args).toEqual(
      expect.arrayContaining([
        '--hostname=h',
        '--net=none',
        '--tmp-size=8388608',
        '--read-only',
        '--volume=/tmp:/mnt:ro',
        '--uid=1',
        '--gid=2',
        '--nofile=100',
      ]),
    );
    expect(args).not.toContain('--tmp-dir=/scratch');
    expect(args.slice(args.indexOf('--'))).toEqual(['--', 'node', 'x.js']);
  });
});

describe('launcher status protocol: the filesystem (--overlay-dir)', () => {
  it('parses overlay and fs-ro lines, undoing the octal escapes of a mount point', () => {
    const text =
      'overlay\t0\t/\noverlay\t3\t/mnt/with\\040space\\011tab\nfs-ro\t22\t/mnt/fuse\nfs-ro\tx\t/bad\n';
    expect(parseLauncherReports(text)).toEqual([
      { kind: 'overlay', index: 0, mountPoint: '/' },
      { kind: 'overlay', index: 3, mountPoint: '/mnt/with space\ttab' },
      { kind: 'fs-ro', errno: 22, code: 'EINVAL', mountPoint: '/mnt/fuse' },
    ]);
    expect(unescapeMountPath('/a\\134b\\012c\\303\\251')).toBe('/a\\b\nc\u00e9');
  });

  it('--fs overlay passes the layer dir and binds the workdir back writable first, its .git read-only', () => {
    const workdir = fs.mkdtempSync(path.join('/var/tmp', 'rf-proto-'));
    try {
      fs.mkdirSync(path.join(workdir, '.git'));
      const spec = resolveJobSpec({ command: ['true'], workdir, volumes: [`${workdir}:/srv/x:ro`] });
      expect(spec.fs).toBe('overlay');
      const extra = exposeHiddenWorkdir(spec);
      expect(extra).toEqual([{ source: workdir, target: workdir, readOnly: false }]);
      const args = launcherArgs(spec, '/scratch', extra, undefined, { overlayDir: '/scratch.fs' });
      expect(args).toContain('--overlay-dir=/scratch.fs');
      expect(args).not.toContain('--read-only');
      const volumes = args.filter((a) => a.startsWith('--volume='));
      expect(volumes).toEqual([`--volume=${workdir}:${workdir}`, `--volume=${workdir}:/srv/x:ro`]);
      expect(args).toContain(`--protect=${workdir}/.git`);
      // allowed: no .git protection; --fs host: neither the workdir bind nor the overlay
      const allowed = resolveJobSpec({ command: ['true'], workdir, allowGitWrite: true });
      expect(launcherArgs(allowed, '/s', exposeHiddenWorkdir(allowed))).not.toContain(
        `--protect=${workdir}/.git`,
      );
      const host = resolveJobSpec({ command: ['true'], workdir, fs: 'host' });
      expect(exposeHiddenWorkdir(host)).toEqual([]);
      expect(launcherArgs(host, '/s', [], undefined, { overlayDir: '/s.fs' })).not.toContain(
        '--overlay-dir=/s.fs',
      );
      // a workdir of / is not bound back writable: that would undo the overlay
      expect(exposeHiddenWorkdir(resolveJobSpec({ command: ['true'], workdir: '/' }))).toEqual([]);
    } finally {
      fs.rmSync(workdir, { recursive: true, force: true });
    }
  });
});

describe('process snapshot parsing', () => {
  it('reads state, ppid, RSS and the innermost namespace pid from a captured /proc/PID/status', () => {
    const status = [
      'Name:\tsleep',
      'Umask:\t0022',
      'State:\tS (sleeping)',
      'Tgid:\t4242',
      'Pid:\t4242',
      'PPid:\t4240',
      'NSpid:\t4242\t3',
      'VmRSS:\t     524 kB',
      'Threads:\t1',
      '',
    ].join('\n');
    const info = parseProcess(4242, status, 'sleep\u00001000\u0000');
    expect(info).toEqual({
      pid: 4242,
      ppid: 4240,
      nsPid: 3,
      state: 'S',
      rssBytes: 524 * 1024,
      cmdline: 'sleep 1000',
    });
  });

  it('names a process without a cmdline by its comm, as the kernel escaped it, and gives no RSS without memory', () => {
    // a zombie: no VmRSS line, no cmdline; a newline in comm comes escaped, a colon as it is
    const status = 'Name:\tz:ombie\\n\nState:\tZ (zombie)\nPPid:\t1\nNSpid:\t7\n';
    const info = parseProcess(7, status, '');
    expect(info).toMatchObject({ cmdline: '[z:ombie\\n]', state: 'Z', ppid: 1, nsPid: null, rssBytes: 0 });
  });
});
