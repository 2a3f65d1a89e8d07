// --fs overlay for a user who is not root: the harness run as nobody (setpriv, uid 65534) keeps its
// jobs' upper layers on a tmpfs made in a user namespace of its own (native/spawn/usertmpfs.c), as
// root's are on one it makes itself, rather than on the disk beside the scratch, where overlayfs
// probes the disk at each of the one-per-directory overlays a rootless root needs. Checked on real
// jobs: the launcher counts that tmpfs's inodes (its trace says `layers untouched` for a job that
// wrote nothing), a job whose init was made ahead gets it too (the launcher sends the fd, which an
// init in its own user namespace could not open), and what a job writes, removes and replaces
// outside its workdir — a whiteout, a directory made opaque, which in a user namespace needs the
// tmpfs's user.* attributes — is reported and never reaches the host.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../harness/job/result.js';
import { ROOT, describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers } from '../support/tally.js';
import { NOBODY, nodeAsNobody, rootlessUnavailable } from '../support/rootless.js';

const JOBS_CHILD = path.join(ROOT, 'test', 'support', 'jobs-child.mjs');

/** Whether nobody gets a layers tmpfs here (native/spawn/usertmpfs.c), and the kernel's word if not. */
async function userTmpfsHere(cwd: string): Promise<{ ok: boolean; why: string }> {
  const probe = `import('${path.join(ROOT, 'dist', 'native', 'spawn-lib', 'usertmpfs.js')}').then((m) => m.detachedTmpfsInOwnUserns())`;
  const out = await nodeAsNobody(cwd, ['-e', probe]);
  return { ok: out.status === 0, why: out.status === 0 ? 'a tmpfs in a user namespace' : out.stderr.trim() };
}

type Ran = Pick<JobResult, 'status' | 'reason' | 'stdout' | 'stderr' | 'filesystem'> & { phases: string[] };

describeSandbox('--fs overlay, rootless', () => {
  const why = rootlessUnavailable();
  const suite = why && process.env.RINGFENCE_REQUIRE_SANDBOX !== '1' ? describe.skip : describe;
  suite(`as uid ${NOBODY}${why ? ` (cannot here: ${why})` : ''}`, () => {
    // outside the host's /tmp, which a job does not see; owned by nobody, as a user's project is
    let host = '';
    beforeAll(() => {
      host = fs.mkdtempSync('/var/tmp/rf-overlay-rootless-');
      for (const dir of ['old/sub', 'keep', 'work']) fs.mkdirSync(path.join(host, dir), { recursive: true });
      fs.writeFileSync(path.join(host, 'old', 'sub', 'f'), 'host\n');
      fs.writeFileSync(path.join(host, 'keep', 'gone'), 'host\n');
      for (const p of ['', 'old', 'old/sub', 'old/sub/f', 'keep', 'keep/gone', 'work'])
        fs.chownSync(path.join(host, p), NOBODY, NOBODY);
      fs.chmodSync(host, 0o755);
    });
    afterAll(() => {
      if (host) fs.rmSync(host, { recursive: true, force: true });
    });

    const run = async (commands: string[][], env: Record<string, string> = {}): Promise<Ran[]> => {
      const workdir = path.join(host, 'work');
      const jobs = JSON.stringify(commands.map((command) => ({ command, workdir })));
      const out = await nodeAsNobody(workdir, [JOBS_CHILD, jobs], env);
      expect(out.status, out.stderr).toBe(0);
      return JSON.parse(out.stdout) as Ran[];
    };

    it("keeps a job's layers on a tmpfs of their own, made ahead or not, and reports what the job wrote", async () => {
      if (why) throw new Error(`a rootless job cannot run here: ${why}`);
      const h = host;
      const write = [
        'sh',
        '-c',
        `echo p > /etc/rf-rootless-probe && rm -rf ${h}/old && mkdir ${h}/old && echo new > ${h}/old/n && ` +
          `rm ${h}/keep/gone && ls ${h}/old && cat /etc/rf-rootless-probe`,
      ];
      const ran = await run([['true'], ['true'], ['true'], write]);
      for (const r of ran) expect(r.status, `${r.reason} ${r.stderr}`).toBe('passed');
      // the layers' inode count, which only a tmpfs of the harness's gives: every quiet job is
      // judged untouched without a walk — where this kernel's tmpfs keeps user.* attributes in a
      // user namespace (6.6+); before, the layers stay on disk and every job is walked
      const tmpfs = await userTmpfsHere(host);
      for (const r of ran.slice(0, 3))
        expect(r.phases.includes('layers untouched'), tmpfs.why).toBe(tmpfs.ok);
      // after the first, each job's init was made ahead, and had the tmpfs sent with its config
      for (const r of ran.slice(1)) expect(r.phases).toContain('ahead');
      const last = ran[3]!;
      expect(last.stdout).toBe('n\np\n'); // the old directory's content is gone inside: opaque
      expect(last.filesystem?.changes).toEqual([
        { path: '/etc/rf-rootless-probe', kind: 'added', bytes: 2, type: 'file' },
        { path: `${h}/keep/gone`, kind: 'deleted', bytes: 0, type: 'file' },
        { path: `${h}/old`, kind: 'changed', bytes: 0, type: 'dir', replaced: true },
        { path: `${h}/old/n`, kind: 'added', bytes: 4, type: 'file' },
      ]);
      // … and on the host nothing changed
      expect(fs.existsSync('/etc/rf-rootless-probe')).toBe(false);
      expect(fs.readFileSync(path.join(h, 'old', 'sub', 'f'), 'utf8')).toBe('host\n');
      expect(fs.readFileSync(path.join(h, 'keep', 'gone'), 'utf8')).toBe('host\n');
      expect(fs.existsSync(path.join(h, 'old', 'n'))).toBe(false);
      await expectNoLeftovers();
    }, 60_000);

    it('with the layers on disk (RINGFENCE_LAYERS=disk) the same jobs are walked instead, and a removed directory leaves no scratch behind', async () => {
      if (why) throw new Error(`a rootless job cannot run here: ${why}`);
      // removing a directory of the host's leaves overlayfs's work/work at mode 000 with a whiteout
      // in it, which only root could remove without first making it readable (native/spawn/remove.c)
      const ran = await run(
        [['true'], ['sh', '-c', `echo d > /etc/rf-rootless-disk && rm -rf ${host}/old`], ['true']],
        {
          RINGFENCE_LAYERS: 'disk',
        },
      );
      for (const r of ran) expect(r.status, `${r.reason} ${r.stderr}`).toBe('passed');
      expect(ran[0]!.phases).not.toContain('layers untouched');
      expect(ran[1]!.filesystem?.changes).toEqual([
        { path: '/etc/rf-rootless-disk', kind: 'added', bytes: 2, type: 'file' },
        { path: `${host}/old`, kind: 'deleted', bytes: 0, type: 'dir' },
      ]);
      expect(fs.existsSync('/etc/rf-rootless-disk')).toBe(false);
      expect(fs.readFileSync(path.join(host, 'old', 'sub', 'f'), 'utf8')).toBe('host\n');
      await expectNoLeftovers();
    }, 60_000);
  });
});
