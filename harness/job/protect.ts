// What a job must never be able to change: the files the harness process executes or loads from
// disk — ringfence's built output, the packages it loads at run time (koffi's .node, piscina, …) and
// the node binary itself. A job that could write them would run its own code as the harness's user,
// outside every namespace and cgroup, at the next start (runc's CVE-2019-5736 in our shape). Each is
// bound read-only inside every job (the launcher's --protect, after all volumes are attached), and a
// volume that would expose one writable is refused.
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../native/paths.js';
import { InputError } from './units.js';
import type { Volume } from './spec-types.js';

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Node's lookup of a package's directory: `node_modules/NAME` in `from` and every directory above. */
function findPackageDir(name: string, from: string): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (path.dirname(dir) === dir) return null;
  }
}

function readPackageJson(dir: string): PackageJson {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return {};
  }
}

/** `dir` and the directory of every package it depends on at run time, transitively (real paths). */
export function dependencyClosure(dir: string, into: Set<string> = new Set()): Set<string> {
  const pending = [fs.realpathSync(dir)];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (into.has(next)) continue;
    into.add(next);
    const pkg = readPackageJson(next);
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const found = findPackageDir(name, next); // an optional one not installed here is simply absent
      if (found && !into.has(found)) pending.push(found);
    }
  }
  return into;
}

/** Whether `inner` is `outer` or lies below it (both absolute and normalised). */
export function isWithin(inner: string, outer: string): boolean {
  // absolute paths (every caller's, per job and per upper-layer entry): compared as normalized
  // strings — path.relative resolves both against the cwd, too slow for the many calls of each job
  if (path.isAbsolute(inner) && path.isAbsolute(outer))
    return withinNormalized(trimmed(path.normalize(inner)), trimmed(path.normalize(outer)));
  const rel = path.relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** `/a/b/` → `/a/b`; `/` stays. */
function trimmed(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t === '' ? '/' : t;
}

let base: string[] | null = null;
const extraRoots = new Set<string>();

/**
 * Declares another package the harness process runs from (the Vitest pool: Vitest itself, whose
 * process is the harness there); it and its run-time dependencies are protected from then on.
 */
export function protectPackage(dir: string): void {
  const real = fs.realpathSync(dir);
  if (extraRoots.has(real)) return;
  extraRoots.add(real);
  base = null;
}

/**
 * The protected paths of this process, real paths, computed once. ringfence's own package is whole
 * when it is installed (a node_modules/ringfence holds nothing of the user's); in a checkout of its
 * source — where jobs work on that source — only what the harness runs from: dist/ and native/build/.
 */
export function protectedPaths(): readonly string[] {
  if (base) return base;
  const root = fs.realpathSync(packageRoot());
  const found = new Set<string>();
  const installed = root.split(path.sep).includes('node_modules');
  if (installed) found.add(root);
  else for (const sub of ['dist', path.join('native', 'build')]) found.add(path.join(root, sub));
  const deps = new Set<string>();
  for (const name of Object.keys({
    ...readPackageJson(root).dependencies,
    ...readPackageJson(root).optionalDependencies,
  })) {
    const dir = findPackageDir(name, root);
    if (dir) dependencyClosure(dir, deps);
  }
  for (const extra of extraRoots) dependencyClosure(extra, deps);
  for (const dep of deps) found.add(dep);
  found.add(fs.realpathSync(process.execPath));
  // one bind covers everything below it: keep only the outermost paths, in a stable order
  const sorted = [...found].sort();
  base = sorted.filter((p) => !sorted.some((other) => other !== p && isWithin(p, other)));
  return base;
}

/** Whether `dir` (its real path) lies in one of the protected paths. */
export function insideProtected(dir: string): boolean {
  const real = realSource(dir);
  return protectedPaths().some((p) => withinNormalized(real, p));
}

/**
 * isWithin for paths already absolute and normalized without a trailing slash (real paths, and what
 * realSource and trimmed give): a string compare, on every job's path (protectionFor runs one per
 * volume and protected path, ~50 a job in a checkout).
 */
function withinNormalized(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}

/** The real path of a volume's source (realpath(3): one system call), normalized either way. */
function realSource(source: string): string {
  try {
    return fs.realpathSync.native(source);
  } catch {
    return trimmed(path.resolve(source)); // a source that vanished fails at the launcher, with its own error
  }
}

/**
 * The paths the launcher binds read-only inside one job: every protected path, and for a writable
 * volume whose source holds one, where it shows up through that volume. Throws InputError for a
 * volume that would make a protected path writable (its source is one, or lies inside one) or would
 * cover one with something else (its target is, or lies inside, one).
 */
export function protectionFor(volumes: readonly Volume[]): string[] {
  const paths = protectedPaths();
  const extra: string[] = [];
  for (const volume of volumes) {
    const source = realSource(volume.source);
    // normalized once: the protected paths are (realpaths), so each check below is a string compare
    const target = trimmed(path.normalize(volume.target));
    for (const p of paths) {
      if (!volume.readOnly && withinNormalized(source, p))
        throw new InputError(
          'volume',
          `${volume.source}:${volume.target} would let the job write ${p}, which the harness runs from; mount it read-only (${volume.source}:${volume.target}:ro)`,
        );
      // a read-only bind of a path onto itself shows exactly what is there: nothing is covered
      if (withinNormalized(target, p) && source !== volume.target)
        throw new InputError(
          'volume',
          `${volume.source}:${volume.target} would cover ${p}, which the harness runs from; choose another target`,
        );
      // where p shows up through this volume: its path below the source, under the target
      if (!volume.readOnly && withinNormalized(p, source)) extra.push(shownAt(p, source, target));
    }
  }
  return [...paths, ...extra];
}

/** `real`, a path below a volume's real `source`, where the job sees it: below the volume's target. */
function shownAt(real: string, source: string, target: string): string {
  return `${target === '/' ? '' : target}${real.slice(source === '/' ? 0 : source.length)}` || '/';
}

/**
 * Where each of `paths` shows up again through a writable volume whose source holds it: the
 * workdir's `.git` or `node_modules/.bin`, read-only at the workdir, are the same files below a
 * volume of the workdir's parent. An overlay volume's writes reach the host only as outputs, which
 * never include them (harness/fs/outputs.ts).
 */
export function throughWritableVolumes(paths: readonly string[], volumes: readonly Volume[]): string[] {
  const shown: string[] = [];
  const writable = volumes.filter((v) => !v.readOnly && !v.overlay);
  // most jobs have no such volume: no realpath calls on their path
  if (paths.length === 0 || writable.length === 0) return shown;
  const reals = paths.map(realSource);
  for (const volume of writable) {
    const source = realSource(volume.source);
    const target = trimmed(path.normalize(volume.target));
    for (const real of reals) if (withinNormalized(real, source)) shown.push(shownAt(real, source, target));
  }
  return shown;
}
