// Attack (issue 29): a `ringfence ci` or `run` job whose workdir is writable (the default) changes
// what the host runs next in it — node_modules/.bin, a git hook directory (.husky, a core.hooksPath
// inside the workdir), the manifest that runs it. Each is bound read-only: the write fails with
// EROFS, and moving its parent away to make it again fails with EBUSY (each attacking job passes only
// then); the host's copy is unchanged; --allow-tooling-write
// gives them back. A job with `outputs:` sees the workdir through the overlay: what it lists is written
// back, a stray write elsewhere is reported and discarded. A plain build still leaves dist/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunReport } from '../../reporters/types.js';
import { describeSandbox, ringfence } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';

/** Passes only when `write` fails with `message` (sh's and mv's wording of EROFS, EBUSY). */
const failsWith = (write: string, message: string): string =>
  `if { ${write}; } 2>/tmp/err; then echo WROTE; exit 1; fi; grep -q '${message}' /tmp/err || { cat /tmp/err; exit 1; }`;
const erofs = (write: string): string => failsWith(write, 'Read-only file system');
/** The parent moved away with the read-only mount in it, and the path made again beside it. */
const ebusy = (parent: string, plant: string): string =>
  failsWith(`mv ${parent} moved && ${plant}`, 'Device or resource busy');

const MANIFEST = `jobs:
  bin:
    command: ${JSON.stringify(erofs("printf '#!/bin/sh\\ntouch pwned-bin\\n' > node_modules/.bin/vitest"))}
  bin-new:
    command: ${JSON.stringify(erofs('echo x > node_modules/.bin/new'))}
  bin-rename:
    command: ${JSON.stringify(ebusy('node_modules', "mkdir -p node_modules/.bin && printf '#!/bin/sh\\ntouch pwned\\n' > node_modules/.bin/vitest"))}
  hooks-rename:
    command: ${JSON.stringify(ebusy('tools', "mkdir -p tools/hooks && printf '#!/bin/sh\\ntouch pwned\\n' > tools/hooks/pre-push"))}
  husky:
    command: ${JSON.stringify(erofs("printf '#!/bin/sh\\ntouch pwned-husky\\n' > .husky/pre-commit"))}
  hooks-path:
    command: ${JSON.stringify(erofs("printf '#!/bin/sh\\ntouch pwned-hooks\\n' > tools/hooks/pre-push"))}
  manifest:
    command: ${JSON.stringify(erofs("printf '  evil: {command: touch pwned-manifest}\\n' >> ci.yml"))}
  build:
    command: mkdir -p dist && echo built > dist/out.js
  outputs:
    command: mkdir -p pkg/lib && echo lib > pkg/lib/a.js && echo stray > src/index.js && ln -s /etc pkg/lib/etc && echo x > node_modules/.bin/vitest
    outputs: [pkg/lib]
`;

describeSandbox('adversarial: a ci or run job against the tooling of its workdir', () => {
  let project = '';
  let before: Record<string, string> = {};
  const files = [
    'node_modules/.bin/vitest',
    '.husky/pre-commit',
    'tools/hooks/pre-push',
    'ci.yml',
    'src/index.js',
  ];
  const read = (rel: string): string => fs.readFileSync(path.join(project, rel), 'utf8');

  beforeAll(() => {
    project = fs.mkdtempSync(path.join('/var/tmp', 'rf-ci-project-'));
    fs.chmodSync(project, 0o755);
    const write = (rel: string, text: string, mode = 0o644): void => {
      fs.mkdirSync(path.dirname(path.join(project, rel)), { recursive: true });
      fs.writeFileSync(path.join(project, rel), text, { mode });
    };
    write('node_modules/.bin/vitest', '#!/bin/sh\nexit 0\n', 0o755);
    write('.husky/pre-commit', '#!/bin/sh\nexit 0\n', 0o755);
    write('tools/hooks/pre-push', '#!/bin/sh\nexit 0\n', 0o755);
    write('src/index.js', 'export {};\n');
    write('ci.yml', MANIFEST);
    spawnSync('git', ['init', '-q'], { cwd: project });
    spawnSync('git', ['config', 'core.hooksPath', 'tools/hooks'], { cwd: project });
    before = Object.fromEntries(files.map((rel) => [rel, read(rel)]));
  });
  afterAll(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('ci: .bin, hook directories and the manifest are read-only; outputs are written back, the rest discarded', async () => {
    const json = path.join(project, 'results.json');
    const out = ringfence('ci', path.join(project, 'ci.yml'), '--json', json);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as RunReport;
    const outcome = Object.fromEntries(report.jobs.map((j) => [j.id, j.outcome]));
    expect(outcome, out.stdout + out.stderr).toEqual({
      bin: 'passed',
      'bin-new': 'passed',
      'bin-rename': 'passed',
      'hooks-rename': 'passed',
      husky: 'passed',
      'hooks-path': 'passed',
      manifest: 'passed',
      build: 'passed',
      outputs: 'passed',
    });
    expect(out.status).toBe(0);
    for (const rel of files) expect(read(rel), rel).toBe(before[rel]);
    expect(fs.existsSync(path.join(project, 'node_modules/.bin/new'))).toBe(false);
    expect(fs.existsSync(path.join(project, 'moved'))).toBe(false);
    // the default mode: the build's dist/ is on the host for the next job
    expect(read('dist/out.js')).toBe('built\n');
    // outputs: pkg/lib came back, src/index.js and the .bin write were reported and discarded, the
    // symlink was refused
    expect(read('pkg/lib/a.js')).toBe('lib\n');
    expect(fs.existsSync(path.join(project, 'pkg/lib/etc'))).toBe(false);
    const fsOf = report.jobs.find((j) => j.id === 'outputs')?.result?.filesystem;
    expect(fsOf?.outputs?.written.map((c) => path.relative(project, c.path))).toEqual(['pkg/lib/a.js']);
    expect(fsOf?.outputs?.refused).toEqual([
      { path: path.join(project, 'pkg/lib/etc'), reason: 'a symlink: never written back' },
    ]);
    expect(fsOf?.changes?.map((c) => path.relative(project, c.path))).toEqual(
      expect.arrayContaining(['node_modules/.bin/vitest', 'pkg/lib/etc', 'src/index.js']),
    );
    await expectNoLeftovers();
    for (const what of [
      'node_modules/.bin',
      'a git hook directory',
      'the manifest',
      'node_modules/.bin after moving node_modules away',
      'a core.hooksPath hook after moving its parent away',
    ])
      attack(`a ci job writes ${what} in its workdir`, 'contained');
  }, 180_000);

  it('run: the same protection by default; --allow-tooling-write gives it back; --output writes back', async () => {
    const bin = path.join(project, 'node_modules/.bin/vitest');
    const refused = ringfence('run', '-w', project, '--', 'sh', '-c', 'echo evil > node_modules/.bin/vitest');
    expect(refused.status, refused.stderr).not.toBe(0);
    expect(refused.stderr).toMatch(/Read-only file system/);
    expect(fs.readFileSync(bin, 'utf8')).toBe(before['node_modules/.bin/vitest']);
    attack('a run job writes node_modules/.bin in its workdir', 'contained');

    const allowed = ringfence(
      'run',
      '-w',
      project,
      '--allow-tooling-write',
      '--',
      'sh',
      '-c',
      'echo ok > node_modules/.bin/tool',
    );
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(fs.readFileSync(path.join(project, 'node_modules/.bin/tool'), 'utf8')).toBe('ok\n');

    const back = ringfence(
      'run',
      '-w',
      project,
      '--output',
      'out',
      '--',
      'sh',
      '-c',
      'mkdir -p out && echo o > out/o.txt && echo p > package.json',
    );
    expect(back.status, back.stderr).toBe(0);
    expect(fs.readFileSync(path.join(project, 'out/o.txt'), 'utf8')).toBe('o\n');
    expect(fs.existsSync(path.join(project, 'package.json'))).toBe(false);
    expect(back.stderr).toContain('ringfence: wrote 1 path in the project: package.json');
    await expectNoLeftovers();
  }, 180_000);
});
