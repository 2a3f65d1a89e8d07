// Attack: a protected package (one the harness loads from disk) is bound read-only inside every job,
// but a bind moves with its parent directory. A job that renames the parent away and makes the path
// again writes a new package where the host's next start loads it, as the harness's user. The
// parents are pinned (bound onto themselves: a mount point cannot be renamed) wherever the job
// writes host files: the workdir, and here the other two places — a writable volume under the
// default overlay, and the host's root with `--fs host`.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { protectPackage } from '../../harness/job/protect.js';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';

// outside /tmp: the job's own /tmp hides the host's, and this must be the host's
let base: string;
let pkg: string;
/** Where the volume shows `base` inside the job: a directory of the host's, so it exists there. */
let view: string;
const GENUINE = 'module.exports = "genuine";\n';

beforeAll(() => {
  base = fs.mkdtempSync('/var/tmp/rf-protect-rename-');
  view = `${base}-view`;
  fs.mkdirSync(view);
  pkg = path.join(base, 'node_modules', 'fakepkg');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"fakepkg","version":"1.0.0"}\n');
  fs.writeFileSync(path.join(pkg, 'index.js'), GENUINE);
  // as the Vitest pool declares Vitest: this process runs from it from now on
  protectPackage(pkg);
});

afterAll(() => {
  // `-moved` only if an attack got through
  for (const dir of [base, view, `${base}-moved`]) fs.rmSync(dir, { recursive: true, force: true });
});

/** Moves `root`/node_modules away and plants a package of the same name in a new one. */
const replace = (root: string): string =>
  `mv ${root}/node_modules ${root}/moved && mkdir -p ${root}/node_modules/fakepkg && ` +
  `echo 'module.exports = "evil";' > ${root}/node_modules/fakepkg/index.js`;

function expectUntouched(): void {
  expect(fs.readFileSync(path.join(pkg, 'index.js'), 'utf8')).toBe(GENUINE);
  expect(fs.existsSync(path.join(base, 'moved'))).toBe(false);
}

describeSandbox('adversarial: renaming a protected package away', () => {
  it('through a writable volume: the parent is pinned, the rename fails with EBUSY', async () => {
    const result = await runJob(
      { command: ['sh', '-c', replace(view)], volumes: [`${base}:${view}`], memory: '256m' },
      { warn: false },
    );
    expect(result.status, result.stderr).toBe('failed');
    expect(result.stderr).toMatch(/mv: .*busy/i);
    expectUntouched();
    await expectNoLeftovers();
    attack('rename a protected package away through a writable volume', 'contained');
  });

  it('with --fs host: every parent up to the root is pinned, the rename fails with EBUSY', async () => {
    const result = await runJob(
      { command: ['sh', '-c', replace(base)], fs: 'host', memory: '256m' },
      { warn: false },
    );
    expect(result.status, result.stderr).toBe('failed');
    expect(result.stderr).toMatch(/mv: .*busy/i);
    // one level up the same: the directory that holds node_modules is pinned too
    const up = await runJob(
      { command: ['mv', base, `${base}-moved`], fs: 'host', memory: '256m' },
      { warn: false },
    );
    expect(up.status, up.stderr).toBe('failed');
    expect(up.stderr).toMatch(/mv: .*busy/i);
    expect(fs.existsSync(`${base}-moved`)).toBe(false);
    expectUntouched();
    await expectNoLeftovers();
    attack('rename a protected package away with --fs host', 'contained');
  });

  it('the job still writes beside them: a new file in the volume reaches the host', async () => {
    const result = await runJob(
      { command: ['sh', '-c', `echo made > ${view}/new.txt`], volumes: [`${base}:${view}`], memory: '256m' },
      { warn: false },
    );
    expect(result.status, result.stderr).toBe('passed');
    expect(fs.readFileSync(path.join(base, 'new.txt'), 'utf8')).toBe('made\n');
    await expectNoLeftovers();
  });
});
