// Attack: a job plants a "prebuilt launcher" for the next install. `npm install` takes the pair in
// native/prebuilt/linux-<arch>/ when it passes its checks (native/build.mjs), and the harness then
// runs it as root for every job. In an installed package that folder is protected whole; in a
// checkout — where jobs work on the files, and git ignores native/prebuilt — a job can write it. So a
// checkout never takes a prebuilt pair: it compiles its own sources. The control shows the same
// planted pair would have been taken by an installed package's build (whose folder no job can write).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { ROOT, describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { compile, removeDir, tempDir } from './helpers.js';

const ARCH = process.arch;

/** A copy of what native/build.mjs needs, as a checkout (or, under node_modules, a package) has it. */
function nativeCopy(root: string): string {
  const native = path.join(root, 'native');
  fs.mkdirSync(native, { recursive: true });
  for (const file of ['build.mjs', 'compile.mjs'])
    fs.copyFileSync(path.join(ROOT, 'native', file), path.join(native, file));
  for (const dir of ['launcher', 'spawn'])
    fs.cpSync(path.join(ROOT, 'native', dir), path.join(native, dir), { recursive: true });
  return native;
}

function fingerprint(): string {
  const out = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import('./native/compile.mjs').then((m) => console.log(m.sourceFingerprint()))",
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return out.stdout.trim();
}

describeSandbox('adversarial: a prebuilt launcher planted in a checkout for the next npm install', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('plant');
  });
  afterAll(() => removeDir(dir));

  it('a checkout compiles its own sources; the planted pair is never installed', async () => {
    const checkout = path.join(dir, 'checkout');
    nativeCopy(checkout);
    const evil = compile(dir, 'fake-launcher');
    const marker = path.join('/var/tmp', `rf-planted-launcher-${process.pid}`);
    fs.rmSync(marker, { force: true });
    // the job's material: its launcher, a genuine spawn library, the stamp of these very sources
    fs.copyFileSync(evil, path.join(checkout, 'evil'));
    fs.copyFileSync(
      path.join(ROOT, 'native', 'build', 'libringfence-spawn.so'),
      path.join(checkout, 'lib.so'),
    );
    const planted = `native/prebuilt/linux-${ARCH}`;
    const job = await runJob({
      command: [
        'sh',
        '-c',
        `mkdir -p ${planted} && cp evil ${planted}/ringfence-launcher && cp lib.so ${planted}/libringfence-spawn.so && echo ${fingerprint()} > ${planted}/sources.sha256`,
      ],
      workdir: checkout,
    });
    expect(job.status, job.reason + job.stderr).toBe('passed');
    expect(fs.existsSync(path.join(checkout, planted, 'ringfence-launcher'))).toBe(true); // it got there

    // the developer's next `npm ci`, as root, on the host
    const install = spawnSync(process.execPath, [path.join(checkout, 'native', 'build.mjs')], {
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/from source with \S+ \(a checkout builds from its sources\)/);
    const built = path.join(checkout, 'native', 'build', 'ringfence-launcher');
    expect(fs.readFileSync(built).equals(fs.readFileSync(evil))).toBe(false);
    expect(spawnSync(built, ['--self-test'], { encoding: 'utf8' }).stdout).toMatch(/self-test ok/);
    spawnSync(built, ['--x', marker]); // what the harness would run: the genuine launcher refuses it
    expect(fs.existsSync(marker)).toBe(false);

    // control: the same pair in an installed package's folder would pass every check and be taken —
    // which is why that folder is protected from jobs (harness/job/protect.ts) and a checkout's is not used
    const installed = path.join(dir, 'node_modules', 'ringfence');
    nativeCopy(installed);
    fs.cpSync(path.join(checkout, planted), path.join(installed, planted), { recursive: true });
    const taken = spawnSync(process.execPath, [path.join(installed, 'native', 'build.mjs')], {
      encoding: 'utf8',
    });
    expect(taken.stdout).toMatch(/using the prebuilt launcher and spawn library/);
    expect(
      fs
        .readFileSync(path.join(installed, 'native', 'build', 'ringfence-launcher'))
        .equals(fs.readFileSync(evil)),
    ).toBe(true);

    attack('plant a prebuilt launcher in a checkout for the next npm install', 'contained');
    await expectNoLeftovers();
  }, 60_000);
});
