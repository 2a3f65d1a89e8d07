// Attack (issue 29): a test file under the Vitest pool changes what the host runs or loads next in
// the project itself — the Vitest config, package.json's test script, node_modules/.bin/vitest, a
// package the config imports, .husky/pre-commit, .npmrc (fixtures/project-attacks/attacks, one file
// each). The project is seen through an overlay: each write succeeds inside the file's sandbox, is
// reported for that file, and never reaches the host; the host's own next run (`npm test` with the
// forks pool, then a `git commit` that runs the hooks) executes nothing planted — each plant would
// leave a pwned-<kind> file in the project.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunReport } from '../../reporters/types.js';
import { makeProject, runVitestIn } from '../support/project.js';
import { FIXTURES, describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { cleanEnv } from '../support/vitest.js';

const ATTACKS: { file: string; target: string; marker: string; what: string }[] = [
  { file: 'config.test.mjs', target: 'vitest.config.mjs', marker: 'pwned-config', what: 'the Vitest config' },
  {
    file: 'package-json.test.mjs',
    target: 'package.json',
    marker: 'pwned-package-json',
    what: "package.json's test script",
  },
  {
    file: 'bin.test.mjs',
    target: 'node_modules/.bin/vitest',
    marker: 'pwned-bin',
    what: 'node_modules/.bin/vitest, replaced by a script',
  },
  {
    file: 'config-import.test.mjs',
    target: 'node_modules/cfg-helper/index.js',
    marker: 'pwned-helper',
    what: "a package's JS that the config imports",
  },
  { file: 'husky.test.mjs', target: '.husky/pre-commit', marker: 'pwned-husky', what: '.husky/pre-commit' },
  { file: 'npmrc.test.mjs', target: '.npmrc', marker: 'pwned-npmrc', what: '.npmrc (node-options)' },
];

/** What the host has at `p`: a file's bytes, or a link's target (never followed). */
function hostCopy(p: string): string {
  const st = fs.lstatSync(p);
  return st.isSymbolicLink()
    ? `link -> ${fs.readlinkSync(p)}`
    : `${st.mode.toString(8)} ${fs.readFileSync(p, 'utf8')}`;
}

describeSandbox('adversarial: a Vitest test file against the project it runs in', () => {
  let project = '';
  let before: Record<string, string> = {};
  let run: { status: number | null; output: string } = { status: null, output: '' };
  let report: RunReport | null = null;
  let next = { npm: '', git: '' };

  beforeAll(() => {
    project = makeProject('adv-project', path.join(FIXTURES, 'project-attacks'), {
      'node_modules/cfg-helper/package.json': JSON.stringify({
        name: 'cfg-helper',
        type: 'module',
        main: 'index.js',
      }),
      'node_modules/cfg-helper/index.js': "export const helper = 'results';\n",
    });
    const git = (...args: string[]): string => {
      const out = spawnSync('git', ['-c', 'user.name=rf', '-c', 'user.email=rf@invalid', ...args], {
        cwd: project,
        encoding: 'utf8',
        env: cleanEnv({ GIT_CONFIG_NOSYSTEM: '1', HOME: project }),
      });
      return `${out.status} ${out.stdout}${out.stderr}`;
    };
    git('init', '-q');
    git('config', 'core.hooksPath', '.husky');
    before = Object.fromEntries(ATTACKS.map((a) => [a.target, hostCopy(path.join(project, a.target))]));

    run = runVitestIn(project, []);
    report = JSON.parse(fs.readFileSync(path.join(project, 'ringfence-results.json'), 'utf8')) as RunReport;

    // the host's own next run, as its user would start it: npm's script through node_modules/.bin,
    // the config and what it imports, .npmrc; then a commit, which runs the pre-commit hook
    const npm = spawnSync('npm', ['test', '--', '--pool', 'forks', 'ok.test'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 120_000,
      env: cleanEnv({ npm_config_update_notifier: 'false', HOME: project }),
    });
    next = {
      npm: `${npm.status} ${npm.stdout}${npm.stderr}`,
      git: git('commit', '-q', '--allow-empty', '-m', 'probe'),
    };
  }, 300_000);

  afterAll(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('every attacking file passes inside its sandbox, and the host runs its next run as before', () => {
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/Test Files\s+7 passed \(7\)/);
    // the next run really ran: its one test passed, and the commit ran the (unchanged) hook
    expect(next.npm).toMatch(/^0 /);
    expect(next.npm).toMatch(/Tests\s+1 passed \(1\)/);
    expect(next.git).toMatch(/^0 /);
  });

  for (const a of ATTACKS) {
    it(`${a.what}: unchanged on the host, reported, and nothing planted runs next`, async () => {
      expect(hostCopy(path.join(project, a.target))).toBe(before[a.target]);
      const job = report?.jobs.find((j) => j.id === `attacks/${a.file}`);
      expect(job?.outcome).toBe('passed');
      expect(job?.result?.filesystem?.changes?.map((c) => c.path)).toContain(path.join(project, a.target));
      expect(run.output).toContain(`ringfence: attacks/${a.file} wrote 1 path in the project: ${a.target}`);
      expect(fs.existsSync(path.join(project, a.marker)), `${next.npm}\n${next.git}`).toBe(false);
      await expectNoLeftovers();
      attack(`a Vitest file changes ${a.what} in its project`, 'contained');
    });
  }
});
