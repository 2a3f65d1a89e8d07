// --fs overlay for a user who is not root: the harness run as nobody (setpriv, uid 65534), its jobs'
// upper layers on the disk beside the scratch (RINGFENCE_LAYERS=disk). Checked on real jobs: what a
// job writes and removes outside its workdir is reported and never reaches the host, and a removed
// directory of the host's leaves no scratch behind.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../harness/job/result.js';
import { ROOT, describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers } from '../support/tally.js';
import { NOBODY, nodeAsNobody, rootlessUnavailable } from '../support/rootless.js';

const JOBS_CHILD = path.join(ROOT, 'test', 'support', 'jobs-child.mjs');

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

    it('with the layers on disk (RINGFENCE_LAYERS=disk) the jobs are walked, and a removed directory leaves no scratch behind', async () => {
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
