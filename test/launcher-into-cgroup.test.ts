// The launcher's --cgroup-fd (native/launcher/intocg.c): on cgroup v2 it clones the job's init straight
// into the cgroup of that directory (CLONE_INTO_CGROUP), so nothing is moved in. Run here on the
// machine's cgroup2 mount (the development machines have a controller-less one beside v1; the v2
// guests run the harness's whole path), beneath this process's own v2 cgroup, with the launcher
// started directly as the harness starts it: the job is born in the cgroup, holds no fd of it, and a
// bad fd is an error before anything runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installedLauncherPath } from '../harness/launch/binary.js';
import { parseLauncherReports } from '../harness/launch/status.js';
import { sandboxUnavailable } from './support/sandbox.js';

const LAUNCHER = installedLauncherPath();

/** This process's cgroup directory on a writable cgroup2 mount, or why there is none. */
function ownV2Cgroup(): { dir: string; relative: string } | string {
  const mount = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[fields.indexOf('-') + 1] === 'cgroup2');
  if (!mount) return 'no cgroup2 mount';
  const own = /^0::(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  if (own === undefined) return 'no 0:: line in /proc/self/cgroup';
  const dir = path.join(mount[4]!, own);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return `${dir} is not writable`;
  }
  return { dir, relative: own };
}

const where = ownV2Cgroup();
const why = sandboxUnavailable() ?? (typeof where === 'string' ? where : null);
const required = process.env.RINGFENCE_REQUIRE_SANDBOX === '1';

describe.skipIf(why !== null && !required)(
  'launcher --cgroup-fd (cgroup v2: init cloned into the cgroup)',
  () => {
    let cgroup: string;
    let tmp: string;
    beforeEach(() => {
      // RINGFENCE_REQUIRE_SANDBOX=1: a host without it fails here rather than skipping
      expect(why, 'the sandbox and a writable cgroup2 mount').toBeNull();
      if (typeof where === 'string') return;
      cgroup = fs.mkdtempSync(path.join(where.dir, 'rf-intocg-'));
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-intocg-tmp-'));
    });
    afterEach(() => {
      fs.rmSync(tmp, { recursive: true, force: true });
      // empty once the job has ended: removable
      fs.rmdirSync(cgroup);
    });

    function launch(fd: number, command: string): { status: number | null; stdout: string; stderr: string } {
      const out = spawnSync(
        LAUNCHER,
        [
          '--status-fd=2',
          '--cgroup-fd=5',
          '--net=none',
          '--workdir=/',
          `--tmp-dir=${tmp}`,
          '--',
          'sh',
          '-c',
          command,
        ],
        { stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', fd], encoding: 'utf8', timeout: 30_000 },
      );
      return { status: out.status, stdout: out.stdout, stderr: out.stderr };
    }

    it('the job is born in the cgroup and holds no fd of it', () => {
      const fd = fs.openSync(cgroup, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      let out;
      try {
        out = launch(
          fd,
          'grep "^0::" /proc/self/cgroup; for f in /proc/self/fd/*; do readlink "$f" || true; done',
        );
      } finally {
        fs.closeSync(fd);
      }
      expect(out.status, out.stderr).toBe(0);
      const [line, ...links] = out.stdout.trim().split('\n');
      const relative = path.posix.join((where as { relative: string }).relative, path.basename(cgroup));
      expect(line).toBe(`0::${relative}`);
      // its caps live in that directory: an inherited fd of it would let a root job write them
      expect(
        links.filter((link) => link.startsWith('/sys/fs/cgroup') || link.includes(path.basename(cgroup))),
      ).toEqual([]);
      expect(fs.readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8')).toBe('');
    });

    it('an fd that is no cgroup is an error at the clone, and nothing of the job runs', () => {
      const marker = path.join(tmp, 'ran');
      const fd = fs.openSync('/dev/null', 'r');
      let out;
      try {
        out = launch(fd, `touch ${marker}`);
      } finally {
        fs.closeSync(fd);
      }
      expect(out.status).toBe(125);
      expect(parseLauncherReports(out.stderr).find((r) => r.kind === 'error')).toMatchObject({
        step: 'clone',
      });
      expect(fs.existsSync(marker)).toBe(false);
    });
  },
);
