// hookDirs (harness/fs/tooling.ts) keeps each git config file's hooksPath values between jobs and
// reads a file again when it changes: a long-lived harness must see a hooksPath set after its
// first job, even one written within a coarse timestamp's tick at the same size as the one before.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { hookDirs } from '../../harness/fs/tooling.js';

let dir: string;
let work: string;
let file: string;
let savedHome: string | undefined;
let savedXdg: string | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tooling-'));
  work = path.join(dir, 'work');
  file = path.join(work, '.git', 'config');
  fs.mkdirSync(path.join(work, '.git'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'home', '.config', 'git'), { recursive: true });
  // the user's git config files are read too: point them at an empty home (XDG_CONFIG_HOME is read
  // from process.env on every call; HOME through os.homedir(), which a worker thread may not follow)
  savedHome = process.env.HOME;
  savedXdg = process.env.XDG_CONFIG_HOME;
  process.env.HOME = path.join(dir, 'home');
  process.env.XDG_CONFIG_HOME = path.join(dir, 'home', '.config');
});

afterEach(() => {
  vi.restoreAllMocks();
  if (savedHome === undefined) delete process.env.HOME;
  else process.env.HOME = savedHome;
  if (savedXdg === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = savedXdg;
  fs.rmSync(dir, { recursive: true, force: true });
});

const config = (hooks: string): string => `[core]\n\thooksPath = ${hooks}\n`;

it('a hooksPath written, rewritten in place and removed is seen by the next call each time', () => {
  expect(hookDirs(work)).toEqual(['.husky', '.githooks']);
  fs.writeFileSync(file, config('hooks-a'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-a']);
  fs.writeFileSync(file, config('hooks-b'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-b']);
  fs.rmSync(file);
  expect(hookDirs(work)).toEqual(['.husky', '.githooks']);
});

it('a file changed in the last two seconds is read every time, even where its stat looks the same', () => {
  fs.writeFileSync(file, config('hooks-a'));
  // a coarse timestamp: both writes within one tick, at the same size, on the same inode — as a
  // kernel without fine-grained timestamps shows them; the racy rule must read the file again
  const frozen = fs.statSync(file, { bigint: true });
  const statSync = fs.statSync;
  vi.spyOn(fs, 'statSync').mockImplementation(((p: fs.PathLike, options?: fs.StatSyncOptions) =>
    p === file ? frozen : statSync(p, options)) as typeof fs.statSync);
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-a']);
  fs.writeFileSync(file, config('hooks-b'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-b']);
});

it('a config kept between calls is read again once it changes', async () => {
  fs.writeFileSync(file, config('hooks-a'));
  // kept only once its last change is two seconds old, as a checkout's config is when a run starts
  // (its ctime cannot be set back): wait for that, not for a fixed time
  while (Date.now() - fs.statSync(file).ctimeMs <= 2100) await new Promise((r) => setTimeout(r, 50));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-a']);
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-a']);
  fs.writeFileSync(file, config('hooks-b'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'hooks-b']);
});

it("the user's git config counts, and a hooksPath outside the workdir does not", () => {
  const user = path.join(dir, 'home', '.config', 'git', 'config');
  fs.writeFileSync(user, config('/elsewhere/hooks'));
  fs.writeFileSync(file, config('../outside'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks']);
  fs.writeFileSync(user, config('inner/hooks'));
  expect(hookDirs(work)).toEqual(['.husky', '.githooks', 'inner/hooks']);
});
