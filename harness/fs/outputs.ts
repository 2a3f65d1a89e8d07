// Which paths a job's writes in its workdir may reach the host by (`outputs`, harness/fs/writeback.ts):
// the user's patterns (a manifest's `outputs:`, `--output`, the Vitest pool's `writable`), the exact
// paths the harness derived (a Vitest file's snapshot files), and the project files that are never
// written back — what the host runs or loads next: node_modules (every package and .bin/), .git and
// hook directories, package.json and lockfiles, npm/yarn/pnpm configuration, Vite/Vitest configs and
// the guarded paths (the manifest, what a Vitest config imports) — unless the user named that very
// path (`outputs: [node_modules]`): a glob never unlocks one. Pure matching; nothing here touches disk.
import path from 'node:path';
import { isWithin } from '../job/protect.js';

/**
 * The project files never written back unless named (relative to the workdir; `**` is any depth). A
 * path below one of them is covered by it.
 */
export const PROTECTED_PATTERNS: readonly string[] = [
  '**/node_modules',
  '**/.git',
  '.husky',
  '.githooks',
  '**/package.json',
  '**/package-lock.json',
  '**/npm-shrinkwrap.json',
  '**/yarn.lock',
  '**/pnpm-lock.yaml',
  '**/bun.lockb',
  '**/bun.lock',
  '**/.npmrc',
  '**/.yarnrc',
  '**/.yarnrc.yml',
  '.yarn',
  '**/.pnpmfile.cjs',
  '**/pnpm-workspace.yaml',
  '**/vitest.config.*',
  '**/vite.config.*',
  '**/vitest.workspace.*',
  '.envrc',
  '.vscode',
];

/**
 * What a capped workdir (`--disk` without `--output`, every write an output) never writes back by
 * pattern: git's directory and hook directories — what a writable workdir keeps read-only, and .git
 * even where there was none. Its existing node_modules/.bin is kept by path (the caller's `guarded`).
 */
export const WHOLE_WORKDIR_PROTECTED: readonly string[] = ['.husky', '.githooks'];

/** Why `pattern` cannot be an output pattern, or null. */
export function outputPatternProblem(pattern: string): string | null {
  if (pattern.trim() === '') return 'is empty';
  if (pattern.includes('\0')) return 'holds a NUL';
  if (path.posix.isAbsolute(pattern)) return 'must be relative to the workdir';
  const parts = pattern.replace(/\/+$/, '').split('/');
  if (parts.some((p) => p === '..' || p === '')) return 'must stay inside the workdir (no .., no //)';
  return null;
}

function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/**
 * A glob as a regular expression over a relative path that matches the path itself or any path
 * below it: `*` and `?` stay within one component, `**` spans any number of them (zero included),
 * a leading `./` or a lone `.` is the workdir itself.
 */
export function globRegExp(pattern: string): RegExp {
  const parts = pattern.replace(/\/+$/, '').split('/');
  while (parts[0] === '.' && parts.length > 1) parts.shift();
  if (parts.length === 1 && parts[0] === '.') return /^.*$/;
  let re = '';
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part === '**') {
      // zero or more whole components, each followed by a slash unless it ends the pattern
      re += last ? '(?:.*)' : '(?:[^/]+/)*';
      return;
    }
    re += part
      .replace(/[.+^${}()|\\[\]]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]');
    if (!last) re += '/';
  });
  // `a/**` also matches `a` itself: its trailing `/` is optional then
  re = re.replace(/\/\(\?:\.\*\)$/, '(?:/.*)?');
  return new RegExp(`^${re}(?:/.*)?$`);
}

interface Pattern {
  text: string;
  /** null for a glob */
  literal: string | null;
  re: RegExp;
}

function compile(text: string): Pattern {
  const clean = text.replace(/\/+$/, '').replace(/^(\.\/)+/, '') || '.';
  return { text, literal: hasGlob(clean) ? null : clean, re: globRegExp(clean) };
}

export interface OutputRules {
  workdir: string;
  user: Pattern[];
  /** Exact absolute paths the harness derived; never protected ones. */
  derived: ReadonlySet<string>;
  protectedPatterns: Pattern[];
  /** Absolute paths never written back unless named (the manifest, a Vitest config's imports). */
  guarded: readonly string[];
  /** Symlinks are written back (a capped workdir, which a writable one would have let the job make). */
  links: boolean;
}

/**
 * The rules of one job. `hookDirs`: the workdir's git hook directories beyond .husky and .githooks
 * (a core.hooksPath inside it), relative.
 */
export function outputRules(
  workdir: string,
  user: readonly string[],
  derived: Iterable<string> = [],
  guarded: readonly string[] = [],
  hookDirs: readonly string[] = [],
  protectedPatterns: readonly string[] = PROTECTED_PATTERNS,
  links = false,
): OutputRules {
  return {
    workdir,
    user: user.map(compile),
    derived: new Set([...derived].map((p) => path.resolve(p))),
    protectedPatterns: [...protectedPatterns, ...hookDirs].map(compile),
    guarded: guarded.map((p) => path.resolve(p)),
    links,
  };
}

/** The path relative to the workdir, or null outside it. */
function relative(rules: OutputRules, abs: string): string | null {
  if (!isWithin(abs, rules.workdir)) return null;
  return path.relative(rules.workdir, abs) || '.';
}

/** Whether the job's write of `abs` is one of its outputs (before the protection check). */
export function isOutput(rules: OutputRules, abs: string): boolean {
  if (rules.derived.has(abs)) return true;
  const rel = relative(rules, abs);
  return rel !== null && rel !== '.' && rules.user.some((p) => p.re.test(rel));
}

/**
 * Why `abs` is never written back (a protected or guarded path the user did not name), or null.
 * Paths outside the workdir (a derived snapshot under a Vitest root elsewhere) are held to the
 * patterns that apply at any depth.
 */
export function protectedReason(rules: OutputRules, abs: string): string | null {
  for (const guarded of rules.guarded) {
    if (isWithin(abs, guarded) && !unlocked(rules, abs, guarded))
      return `${shown(rules, guarded)} is guarded (the host runs or loads it)`;
  }
  const rel = relative(rules, abs) ?? abs.slice(1);
  if (rel === '.') return null;
  const parts = rel.split('/');
  // the shortest protected ancestor: what the user must name to unlock what is below it
  for (let n = 1; n <= parts.length; n++) {
    const prefix = parts.slice(0, n).join('/');
    // (the first prefix that matches: its parent did not, so this one is the protected path itself)
    const hit = rules.protectedPatterns.find((p) => p.re.test(prefix));
    if (!hit) continue;
    const root = relative(rules, abs) === null ? `/${prefix}` : path.join(rules.workdir, prefix);
    if (unlocked(rules, abs, root)) return null;
    return `${prefix} is protected (${hit.text}: the host runs or loads it); name it in the outputs to write it back`;
  }
  return null;
}

/** A user literal that names `root` or a path inside it, and holds `abs`. */
function unlocked(rules: OutputRules, abs: string, root: string): boolean {
  return rules.user.some((p) => {
    if (p.literal === null) return false;
    const named = path.resolve(rules.workdir, p.literal);
    return isWithin(named, root) && isWithin(abs, named);
  });
}

function shown(rules: OutputRules, abs: string): string {
  return relative(rules, abs) ?? abs;
}
