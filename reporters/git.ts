// The commit and branch of the repository a run happened in, read from .git's files rather than by
// running git: reports are written after jobs ran, and a job may have been able to write the host's
// filesystem (a writable root, a volume) — the harness executes no host program after a job ran.
// Covers what a CI checkout has: HEAD as a ref or detached, loose and packed refs, and worktrees and
// submodules whose .git is a `gitdir:` file.
import fs from 'node:fs';
import path from 'node:path';

export interface GitInfo {
  commit: string;
  branch: string | null;
}

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The repository's own git dir and the common one (they differ in a linked worktree). */
function findGitDirs(cwd: string): { gitDir: string; commonDir: string } | null {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const dotGit = path.join(dir, '.git');
    let gitDir: string | null = null;
    try {
      if (fs.statSync(dotGit).isDirectory()) gitDir = dotGit;
      else {
        const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(read(dotGit) ?? '');
        if (pointer?.[1]) gitDir = path.resolve(dir, pointer[1]);
      }
    } catch {
      // no .git at this level
    }
    if (gitDir) {
      const common = read(path.join(gitDir, 'commondir'))?.trim();
      return { gitDir, commonDir: common ? path.resolve(gitDir, common) : gitDir };
    }
    if (path.dirname(dir) === dir) return null;
  }
}

function resolveRef(ref: string, dirs: { gitDir: string; commonDir: string }): string | null {
  for (const dir of new Set([dirs.gitDir, dirs.commonDir])) {
    const loose = read(path.join(dir, ref))?.trim();
    if (loose && OBJECT_ID.test(loose)) return loose;
  }
  for (const line of (read(path.join(dirs.commonDir, 'packed-refs')) ?? '').split('\n')) {
    const [id, name] = line.trim().split(' ');
    if (name === ref && id && OBJECT_ID.test(id)) return id;
  }
  return null;
}

/** Commit and branch of the repository at `cwd`; null when it is not one or has no commit yet. */
export function gitInfo(cwd: string): GitInfo | null {
  const dirs = findGitDirs(cwd);
  if (!dirs) return null;
  const head = read(path.join(dirs.gitDir, 'HEAD'))?.trim() ?? '';
  if (OBJECT_ID.test(head)) return { commit: head, branch: null }; // detached
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (!ref) return null;
  const commit = resolveRef(ref, dirs);
  if (!commit) return null; // an unborn branch
  return { commit, branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref };
}
