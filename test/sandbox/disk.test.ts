// --disk and --files hold and are reported: real jobs writing past them, the ENOSPC inside, the
// result's disk figures and reason, the JUnit properties, and the host's disk back where it was.
// Where they cannot be enforced (a user namespace) the job says so, and --strict refuses it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { Sandbox } from '../../harness/launch/spares.js';
import { templateMaking, templateRuns } from '../../harness/fs/disk-template.js';
import { prepareDiskTemplates } from '../../harness/job/scratch.js';
import { NO_LEFTOVERS, describeSandbox, leftovers, ringfence } from '../support/sandbox.js';

const MiB = 1024 * 1024;

function hostTmpFree(): number {
  const stat = fs.statfsSync(os.tmpdir());
  return stat.bavail * stat.bsize;
}

/** Runs `body` with a fresh directory under the host's tmpdir, removed afterwards whatever happens. */
async function inTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describeSandbox('--disk and --files', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('/tmp: a 300 MiB write under --memory 64m --disk 100m stops at the cap with ENOSPC, not an OOM kill', async () => {
    const freeBefore = hostTmpFree();
    const result = await runJob({
      command: ['sh', '-c', 'dd if=/dev/zero of=/tmp/big bs=1M count=300'],
      memory: '64m',
      disk: '100m',
      workdir: '/',
    });
    expect(result.stderr).toMatch(/No space left on device/);
    expect(result.status).toBe('failed');
    expect(result.memory.oomKills).toBe(0);
    expect(result.disk?.capReached).toBe('disk');
    expect(result.disk?.limitBytes).toBe(100 * MiB);
    expect(result.disk?.bytes).toBeGreaterThan(95 * MiB);
    expect(result.disk?.bytes).toBeLessThanOrEqual(100 * MiB);
    expect(result.reason).toMatch(
      /^disk: (9\d|100)(\.\d)? MiB written, cap 100 MiB reached \(exited with code 1\)$/,
    );
    await Sandbox.settle();
    // the job's filesystem went with it (others write to this disk too: a margin, far below 100 MiB)
    expect(freeBefore - hostTmpFree()).toBeLessThan(16 * MiB);
  });

  it('the workdir seen through the overlay (--output) is under the same cap, and what it left is written back', async () => {
    await inTempDir('rf-disk-', async (dir) => {
      const result = await runJob({
        command: ['sh', '-c', 'dd if=/dev/zero of=big bs=1M count=300'],
        memory: '64m',
        disk: '100m',
        outputs: ['big'],
        workdir: dir,
      });
      expect(result.stderr).toMatch(/No space left on device/);
      expect(result.disk?.capReached).toBe('disk');
      const size = fs.statSync(path.join(dir, 'big')).size;
      expect(size).toBeGreaterThan(95 * MiB);
      expect(size).toBeLessThanOrEqual(100 * MiB);
    });
  });

  it('a writable workdir under --disk 100m: run stops the 300 MiB write at the cap and leaves none of it', async () => {
    await inTempDir('rf-disk-', async (dir) => {
      fs.writeFileSync(path.join(dir, 'kept'), 'host\n');
      const freeBefore = hostTmpFree();
      const out = ringfence(
        'run',
        '--memory',
        '64m',
        '--disk',
        '100m',
        '--workdir',
        dir,
        '--',
        'sh',
        '-c',
        'dd if=/dev/zero of=big bs=1M count=300; s=$?; rm kept; exit $s',
      );
      expect(out.stderr).toMatch(/No space left on device/);
      expect(out.stderr).toMatch(
        /ringfence: failed: disk: (9\d|100)(\.\d)? MiB written, cap 100 MiB reached/,
      );
      expect(out.stderr).toMatch(/not written back: .*reached its --disk cap/);
      expect(out.status).toBe(1);
      // what filled the cap never reached the host, and the deletion beside it was not applied either
      expect(fs.readdirSync(dir)).toEqual(['kept']);
      await Sandbox.settle();
      expect(freeBefore - hostTmpFree()).toBeLessThan(16 * MiB);
    });
  });

  it('a writable workdir under --disk: what a job leaves within the cap is written back, its tooling kept', async () => {
    await inTempDir('rf-disk-', async (dir) => {
      fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
      fs.mkdirSync(path.join(dir, '.git'));
      fs.writeFileSync(path.join(dir, 'old'), 'old\n');
      const result = await runJob({
        command: [
          'sh',
          '-c',
          [
            'dd if=/dev/zero of=build.bin bs=1M count=8 2>/dev/null',
            'mkdir -p dist && echo ok > dist/out.txt && echo pkg > package.json && rm old',
            'echo evil > node_modules/.bin/tsc && echo hook > .git/post-checkout && ln -s /etc/passwd link',
          ].join('; '),
        ],
        disk: '64m',
        workdir: dir,
      });
      expect(result.status).toBe('passed');
      expect(result.disk?.capReached).toBeNull();
      expect(fs.statSync(path.join(dir, 'build.bin')).size).toBe(8 * MiB);
      expect(fs.readFileSync(path.join(dir, 'dist', 'out.txt'), 'utf8')).toBe('ok\n');
      expect(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe('pkg\n');
      expect(fs.existsSync(path.join(dir, 'old'))).toBe(false);
      // as a writable workdir keeps them: the host's tooling and hooks are never the job's
      expect(fs.readdirSync(path.join(dir, 'node_modules', '.bin'))).toEqual([]);
      expect(fs.readdirSync(path.join(dir, '.git'))).toEqual([]);
      const refused = result.filesystem?.outputs?.refused.map((r) => path.relative(dir, r.path)).sort();
      expect(refused).toEqual(['.git/post-checkout', 'node_modules/.bin/tsc']);
      // a link, as a writable workdir would hold it (npm's workspaces, a build's `latest`): the link itself
      expect(fs.readlinkSync(path.join(dir, 'link'))).toBe('/etc/passwd');
    });
  });

  it('a writable workdir under --disk: an install into a fresh project lands whole, links and .bin too', async () => {
    await inTempDir('rf-disk-', async (dir) => {
      fs.writeFileSync(path.join(dir, 'package.json'), '{}\n');
      const result = await runJob({
        command: [
          'sh',
          '-c',
          'mkdir -p node_modules/pkg node_modules/.bin packages/lib && echo "#!/bin/sh" > node_modules/pkg/cli.js && ln -s ../pkg/cli.js node_modules/.bin/pkg && ln -s ../packages/lib node_modules/lib && echo lock > package-lock.json',
        ],
        disk: '64m',
        workdir: dir,
      });
      expect(result.status, result.reason).toBe('passed');
      expect(result.filesystem?.outputs?.refused).toEqual([]);
      expect(fs.readlinkSync(path.join(dir, 'node_modules', '.bin', 'pkg'))).toBe('../pkg/cli.js');
      expect(fs.readlinkSync(path.join(dir, 'node_modules', 'lib'))).toBe('../packages/lib');
      expect(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8')).toBe('lock\n');
    });
  });

  it('--files 1000 stops a job creating 100 000 empty files, and run names the cap', async () => {
    const script =
      'i=0; while [ $i -lt 100000 ]; do true > /tmp/f$i || { echo "made $i"; exit 1; }; i=$((i+1)); done; echo "made $i"';
    const out = ringfence('run', '--files', '1000', '--workdir', '/', '--', 'sh', '-c', script);
    const made = Number(/made (\d+)/.exec(out.stdout)?.[1]);
    expect(made).toBeGreaterThan(900);
    expect(made).toBeLessThanOrEqual(1016);
    expect(out.stderr).toMatch(
      /ringfence: failed: files: \d+ created, cap 1000 reached \(exited with code 1\)/,
    );
    expect(out.status).toBe(1);
  });

  it('a filesystem kept for the next job with the same caps holds nothing of the last', async () => {
    const caps = { disk: '64m', files: 5000, workdir: '/' };
    const first = await runJob({
      ...caps,
      command: [
        'sh',
        '-c',
        'echo secret > /tmp/secret; mkdir -p /var/tmp/rf-disk && echo x > /var/tmp/rf-disk/x; dd if=/dev/zero of=/tmp/fill bs=1M count=20 2>/dev/null',
      ],
    });
    expect(first.status).toBe('passed');
    expect(first.disk?.bytes).toBeGreaterThan(20 * MiB);
    for (let i = 0; i < 3; i++) {
      const next = await runJob({
        ...caps,
        command: [
          'sh',
          '-c',
          'ls -A /tmp; ls /var/tmp/rf-disk 2>&1; dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1 | tail -1',
        ],
      });
      expect(next.stdout).not.toMatch(/secret|fill\n/);
      expect(next.stdout).toMatch(/No such file or directory/);
      // the whole cap again: what the first job wrote was freed, not carried over
      expect(next.disk?.capReached).toBe('disk');
      expect(next.disk?.bytes).toBeGreaterThan(60 * MiB);
      expect(next.disk?.files).toBeLessThan(5);
    }
  });

  it("a template made ahead (ci's first jobs) is the job's: one mke2fs for both, and the cap holds", async () => {
    // caps no other test here asks for: this process has no template for them yet
    const caps = { bytes: 37 * MiB, files: null };
    const runsBefore = templateRuns();
    prepareDiskTemplates([caps]);
    expect(templateMaking(caps)).not.toBeNull();
    // mke2fs takes tens of ms and the job reaches its scratch in a few: without the wait it would
    // make a second template (seen: 2 runs). Once it has started, the one made ahead is done.
    let makingAtStart: Promise<void> | null | undefined;
    const result = await runJob(
      {
        command: ['sh', '-c', 'dd if=/dev/zero of=/tmp/big bs=1M count=60'],
        disk: '37m',
        workdir: '/',
      },
      { onStart: () => (makingAtStart = templateMaking(caps)) },
    );
    expect(makingAtStart).toBeNull();
    expect(result.disk?.limitBytes).toBe(37 * MiB);
    expect(result.disk?.capReached).toBe('disk');
    expect(result.stderr).toMatch(/No space left on device/);
    // the job waited for the template being made rather than run mke2fs a second time
    expect(templateRuns() - runsBefore).toBe(1);
    expect(templateMaking(caps)).toBeNull();
  });

  it('a job within its caps passes, and its figures reach JUnit', async () => {
    await inTempDir('rf-disk-junit-', async (dir) => {
      const manifest = path.join(dir, 'ci.yml');
      fs.writeFileSync(
        manifest,
        'jobs:\n  - name: writer\n    command: sh -c "dd if=/dev/zero of=/tmp/x bs=1M count=3 2>/dev/null"\n',
      );
      const junit = path.join(dir, 'junit.xml');
      const out = ringfence('ci', manifest, '--junit', junit);
      expect(out.status).toBe(0);
      const xml = fs.readFileSync(junit, 'utf8');
      // ci's defaults: 1 GiB and 100 000 files
      expect(xml).toMatch(/name="ringfence\.writer\.disk\.limit_bytes" value="1073741824"/);
      expect(xml).toMatch(/name="ringfence\.writer\.disk\.limit_files" value="100000"/);
      const bytes = Number(/name="ringfence\.writer\.disk\.bytes" value="(\d+)"/.exec(xml)?.[1]);
      expect(bytes).toBeGreaterThanOrEqual(3 * MiB);
      expect(bytes).toBeLessThan(4 * MiB);
      expect(xml).not.toMatch(/disk\.cap_reached/);
    });
  });

  it('under --userns the caps are not enforced: said in the result, and --strict refuses the job', async () => {
    const result = await runJob(
      { command: ['true'], disk: '10m', files: 100, userns: true },
      { warn: false },
    );
    expect(result.status).toBe('passed');
    expect(result.enforcement?.notEnforced).toContain('--disk and --files');
    expect(result.disk).toBeUndefined();
    const strict = ringfence('run', '--userns', '--strict', '--disk', '10m', '--', 'true');
    expect(strict.status).toBe(125);
    expect(strict.stderr).toMatch(/--disk cannot be enforced here \(under --userns/);
  });

  it('auto (the ci and pool default) caps at 1 GiB as root, and says nothing where it cannot hold', async () => {
    const capped = ringfence(
      'run',
      '--disk',
      'auto',
      '--files',
      'auto',
      '--',
      'sh',
      '-c',
      'stat -f -c "%b %S %c" /tmp',
    );
    expect(capped.status).toBe(0);
    const [blocks, size, inodes] = capped.stdout.trim().split(' ').map(Number);
    // ext4 keeps a little of the image for itself: the job's /tmp is a filesystem of about 1 GiB
    expect(blocks! * size!).toBeGreaterThan(0.9 * 1024 ** 3);
    expect(blocks! * size!).toBeLessThan(1.1 * 1024 ** 3);
    expect(inodes).toBeGreaterThanOrEqual(100_000);
    expect(inodes).toBeLessThan(100_000 + 128);
    // rootless-like: no capped filesystem can be made, and the default is the host's normal layout
    const quiet = ringfence('run', '--userns', '--strict', '--disk', 'auto', '--files', 'auto', '--', 'true');
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    const result = await runJob({ command: ['true'], disk: 'auto', userns: true });
    expect(result.status).toBe('passed');
    expect(result.enforcement?.notEnforced).not.toContain('--disk');
  });
});
