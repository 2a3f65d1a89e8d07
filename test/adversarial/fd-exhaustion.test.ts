// Attack: exhausting file descriptors — open until the kernel refuses, then raise the limit and go
// on. Fds are per process, but the files behind them come from one system-wide table (fs.file-max):
// a job that could fill it would stop every process on the host from opening anything. --nofile caps
// the job's RLIMIT_NOFILE, and the job cannot raise it (CAP_SYS_RESOURCE is not in its set); without
// --nofile the memory cap bounds it, since open files are charged to the job's cgroup.
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { Sandbox } from '../../harness/launch/spares.js';
import { sealAllNative } from '../../native/sealed.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, removeDir, tempDir } from './helpers.js';

/** Open files on the whole host (the first field of fs.file-nr). */
function hostOpenFiles(): number {
  return Number(fs.readFileSync('/proc/sys/fs/file-nr', 'utf8').split(/\s+/)[0]);
}

describeSandbox('adversarial: exhausting file descriptors', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('fds');
    compile(dir, 'fds');
  });
  afterAll(() => removeDir(dir));

  it('--nofile 256 stops it at 256 fds, and the job cannot raise its own limit', async () => {
    // counted without a spare launcher (its pipes are the harness's, made ahead for the next job) and
    // with the sealed launcher and spawn library made: those two fds stay for the process's life
    await Sandbox.settle();
    sealAllNative();
    const ownFds = fs.readdirSync('/proc/self/fd').length;
    const result = await runJob({ command: ['./fds'], workdir: dir, nofile: 256, timeout: '10s' });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(result.stdout).toContain('opened 253 EMFILE\n'); // 256 less stdin, stdout, stderr
    expect(result.stdout).toContain('raise EPERM\n');
    expect(result.stdout).toContain('limit 256 256\n');
    // the harness has the fds it had, and can open more
    await Sandbox.settle();
    expect(fs.readdirSync('/proc/self/fd').length).toBe(ownFds);
    fs.closeSync(fs.openSync('/dev/null', 'r'));
    attack('exhaust fds (--nofile)', 'contained');
    await expectNoLeftovers();
  });

  it('without --nofile, the inherited limit and the memory cap bound it; the host table has room', async () => {
    const before = hostOpenFiles();
    const result = await runJob({ command: ['./fds'], workdir: dir, memory: '64m', timeout: '20s' });
    const opened = Number(/^opened (\d+) (\w+)$/m.exec(result.stdout)?.[1]);
    // stopped by its RLIMIT_NOFILE (EMFILE), by the memory cap (ENOMEM, or an OOM kill), never ENFILE
    expect(result.stdout).not.toMatch(/ENFILE/);
    if (result.status === 'oom') expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    else expect(result.stdout).toMatch(/^opened \d+ (EMFILE|ENOMEM)$/m);
    expect(result.stdout).not.toMatch(/^raise ok$/m);
    const max = Number(fs.readFileSync('/proc/sys/fs/file-max', 'utf8'));
    if (!Number.isNaN(opened)) expect(opened).toBeLessThan(max);
    // everything it opened was closed with it
    expect(hostOpenFiles() - before).toBeLessThan(1000);
    attack('exhaust fds (inherited limit)', 'contained');
    await expectNoLeftovers();
  });
});
