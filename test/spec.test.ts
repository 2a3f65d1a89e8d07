import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveJobSpec } from '../harness/job/spec.js';

describe('resolveJobSpec', () => {
  it('fills every default in one place', () => {
    const spec = resolveJobSpec({ command: ['true'], env: { PATH: '/bin' } });
    expect(spec).toMatchObject({
      command: ['true'],
      name: 'true',
      network: 'none',
      hostname: DEFAULTS.hostname,
      timeoutMs: null,
      cpuTimeMs: null,
      limits: {},
      user: null,
      outputLimitBytes: 1024 * 1024,
      env: { PATH: '/bin', TMPDIR: '/tmp' },
      workdir: process.cwd(),
    });
  });

  it('runs a string command through /bin/sh -c', () => {
    expect(resolveJobSpec({ command: 'echo hi && true' }).command).toEqual([
      '/bin/sh',
      '-c',
      'echo hi && true',
    ]);
  });

  it('converts human units to kernel units', () => {
    const spec = resolveJobSpec({
      command: ['x'],
      memory: '64m',
      memorySwap: '128m',
      cpus: '0.5',
      pidsLimit: 32,
      timeout: '1.5s',
      cpuTime: 2,
    });
    expect(spec.limits).toEqual({
      memoryBytes: 64 * 1024 ** 2,
      memorySwapBytes: 128 * 1024 ** 2,
      cpus: 0.5,
      pidsLimit: 32,
    });
    expect(spec.timeoutMs).toBe(1500);
    expect(spec.cpuTimeMs).toBe(2000);
  });

  it.each([
    [{ memory: '12zz' }, /^memory: invalid size/],
    [{ memorySwap: '1g' }, /^memory-swap: needs --memory/],
    [{ memory: '1g', memorySwap: '512m' }, /^memory-swap: must be at least/],
    [{ pidsLimit: 2 }, /^pids-limit: must be between 3/],
    [{ timeout: 'soon' }, /^timeout: invalid duration/],
    [{ hostname: 'bad host' }, /^hostname: invalid hostname/],
    [{ network: 'bridge' as 'none' }, /^network: must be none, host or allow:HOST/],
    [{ volumes: ['/nonexistent-src:/mnt'] }, /^volume: source/],
    [{ volumes: ['/tmp:relative'] }, /^volume: target/],
    [{ user: 'no-such-user-here' }, /^user: no user/],
    [{ command: [] }, /^command: is empty/],
    [{ fs: 'tmpfs' as 'host' }, /^fs: must be overlay, read-only or host/],
    [{ fs: 'host' as const, readOnly: true }, /^read-only: is --fs read-only, which contradicts --fs host/],
    [{ outputs: ['dist'], fs: 'host' as const }, /^output: needs --fs overlay/],
    [{ outputs: ['dist'], workdir: '/' }, /^output: needs a workdir other than \//],
    [{ outputs: ['/abs'] }, /^output: "\/abs" must be relative to the workdir/],
    [
      { volumes: ['/tmp:/mnt:overlay'], fs: 'read-only' as const },
      /^volume: SRC:DST:overlay needs --fs overlay/,
    ],
  ])('refuses %j naming the field', (patch, message) => {
    expect(() => resolveJobSpec({ command: ['true'], ...patch })).toThrow(message);
  });

  it('sees the host through an overlay by default; readOnly is --fs read-only', () => {
    expect(resolveJobSpec({ command: ['x'] })).toMatchObject({
      fs: 'overlay',
      readOnly: false,
      allowGitWrite: false,
    });
    expect(resolveJobSpec({ command: ['x'], readOnly: true })).toMatchObject({
      fs: 'read-only',
      readOnly: true,
    });
    expect(resolveJobSpec({ command: ['x'], fs: 'read-only', readOnly: true }).fs).toBe('read-only');
    expect(resolveJobSpec({ command: ['x'], fs: 'host', readOnly: false }).fs).toBe('host');
  });

  it('resolves users by name and number', () => {
    expect(resolveJobSpec({ command: ['x'], user: 'nobody' }).user).toEqual({ uid: 65534, gid: 65534 });
    expect(resolveJobSpec({ command: ['x'], user: '1234:5678' }).user).toEqual({ uid: 1234, gid: 5678 });
  });
});
