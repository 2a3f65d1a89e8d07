// hookDirs (harness/fs/tooling.ts) keeps each git config file's hooksPath values between jobs and
// reads a file again when it changes: a long-lived harness must see a hooksPath set after its
// first job, even one written in the same instant and at the same size as the value before it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { hookDirs } from '../../harness/fs/tooling.js';

let dir: string;
let savedHome: string | undefined;
let savedXdg: string | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tooling-'));
  fs.mkdirSync(path.join(dir, 'work', '.git'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'home'));
  // the user's git config files are read too: point them at an empty home
  savedHome = process.env.HOME;
  savedXdg = process.env.XDG_CONFIG_HOME;
  process.env.HOME = path.join(dir, 'home');
  delete process.env.XDG_CONFIG_HOME;
});

afterEach(() => {
  if (savedHome === undefined) delete process.env.HOME;
  else process.env.HOME = savedHome;
  if (savedXdg !== undefined) process.env.XDG_CONFIG_HOME = savedXdg;
  fs.rmSync(dir, { recursive: true, force: true });
});

const config = (hooks: string): string => `[core]\n\thooksPath = ${hooks}\n`;

it('a hooksPath rewritten in place, at the same size, is seen by the next call', () => {
  const work = path.join(dir, 'work');
  const file = path.join(work, '.git', 'config');
  expect(hookDirs(work)).toEqual(['.husky', '.githooks']);
  fs.writeFileSync(file, config('hooks-a'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-a']);
  // same inode, same size, very likely the same coarse timestamp
  fs.writeFileSync(file, config('hooks-b'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-b']);
  fs.rmSync(file);
  expect(hookDirs(work)).toEqual(['.husky', '.githooks']);
});

it('a config kept between calls is read again once it changes', async () => {
  const work = path.join(dir, 'work');
  const file = path.join(work, '.git', 'config');
  fs.writeFileSync(file, config('hooks-a'));
  // kept only once its last change is two seconds old, as a checkout's config is when a run starts
  // (its ctime cannot be set back): wait for that, not for a fixed time
  while (Date.now() - fs.statSync(file).ctimeMs <= 2100) await new Promise((r) => setTimeout(r, 50));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-a']);
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-a']);
  fs.writeFileSync(file, config('hooks-b'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-b']);
});

it("the user's ~/.gitconfig counts, and a hooksPath outside the workdir does not", () => {
  const work = path.join(dir, 'work');
  fs.writeFileSync(path.join(dir, 'home', '.gitconfig'), config('~/global-hooks'));
  fs.writeFileSync(path.join(work, '.git', 'config'), config('../outside'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks']);
  fs.writeFileSync(path.join(dir, 'home', '.gitconfig'), config('inner/hooks'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'inner/hooks']);
});
