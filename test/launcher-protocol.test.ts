import { describe, expect, it } from 'vitest';
import { launcherArgs, launcherErrorMessage, parseLauncherReports } from '../harness/launcher.js';
import { parseProcess } from '../harness/proctree.js';
import { resolveJobSpec } from '../harness/spec.js';

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
    expect(launcherErrorMessage(clone, { userns: false }, 1000)).toMatch(
      /^clone: EPERM — a job's namespaces need root or a user namespace: pass --userns/,
    );
    expect(launcherErrorMessage(clone, { userns: true }, 1000)).toMatch(
      /^clone: EPERM — this host refuses new user namespaces \(user\.max_user_namespaces=0/,
    );
    expect(launcherErrorMessage(clone, { userns: false }, 0)).toMatch(/refused even to root/);
    expect(launcherErrorMessage({ step: 'mount /proc', code: 'EPERM' }, { userns: false }, 1000)).toBe(
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

describe('process snapshot parsing', () => {
  it('reads state, ppid, RSS and the innermost namespace pid from captured /proc files', () => {
    const stat =
      '4242 (sleep (x) y) S 4240 4242 4240 0 -1 4194560 90 0 0 0 0 0 0 0 20 0 1 0 123456 2322432 131 18446744073709551615';
    const status = 'Name:\tsleep\nState:\tS (sleeping)\nNSpid:\t4242\t3\n';
    const info = parseProcess(4242, stat, status, 'sleep\u00001000\u0000');
    expect(info).toEqual({
      pid: 4242,
      ppid: 4240,
      nsPid: 3,
      state: 'S',
      rssBytes: 131 * 4096,
      cmdline: 'sleep 1000',
    });
  });

  it('names kernel-style processes without a cmdline by comm', () => {
    const info = parseProcess(
      7,
      '7 (zombie) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 0',
      'NSpid:\t7\n',
      '',
    );
    expect(info.cmdline).toBe('[zombie]');
    expect(info.nsPid).toBeNull();
  });
});
