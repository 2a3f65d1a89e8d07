// The job lifecycle's edges: exit codes and signals, setup errors, output caps, stdin, abort, scratch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { FIXTURES, NO_LEFTOVERS, describeSandbox, leftovers } from '../support/sandbox.js';

describeSandbox('job lifecycle', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it("passes the job's exit code through as failed", async () => {
    const result = await runJob({ command: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    expect(result).toMatchObject({
      status: 'failed',
      exitCode: 3,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
    });
  });

  it('reports a job killed by a signal as signaled with the signal name', async () => {
    const result = await runJob({ command: ['sh', '-c', 'kill -SEGV $$'] });
    expect(result).toMatchObject({ status: 'signaled', signal: 'SIGSEGV', exitCode: null });
  });

  it('passes empty arguments through, also to a launcher started ahead of its job', async () => {
    // the second job runs on the spare launcher the first one left, which gets its argv via the gate
    for (let i = 0; i < 2; i++) {
      const result = await runJob({
        command: ['printf', '%s|', '', 'x', ''],
        extraEnv: { RF_PROBE: 'kept' },
      });
      expect(result.stdout).toBe('|x||');
    }
    const env = await runJob({ command: ['sh', '-c', 'echo "$RF_PROBE"'], extraEnv: { RF_PROBE: 'kept' } });
    expect(env.stdout).toBe('kept\n');
  });

  it('a job aborted before it starts never runs', async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = path.join(os.tmpdir(), `rf-never-ran-${process.pid}`);
    const result = await runJob({ command: ['touch', marker] }, { signal: controller.signal });
    expect(result.status).toBe('aborted');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a missing program is an error naming the step and errno, not a failed job', async () => {
    const result = await runJob({ command: ['/no/such/program'] });
    expect(result.status).toBe('error');
    expect(result.error).toMatchObject({ step: 'exec /no/such/program', code: 'ENOENT' });
  });

  it('a missing workdir is an error at the chdir step', async () => {
    const result = await runJob({ command: ['true'], workdir: '/no/such/dir' });
    expect(result.status).toBe('error');
    expect(result.error?.step).toBe('chdir /no/such/dir');
  });

  it('caps captured output, marks the truncation, and keeps draining so the job is not blocked', async () => {
    const result = await runJob({
      command: ['node', path.join(FIXTURES, 'output-flood.js'), '8'],
      outputLimit: '1m',
    });
    expect(result.status).toBe('passed');
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stdout.length).toBeLessThan(1024 * 1024 + 200);
    expect(result.stdout).toMatch(/\[ringfence: output truncated: 7340032 more bytes not kept\]\n$/);
  });

  it('passes stdin through', async () => {
    const result = await runJob({ command: ['cat'], stdin: 'pipe' }, { stdinData: 'hello sandbox' });
    expect(result.stdout).toBe('hello sandbox');
  });

  it('an abort ends the job through the freezer path', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await runJob({ command: ['sleep', '30'] }, { signal: controller.signal });
    expect(result.status).toBe('aborted');
    expect(result.wallMs).toBeLessThan(1000);
    expect(result.diagnostics.processTree?.map((p) => p.cmdline)).toContain('sleep 30');
  });

  it('forwards a signal to the job, which can handle it', async () => {
    const result = await runJob(
      { command: ['sh', '-c', 'trap "echo got-term; exit 7" TERM; sleep 30 & wait'] },
      { onStart: (job) => setTimeout(() => job.signal('SIGTERM'), 300) },
    );
    expect(result).toMatchObject({ status: 'failed', exitCode: 7 });
    expect(result.stdout).toBe('got-term\n');
  });

  it('/tmp is the private scratch dir, removed afterwards without following symlinks the job left', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-test-target-'));
    fs.writeFileSync(path.join(outside, 'keep.txt'), 'host data');
    try {
      const result = await runJob({
        command: [
          'sh',
          '-c',
          `echo data > /tmp/file; ln -s ${outside} /tmp/link-dir; ln -s ${outside}/keep.txt /tmp/link-file; ln -s / /tmp/root; ls /tmp | tr "\\n" " "`,
        ],
        workdir: '/', // (a workdir under /tmp would add its mount point to the listing)
      });
      expect(result.stdout.trim().split(' ').sort()).toEqual(['file', 'link-dir', 'link-file', 'root']);
      expect(fs.readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('host data');
      expect(fs.existsSync('/etc/passwd')).toBe(true);
    } finally {
      fs.rmSync(outside, { recursive: true });
    }
  });

  it('a workdir under the host /tmp stays visible though /tmp is private', async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-test-project-'));
    fs.writeFileSync(path.join(project, 'input.txt'), 'project file');
    try {
      const result = await runJob({
        command: ['sh', '-c', 'pwd; cat input.txt; echo out > output.txt'],
        workdir: project,
      });
      expect(result.stdout).toBe(`${project}\nproject file`);
      expect(fs.readFileSync(path.join(project, 'output.txt'), 'utf8')).toBe('out\n');
    } finally {
      fs.rmSync(project, { recursive: true });
    }
  });

  it('--tmp-size caps /tmp as a tmpfs', async () => {
    const result = await runJob({
      command: ['sh', '-c', 'dd if=/dev/zero of=/tmp/fill bs=1M count=20 2>&1; exit 0'],
      tmpSize: '4m',
      workdir: '/',
    });
    expect(result.stdout).toMatch(/No space left on device/);
  });

  it('with --tmp-size, a workdir and a file volume under the host /tmp are still shown at their paths', async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-test-tmpfs-project-'));
    const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rf-test-tmpfs-file-')), 'settings.conf');
    fs.writeFileSync(path.join(project, 'input.txt'), 'project file\n');
    fs.writeFileSync(config, 'setting=1\n');
    try {
      const result = await runJob({
        command: [
          'sh',
          '-c',
          `pwd; cat input.txt; cat ${config}; echo out > output.txt; df -k /tmp | tail -1`,
        ],
        workdir: project,
        volumes: [`${config}:${config}:ro`],
        tmpSize: '4m',
      });
      expect(result.status, result.stderr).toBe('passed');
      const [pwd, input, setting, df] = result.stdout.trim().split('\n');
      expect([pwd, input, setting]).toEqual([project, 'project file', 'setting=1']);
      expect(df).toMatch(/^tmpfs\s+4096\s/); // /tmp is still the capped tmpfs
      expect(fs.readFileSync(path.join(project, 'output.txt'), 'utf8')).toBe('out\n');
    } finally {
      fs.rmSync(project, { recursive: true });
      fs.rmSync(path.dirname(config), { recursive: true });
    }
  });

  it('--read-only makes the host filesystem read-only inside while /tmp stays writable', async () => {
    const hostFile = `/var/tmp/rf-should-not-exist-${process.pid}`;
    const result = await runJob({
      command: [
        'sh',
        '-c',
        `touch ${hostFile} 2>/dev/null && echo wrote-host; touch /tmp/ok && echo wrote-tmp`,
      ],
      readOnly: true,
      workdir: '/',
    });
    expect(result.stdout.trim()).toBe('wrote-tmp');
    expect(fs.existsSync(hostFile)).toBe(false);
  });

  it('--volume binds a host directory, read-only with :ro', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-test-vol-'));
    fs.writeFileSync(path.join(dir, 'in.txt'), 'from host');
    try {
      const result = await runJob({
        command: ['sh', '-c', 'cat /mnt/in.txt; echo x > /mnt/new 2>/dev/null && echo wrote'],
        volumes: [`${dir}:/mnt:ro`],
      });
      expect(result.stdout).toBe('from host');
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('a volume mount point is made only inside the job /tmp: never through another volume or a symlink', async () => {
    const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-test-vol-outer-'));
    const inner = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-test-vol-inner-'));
    fs.symlinkSync('/etc', path.join(outer, 'to-etc'));
    try {
      // /tmp/w is the first volume: making /tmp/w/cache would make `cache` in its host source
      const through = await runJob({
        command: ['true'],
        workdir: '/',
        volumes: [`${outer}:/tmp/w`, `${inner}:/tmp/w/cache`],
      });
      expect(through.status).toBe('error');
      expect(through.error).toMatchObject({ step: 'volume /tmp/w/cache', code: 'EXDEV' });
      expect(fs.readdirSync(outer)).toEqual(['to-etc']);
      // a symlink on the way (here inside that volume) is never followed to make the mount point
      const symlinked = await runJob({
        command: ['true'],
        workdir: '/',
        volumes: [`${outer}:/tmp/w`, `${inner}:/tmp/w/to-etc/rf-made-here`],
      });
      expect(symlinked.status).toBe('error');
      expect(fs.existsSync('/etc/rf-made-here')).toBe(false);
      // and `..` never gets as far as the launcher
      await expect(
        runJob({ command: ['true'], volumes: [`${inner}:/tmp/../etc/rf-made-here`] }),
      ).rejects.toThrow(/volume: target "\/tmp\/\.\.\/etc\/rf-made-here" must be a normalized path/);
      expect(fs.existsSync('/etc/rf-made-here')).toBe(false);
    } finally {
      fs.rmSync(outer, { recursive: true });
      fs.rmSync(inner, { recursive: true });
    }
  });
});
