// A project's tooling the host executes next, in the workdir: node_modules/.bin (what `npx` and
// package scripts run) and git's hook directories — .husky, .githooks and core.hooksPath where it
// lies inside the workdir (read from the repository's and the user's git config files, never by
// running git: the harness runs no host program for a job). Where the workdir is bound writable
// they are bound read-only (harness/job/workdir-binds.ts); under `outputs` they are never written back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isWithin } from '../job/protect.js';

/** The git config files that apply to `workdir`: its repository's, then the user's. */
function gitConfigFiles(workdir: string): string[] {
  const files: string[] = [];
  const dotGit = path.join(workdir, '.git');
  const st = fs.lstatSync(dotGit, { throwIfNoEntry: false });
  if (st?.isDirectory()) files.push(path.join(dotGit, 'config'));
  else if (st?.isFile()) {
    // a worktree's or submodule's `.git` file: `gitdir: X`, whose commondir holds the config
    const gitdir = /^gitdir:\s*(.+)$/m.exec(readText(dotGit) ?? '')?.[1]?.trim();
    if (gitdir) {
      const dir = path.resolve(workdir, gitdir);
      const common = readText(path.join(dir, 'commondir'))?.trim();
      files.push(path.join(common ? path.resolve(dir, common) : dir, 'config'));
    }
  }
  const xdg = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  files.push(path.join(xdg, 'git', 'config'), path.join(os.homedir(), '.gitconfig'));
  return files;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Every `core.hooksPath` value in a git config file's text (section and key are case-insensitive). */
export function hooksPaths(configText: string): string[] {
  const found: string[] = [];
  let core = false;
  for (const raw of configText.split('\n')) {
    const line = raw.trim();
    const section = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"[^"]*")?\s*\]/.exec(line);
    if (section) {
      core = section[1]?.toLowerCase() === 'core';
      continue;
    }
    const kv = /^hookspath\s*=\s*(.*)$/i.exec(line);
    if (core && kv?.[1] !== undefined) {
      const value = kv[1].replace(/\s+[#;].*$/, '').trim();
      found.push(value.replace(/^"(.*)"$/, '$1'));
    }
  }
  return found;
}

/**
 * A config file's hooksPath values, read again only when its stat changes: every job of a workdir
 * asks. A file changed in the last RACY_MS is read every time, as git treats a racily clean index
 * entry: a timestamp is coarse, and a rewrite of the same size within its tick would look unchanged.
 */
const configCache = new Map<string, { stamp: string; values: string[] }>();
const RACY_MS = 2000n;
/** A long-lived pool may see many workdirs, each with its repository's config: kept bounded. */
const CONFIG_CACHE_MAX = 1000;

function configHooksPaths(file: string): string[] {
  const st = fs.statSync(file, { throwIfNoEntry: false, bigint: true });
  if (!st) {
    configCache.delete(file);
    return [];
  }
  const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const known = configCache.get(file);
  if (known?.stamp === stamp) return known.values;
  const values = hooksPaths(readText(file) ?? '');
  const changed = st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs;
  if (BigInt(Date.now()) * 1_000_000n - changed > RACY_MS * 1_000_000n) {
    if (configCache.size >= CONFIG_CACHE_MAX) configCache.clear();
    configCache.set(file, { stamp, values });
  } else configCache.delete(file);
  return values;
}

/** Hook directories of the workdir, relative to it: .husky, .githooks and core.hooksPath inside it. */
export function hookDirs(workdir: string): string[] {
  const dirs = new Set(['.husky', '.githooks']);
  for (const file of gitConfigFiles(workdir)) {
    for (const value of configHooksPaths(file)) {
      const abs = value.startsWith('~/')
        ? path.join(os.homedir(), value.slice(2))
        : path.resolve(workdir, value);
      if (isWithin(abs, workdir) && abs !== workdir) dirs.add(path.relative(workdir, abs));
    }
  }
  return [...dirs];
}

/**
 * What of the workdir's tooling exists now, absolute: bound read-only where the workdir is writable.
 * node_modules/.bin, or node_modules itself where it has no .bin yet (a job would make one);
 * each hook directory that exists. A path that does not exist, or is reached through a symlink (a
 * node_modules linked from elsewhere), cannot be bound (docs/project-files.md).
 */
export function existingTooling(workdir: string): string[] {
  const found: string[] = [];
  const modules = path.join(workdir, 'node_modules');
  const bin = path.join(modules, '.bin');
  if (isRealDir(bin, workdir)) found.push(bin);
  else if (isRealDir(modules, workdir)) found.push(modules);
  for (const dir of hookDirs(workdir)) {
    const abs = path.join(workdir, dir);
    if (isRealDir(abs, workdir)) found.push(abs);
  }
  return found;
}

/**
 * A directory reached from the workdir through directories only, no symlink on the way: a bind
 * through a symlink would protect its target, and the job could replace the link itself.
 */
function isRealDir(p: string, workdir: string): boolean {
  let dir = workdir;
  for (const part of path.relative(workdir, p).split(path.sep).filter(Boolean)) {
    dir = path.join(dir, part);
    if (!(fs.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false)) return false;
  }
  return true;
}
