// --fs overlay with --userns as root: root inside is uid 100000 (harness/job/scratch.ts,
// USERNS_ROOT_ID), and the job's upper layers live on a tmpfs of the job's own whose root that id
// owns — as a job without a user namespace has one — not on the disk beside the scratch, where
// overlayfs probes the disk at each of the one-per-directory overlays a user namespace needs.
// Checked on real jobs: the launcher counts that tmpfs's inodes (`layers untouched` in the trace), a
// write, a whiteout and an opaque directory are reported and never reach the host, and the tmpfs is
// charged to the job's memory (100 MiB written under --memory 64m is an OOM kill). Where this
// kernel's tmpfs keeps no user.* attributes (before 6.6), which overlayfs needs in a user namespace,
// the layers stay on disk instead: walked, not charged to memory — and the test expects that.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { USERNS_ROOT_ID } from '../../harness/job/scratch.js';
import { closeFd } from '../../native/libc/fd.js';
import { detachedTmpfs } from '../../native/libc/mount.js';
import { keepsUserXattrs } from '../../native/spawn-lib/usertmpfs.js';
import type { JobResult } from '../../harness/job/result.js';
import { runJob } from '../../harness/run-job.js';
import { NO_LEFTOVERS, describeSandbox, leftovers } from '../support/sandbox.js';

const phases = (r: JobResult): string[] => (r.trace ?? []).map((t) => t.phase);

/** Whether a tmpfs here keeps user.* attributes: then a --userns job's layers live on one. */
function tmpfsLayersHere(): boolean {
  const fd = detachedTmpfs({ mode: '0700' });
  try {
    return keepsUserXattrs(fd);
  } finally {
    closeFd(fd);
  }
}

describeSandbox('--fs overlay with --userns (as root)', () => {
  // outside the host's /tmp, which a job does not see; owned by root inside, as a project would be
  let host = '';
  let workdir = '';
  beforeAll(() => {
    host = fs.mkdtempSync('/var/tmp/rf-overlay-userns-');
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-overlay-userns-work-'));
    for (const dir of ['old/sub', 'keep']) fs.mkdirSync(path.join(host, dir), { recursive: true });
    fs.writeFileSync(path.join(host, 'old', 'sub', 'f'), 'host\n');
    fs.writeFileSync(path.join(host, 'keep', 'gone'), 'host\n');
    for (const p of ['', 'old', 'old/sub', 'old/sub/f', 'keep', 'keep/gone'])
      fs.chownSync(path.join(host, p), USERNS_ROOT_ID, USERNS_ROOT_ID);
    fs.chmodSync(workdir, 0o777);
  });
  afterAll(async () => {
    for (const dir of [host, workdir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it("keeps a job's layers on a tmpfs that root inside owns, and reports what the job wrote", async () => {
    const quiet: JobResult[] = [];
    for (let i = 0; i < 3; i++)
      quiet.push(await runJob({ command: ['true'], userns: true, workdir }, { trace: true }));
    const tmpfs = tmpfsLayersHere();
    for (const r of quiet) {
      expect(r.status, `${r.reason} ${r.stderr}`).toBe('passed');
      // the tmpfs's inode count: no walk
      expect(phases(r).includes('layers untouched'), `a tmpfs keeps user.* here: ${tmpfs}`).toBe(tmpfs);
    }
    const h = host;
    const wrote = await runJob(
      {
        command: [
          'sh',
          '-c',
          `echo p > /etc/rf-userns-probe && rm -rf ${h}/old && mkdir ${h}/old && echo new > ${h}/old/n && ` +
            `rm ${h}/keep/gone && ls ${h}/old && cat /etc/rf-userns-probe`,
        ],
        userns: true,
        workdir,
      },
      { trace: true },
    );
    expect(wrote.status, `${wrote.reason} ${wrote.stderr}`).toBe('passed');
    expect(wrote.stdout).toBe('n\np\n'); // the old directory's content is gone inside: opaque
    expect(wrote.filesystem?.changes).toEqual([
      { path: '/etc/rf-userns-probe', kind: 'added', bytes: 2, type: 'file' },
      { path: `${h}/keep/gone`, kind: 'deleted', bytes: 0, type: 'file' },
      { path: `${h}/old`, kind: 'changed', bytes: 0, type: 'dir', replaced: true },
      { path: `${h}/old/n`, kind: 'added', bytes: 4, type: 'file' },
    ]);
    expect(fs.existsSync('/etc/rf-userns-probe')).toBe(false);
    expect(fs.readFileSync(path.join(h, 'old', 'sub', 'f'), 'utf8')).toBe('host\n');
    expect(fs.readFileSync(path.join(h, 'keep', 'gone'), 'utf8')).toBe('host\n');
  });

  it("charges the layers to the job's memory: 100 MiB written outside the workdir under --memory 64m is an OOM kill", async () => {
    const result = await runJob({
      command: ['dd', 'if=/dev/zero', `of=${host}/rf-big`, 'bs=1M', 'count=100'],
      memory: '64m',
      userns: true,
      workdir,
    });
    if (tmpfsLayersHere()) {
      expect(result.status, result.reason).toBe('oom');
      expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    } else {
      expect(result.status, result.reason).toBe('passed'); // on disk: not the job's memory
    }
    expect(fs.existsSync(path.join(host, 'rf-big'))).toBe(false);
  });
});
