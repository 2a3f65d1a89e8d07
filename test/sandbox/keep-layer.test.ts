// --keep-layer (the manifest's `keep-layer`): a real job's writes outside its workdir kept as an OCI
// layer — a directory or a tar file — instead of discarded; the host still untouched; bad targets
// refused before anything runs. Each test ends with nothing left behind.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { JobResult } from '../../harness/job/result.js';
import type { RunReport } from '../../reporters/types.js';
import { NO_LEFTOVERS, describeSandbox, leftovers, ringfence } from '../support/sandbox.js';
import { badInputs } from '../support/tally.js';
import { hostSetuidBinary } from '../adversarial/helpers.js';

describeSandbox("--keep-layer: a job's writes kept as a layer", () => {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-keep-layer-'));
  });
  afterEach(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  const job =
    'echo x > /root/rf-keep; chmod 4755 /root/rf-keep; rm -f /etc/hostname; ln -s /etc/shadow /root/rf-link; rm -rf /opt; mkdir /opt; echo n > /opt/new; mkfifo /root/rf-fifo; echo w > out.txt';

  it('a directory: files, links unfollowed, a deletion as .wh.hostname, a replaced /opt opaque; the host untouched', () => {
    const hostname = fs.readFileSync('/etc/hostname', 'utf8');
    const layer = path.join(dir, 'layer');
    const json = path.join(dir, 'result.json');
    const out = ringfence(
      'run',
      '--keep-layer',
      layer,
      '--json',
      json,
      '--workdir',
      dir,
      '--',
      'sh',
      '-c',
      job,
    );
    expect(out.status, out.stderr).toBe(0);
    const files = (fs.readdirSync(layer, { recursive: true }) as string[]).sort();
    // the workdir's out.txt is the workdir's, not the layer's
    expect(files).toEqual([
      'etc',
      'etc/.wh.hostname',
      'opt',
      'opt/.wh..wh..opq',
      'opt/new',
      'root',
      'root/rf-keep',
      'root/rf-link',
    ]);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('w\n');
    expect(fs.readlinkSync(path.join(layer, 'root/rf-link'))).toBe('/etc/shadow');
    // a root job cannot make a set-uid file, in the overlay either: its chmod 4755 failed (seccomp.c)
    expect(fs.statSync(path.join(layer, 'root/rf-keep')).mode & 0o7777).toBe(0o644);
    expect(fs.existsSync('/root/rf-keep')).toBe(false);
    expect(fs.readFileSync('/etc/hostname', 'utf8')).toBe(hostname);
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as JobResult;
    expect(result.filesystem?.kept).toEqual({ path: layer, format: 'dir', entries: 7, skipped: 1 });
    expect(out.stderr).toContain(
      `ringfence: kept the job's layer in ${layer} (7 entries; 1 sockets, FIFOs or devices left out)\n`,
    );
  });

  it('a host set-uid file the job touched is kept without its bit, and named in the result and the line', () => {
    const suid = hostSetuidBinary();
    const layer = path.join(dir, 'layer');
    const json = path.join(dir, 'result.json');
    // touch copies the host's file up into the job's layer, bit and all (a chmod 4755 would fail)
    const out = ringfence('run', '--keep-layer', layer, '--json', json, '--', 'touch', suid);
    expect(out.status, out.stderr).toBe(0);
    expect(fs.statSync(path.join(layer, suid)).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(suid).mode & 0o4000).toBe(0o4000); // the host's own is as it was
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as JobResult;
    expect(result.filesystem?.kept?.stripped).toEqual([suid]);
    expect(out.stderr).toContain(`; kept without set-uid/set-gid: ${suid})\n`);
  });

  it('a tar file that tar(1) reads, replaced when the job runs again', () => {
    const layer = path.join(dir, 'layer.tar');
    for (const content of ['first', 'second']) {
      const out = ringfence(
        'run',
        '--keep-layer',
        layer,
        '--',
        'sh',
        '-c',
        `echo ${content} > /root/rf-keep`,
      );
      expect(out.status, out.stderr).toBe(0);
    }
    const listed = spawnSync('tar', ['-tf', layer], { encoding: 'utf8' });
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(['root/', 'root/rf-keep']);
    const content = spawnSync('tar', ['-xOf', layer, 'root/rf-keep'], { encoding: 'utf8' });
    expect(content.stdout).toBe('second\n');
    expect(fs.readdirSync(dir)).toEqual(['layer.tar']); // no staging left beside it
  });

  it("ci: a job's keep-layer, relative to the manifest; two jobs naming one target are refused with the line", () => {
    const manifest = path.join(dir, 'ci.yml');
    fs.writeFileSync(
      manifest,
      'jobs:\n  build:\n    command: echo b > /root/rf-build\n    keep-layer: layers/build.tar\n  test:\n    command: "true"\n',
    );
    fs.mkdirSync(path.join(dir, 'layers'));
    const json = path.join(dir, 'report.json');
    const out = ringfence('ci', manifest, '--json', json);
    expect(out.status, out.stderr).toBe(0);
    const listed = spawnSync('tar', ['-tf', path.join(dir, 'layers/build.tar')], { encoding: 'utf8' });
    expect(listed.stdout).toContain('root/rf-build');
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    expect(report.jobs.find((j) => j.id === 'build')?.result?.filesystem?.kept?.format).toBe('tar');

    fs.writeFileSync(
      manifest,
      'jobs:\n  a:\n    command: "true"\n    keep-layer: l.tar\n  b:\n    command: "true"\n    keep-layer: ./l.tar\n',
    );
    const twice = ringfence('ci', manifest);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(
      /ci\.yml:7, job "b", field "keep-layer": ".*\/l\.tar" is also job "a"'s: one layer per target/,
    );
  });

  it('refuses a target it cannot use before the job runs (exit 125, nothing made)', () => {
    const marker = path.join(dir, 'ran');
    const full = path.join(dir, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'theirs'), '');
    const cases: [string[], RegExp][] = [
      [['--keep-layer', full], /--keep-layer: ".*full" exists and is not an empty directory/],
      [['--keep-layer', path.join(dir, 'no', 'x.tar')], /--keep-layer: ".*\/no" is not a directory/],
      [['--fs', 'host', '--keep-layer', path.join(dir, 'l')], /--keep-layer: needs --fs overlay/],
      [['--read-only', '--keep-layer', path.join(dir, 'l')], /--keep-layer: needs --fs overlay/],
      [['--keep-layer', full + '/theirs/x'], /is not a directory/],
    ];
    for (const [flags, message] of cases) {
      const out = ringfence('run', ...flags, '--', 'sh', '-c', `touch ${marker}`);
      expect(out.status, flags.join(' ')).toBe(125);
      expect(out.stderr).toMatch(message);
    }
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['full']);
    badInputs('--keep-layer targets', cases.length);
  });
});
