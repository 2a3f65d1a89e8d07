// The pure matching of `outputs` (harness/fs/outputs.ts) and of git's core.hooksPath
// (harness/fs/tooling.ts): which job writes in the workdir may reach the host, and which never do.
import { describe, expect, it } from 'vitest';
import {
  globRegExp,
  isOutput,
  outputPatternProblem,
  outputRules,
  protectedReason,
} from '../../harness/fs/outputs.js';
import { hooksPaths } from '../../harness/fs/tooling.js';

const W = '/p';

describe('output globs', () => {
  it.each([
    ['dist', ['dist', 'dist/a.js', 'dist/x/y'], ['dists', 'src/dist', 'di']],
    ['dist/*.js', ['dist/a.js', 'dist/a.js/inner'], ['dist/x/a.js', 'dist/a.ts', 'dist']],
    [
      '**/__snapshots__/**',
      ['__snapshots__', 'a/__snapshots__/x.snap', 'a/b/__snapshots__'],
      ['a/snapshots/x'],
    ],
    ['**/*.snap', ['x.snap', 'a/b/x.snap'], ['x.snap.js', 'a/x.snapx']],
    ['out/?.txt', ['out/a.txt'], ['out/ab.txt', 'out/.txt']],
    ['./coverage/', ['coverage', 'coverage/index.html'], ['src/coverage']],
    ['a.b+c', ['a.b+c'], ['aXb+c', 'a.bbc']],
  ])('%s', (pattern, yes, no) => {
    const re = globRegExp(pattern);
    for (const p of yes) expect(re.test(p), p).toBe(true);
    for (const p of no) expect(re.test(p), p).toBe(false);
  });

  it.each([
    ['', 'is empty'],
    ['/abs', 'must be relative to the workdir'],
    ['../up', 'must stay inside the workdir (no .., no //)'],
    ['a/../../b', 'must stay inside the workdir (no .., no //)'],
    ['a//b', 'must stay inside the workdir (no .., no //)'],
  ])('refuses %j', (pattern, problem) => {
    expect(outputPatternProblem(pattern)).toBe(problem);
  });

  it('accepts patterns that stay inside', () => {
    for (const p of ['dist', 'dist/', '**/*.snap', './out', 'a/b/c.txt'])
      expect(outputPatternProblem(p)).toBeNull();
  });
});

describe('what is written back', () => {
  it('matches the user patterns and the exact derived paths, inside the workdir only', () => {
    const rules = outputRules(W, ['dist'], ['/p/t/__snapshots__/a.test.ts.snap', '/elsewhere/x.snap']);
    expect(isOutput(rules, '/p/dist/a.js')).toBe(true);
    expect(isOutput(rules, '/p/src/a.ts')).toBe(false);
    expect(isOutput(rules, '/p/t/__snapshots__/a.test.ts.snap')).toBe(true);
    expect(isOutput(rules, '/p/t/__snapshots__/b.test.ts.snap')).toBe(false);
    expect(isOutput(rules, '/elsewhere/x.snap')).toBe(true);
    expect(isOutput(rules, '/pdist/a.js')).toBe(false);
    expect(isOutput(rules, '/p')).toBe(false);
  });

  it('never writes back what the host runs or loads next, though a glob matches it', () => {
    const rules = outputRules(W, ['**'], [], ['/p/src/plugin.ts'], ['tools/hooks']);
    for (const p of [
      'node_modules/.bin/vitest',
      'packages/a/node_modules/x/index.js',
      '.git/hooks/pre-commit',
      '.husky/pre-commit',
      '.githooks/pre-push',
      'tools/hooks/pre-commit',
      'package.json',
      'packages/a/package.json',
      'package-lock.json',
      'pnpm-lock.yaml',
      '.npmrc',
      'sub/.npmrc',
      '.yarnrc.yml',
      '.yarn/releases/yarn.cjs',
      'vitest.config.mjs',
      'packages/a/vite.config.ts',
      'vitest.workspace.ts',
      '.envrc',
      '.vscode/tasks.json',
      'src/plugin.ts',
    ])
      expect(protectedReason(rules, `/p/${p}`), p).not.toBeNull();
    for (const p of ['dist/a.js', 'src/x.ts', 'package.json.bak', 'my.npmrc', 'husky/x'])
      expect(protectedReason(rules, `/p/${p}`), p).toBeNull();
  });

  it('a protected path is written back only where the user named it, or a path inside it', () => {
    const rules = outputRules(
      W,
      ['package.json', 'node_modules/.cache', '**/*.json', 'src/plugin.ts'],
      [],
      ['/p/src/plugin.ts'],
    );
    expect(protectedReason(rules, '/p/package.json')).toBeNull();
    expect(protectedReason(rules, '/p/node_modules/.cache/x')).toBeNull();
    expect(protectedReason(rules, '/p/node_modules/.bin/x')).toMatch(/^node_modules is protected/);
    // a glob unlocks nothing: packages/a/package.json was not named
    expect(protectedReason(rules, '/p/packages/a/package.json')).toMatch(
      /^packages\/a\/package\.json is protected/,
    );
    expect(protectedReason(rules, '/p/src/plugin.ts')).toBeNull();
    expect(protectedReason(outputRules(W, ['src'], [], ['/p/src/plugin.ts']), '/p/src/plugin.ts')).toMatch(
      /src\/plugin\.ts is guarded/,
    );
  });
});

describe("git's core.hooksPath", () => {
  it('reads it from the core section only, case-insensitively, quotes and comments stripped', () => {
    const config = [
      '[core]',
      '\trepositoryformatversion = 0',
      '\thooksPath = .husky/_ # husky',
      '[remote "origin"]',
      '\thookspath = not-this',
      '[Core]',
      '\tHooksPath = "tools/hooks"',
    ].join('\n');
    expect(hooksPaths(config)).toEqual(['.husky/_', 'tools/hooks']);
    expect(hooksPaths('[user]\n\tname = x\n')).toEqual([]);
  });
});
