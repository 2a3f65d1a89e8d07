// Which of the project's paths a sandboxed test file sees how: what the private /tmp would hide
// and must be bound back, the `writable` directories bound in live, and the files Vitest's own
// process loads next run (config, its imports, globalSetup) that no test file may change.
import fs from 'node:fs';
import path from 'node:path';
import type { PoolOptions } from 'vitest/node';
import { hiddenByPrivateTmp } from '../job/workdir-binds.js';
import { isWithin } from '../job/protect.js';

/**
 * What the worker needs that the sandbox's private /tmp would hide when it lives under the host's
 * /tmp (a project, its dependencies or Node itself unpacked there, outside the cwd that is bound back
 * in anyway): the directory of the Node binary the worker runs, read-only; the node_modules that Vitest's worker entry and its dependencies load from, read-only; and the project
 * root, whose files tests may read and write — through an overlay of its own where the project is
 * (`overlay`), as the cwd is.
 */
export function hiddenVitestPaths(distPath: string, root: string, overlay: boolean): string[] {
  const cwd = process.cwd();
  const hidden = (dir: string): boolean => hiddenByPrivateTmp(dir) && !isWithin(dir, cwd);
  const volumes: string[] = [];
  const real = fs.realpathSync(distPath);
  const at = real.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  const modules = at < 0 ? null : real.slice(0, at + `${path.sep}node_modules`.length);
  // Node's own directory first, where nothing below shows it and it holds neither the project nor
  // the cwd (a volume over the workdir is refused); the root next: a later bind of it would cover
  // the read-only node_modules inside it
  const bin = path.dirname(fs.realpathSync(process.execPath));
  const shownAnyway = isWithin(bin, root) || (modules !== null && isWithin(bin, modules));
  if (hidden(bin) && !shownAnyway && !isWithin(root, bin) && !isWithin(cwd, bin))
    volumes.push(`${bin}:${bin}:ro`);
  if (hidden(root)) volumes.push(`${root}:${root}${overlay ? ':overlay' : ''}`);
  if (modules && hidden(modules)) volumes.push(`${modules}:${modules}:ro`);
  return volumes;
}

/**
 * The `writable` entries that name a directory the project has (no glob): bound in writable for the
 * whole run, as the project was before — files running in parallel see each other's writes there at
 * once. Not in a project under the host's /tmp, whose overlay is attached after the volumes (their
 * mount points would be covered): there they are written back like the rest.
 */
export function liveWritable(writable: readonly string[]): string[] {
  const cwd = process.cwd();
  if (hiddenByPrivateTmp(cwd)) return [];
  return writable.flatMap((entry) => {
    if (/[*?[]/.test(entry)) return [];
    const abs = path.resolve(cwd, entry);
    const real = fs.lstatSync(abs, { throwIfNoEntry: false });
    return real?.isDirectory() && isWithin(abs, cwd) && abs !== cwd ? [`${abs}:${abs}`] : [];
  });
}

/**
 * What the next run's Vitest process loads from the project, which no test file may change: the
 * config files (the project's and the root's) and every file they import (Vite's record of them), and
 * the globalSetup files, which run in Vitest's own process.
 */
export function guardedPaths(project: PoolOptions['project']): string[] {
  const paths = new Set<string>();
  for (const config of [project.vite.config, project.vitest.vite.config]) {
    if (config.configFile) paths.add(config.configFile);
    for (const dep of config.configFileDependencies) paths.add(dep);
  }
  for (const file of project.config.globalSetup ?? []) paths.add(file);
  return [...paths].filter((p) => path.isAbsolute(p));
}
