// Attack (issue 10, runc's CVE-2019-5736 in our shape): a job renames its own script over the launcher
// on the host, and the next job's start would execute it as root outside every namespace and cgroup.
// Run exactly as the issue reproduced it, through `ringfence run` and through `ringfence ci`: the
// rename fails inside (native/build is read-only to jobs), the next job runs the genuine launcher, and
// the attacker's file is never created. Then the launcher changed on disk from outside, after a
// harness started: that harness goes on running its sealed copy, and the next start refuses a file
// that is not the one npm install built.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { Harness } from '../../harness/parallel/harness.js';
import { runJob } from '../../harness/run-job.js';
import { Sandbox } from '../../harness/launch/spares.js';
import { sealAllNative } from '../../native/sealed.js';
import { CLI, ROOT, describeSandbox, ringfence } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { LAUNCHER, snapshot } from './native-files.js';

const PWNED = '/var/tmp/rf-pwned';
// the first job, word for word
const REPLACE = `L=native/build/ringfence-launcher;
  printf "#!/bin/sh\\necho PWNED-AS-\\$(id -u)-ON-HOST > /var/tmp/rf-pwned\\n" > $L.new &&
  chmod +x $L.new && mv $L.new $L`;

describeSandbox('adversarial: replacing the launcher', () => {
  it('through `ringfence run`: the rename fails with EROFS, the next run is the genuine launcher', async () => {
    fs.rmSync(PWNED, { force: true });
    const before = snapshot();
    const first = ringfence('run', '-q', '--', 'sh', '-c', REPLACE);
    expect(first.status).not.toBe(0);
    expect(first.stderr).toMatch(/ringfence-launcher\.new: Read-only file system/);
    const next = ringfence('run', '-q', '--', 'true');
    expect(next.status, next.stderr).toBe(0);
    expect(fs.existsSync(PWNED)).toBe(false);
    expect(snapshot()).toEqual(before);
    await expectNoLeftovers();
    attack('replace the launcher (ringfence run)', 'contained');
  });

  it('through `ringfence ci`: the attacking job fails inside, the next job passes', async () => {
    fs.rmSync(PWNED, { force: true });
    const before = snapshot();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-adv-ci-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const manifest = path.join(dir, 'attack.yml');
    fs.writeFileSync(
      manifest,
      JSON.stringify({
        defaults: { cwd: ROOT },
        jobs: [
          { name: 'replace-launcher', command: ['sh', '-c', REPLACE] },
          { name: 'next', command: 'true' },
        ],
      }),
    );
    const json = path.join(dir, 'r.json');
    const out = ringfence('ci', manifest, '--concurrency', '1', '--json', json);
    expect(out.status).toBe(1);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as {
      jobs: { id: string; outcome: string; attempts: { stderr: string }[] }[];
    };
    const byName = Object.fromEntries(report.jobs.map((job) => [job.id, job]));
    expect(byName['replace-launcher']?.outcome).toBe('failed');
    expect(byName['replace-launcher']?.attempts[0]?.stderr).toMatch(/Read-only file system/);
    expect(byName.next?.outcome).toBe('passed');
    expect(fs.existsSync(PWNED)).toBe(false);
    expect(snapshot()).toEqual(before);
    await expectNoLeftovers();
    attack('replace the launcher (ringfence ci)', 'contained');
  });

  it('a launcher changed on disk after the harness started changes nothing it runs; the next start refuses it', async () => {
    const marker = path.join('/var/tmp', `rf-evil-launcher-${process.pid}`);
    fs.rmSync(marker, { force: true });
    sealAllNative(); // this process's harness has started: it holds its sealed copies
    const harness = new Harness({ concurrency: 1, inline: 0 }); // its lane on a worker thread
    const original = fs.readFileSync(LAUNCHER);
    const evil = `${LAUNCHER}.evil-${process.pid}`;
    // replaced from outside any job (a user, another tool), while the harness runs
    fs.writeFileSync(evil, `#!/bin/sh\necho replaced > ${marker}\nexit 0\n`, { mode: 0o755 });
    fs.renameSync(evil, LAUNCHER);
    try {
      const viaPool = await harness.run({ command: ['sh', '-c', 'echo genuine'], workdir: '/' });
      expect(viaPool.status, viaPool.reason).toBe('passed');
      expect(viaPool.stdout).toBe('genuine\n');
      const inThread = await runJob({ command: ['sh', '-c', 'echo genuine'], workdir: '/' });
      expect(inThread.status, inThread.reason).toBe('passed');
      expect(inThread.stdout).toBe('genuine\n');
      // a new process checks the file against what npm install recorded, and refuses it
      const fresh = spawnSync(process.execPath, [CLI, 'run', '--', 'true'], { cwd: ROOT, encoding: 'utf8' });
      expect(fresh.status).toBe(125);
      expect(fresh.stderr).toMatch(
        /ringfence-launcher is not the file npm install built .*npm rebuild ringfence/,
      );
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      await harness.close();
      const restore = `${LAUNCHER}.restore-${process.pid}`;
      fs.writeFileSync(restore, original, { mode: 0o755 });
      fs.renameSync(restore, LAUNCHER);
      fs.rmSync(marker, { force: true });
    }
    expect(ringfence('run', '-q', '--', 'true').status).toBe(0);
    await Sandbox.settle();
    await expectNoLeftovers();
    attack('launcher replaced on disk after the harness started', 'contained');
  });
});
