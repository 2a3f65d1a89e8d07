// A Vitest project of its own for a test, as a user has one: under /var/tmp (outside the host's /tmp,
// which a sandbox's private /tmp would hide), with a real node_modules/ holding Vitest and ringfence as
// links into this checkout (npm's layout: node_modules/.bin/vitest a link to vitest.mjs), so a test
// file can write the project's node_modules/ and .bin/ and the host's copy can be compared after.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './sandbox.js';
import { cleanEnv } from './vitest.js';

/** A fresh project from a fixture directory (copied) plus `files` (relative path → content). */
export function makeProject(
  label: string,
  fixture: string | null,
  files: Record<string, string> = {},
): string {
  const dir = fs.mkdtempSync(path.join('/var/tmp', `rf-${label}-`));
  fs.chmodSync(dir, 0o755);
  if (fixture) fs.cpSync(fixture, dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '.bin'), { recursive: true });
  fs.mkdirSync(path.join(modules, '@vitest'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules', 'vitest'), path.join(modules, 'vitest'));
  fs.symlinkSync(
    path.join(ROOT, 'node_modules', '@vitest', 'coverage-v8'),
    path.join(modules, '@vitest', 'coverage-v8'),
  );
  fs.symlinkSync(ROOT, path.join(modules, 'ringfence'));
  fs.symlinkSync('../vitest/vitest.mjs', path.join(modules, '.bin', 'vitest'));
  return dir;
}

/** `vitest run ARGS` in `project` (its cwd: the workdir every file's sandbox gets), to its end. */
export function runVitestIn(
  project: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): { status: number | null; output: string } {
  const out = spawnSync(
    process.execPath,
    [path.join(project, 'node_modules', '.bin', 'vitest'), 'run', ...args],
    {
      cwd: project,
      encoding: 'utf8',
      timeout: 180_000,
      env: cleanEnv(extraEnv),
    },
  );
  return { status: out.status, output: out.stdout + out.stderr + (out.error ? String(out.error) : '') };
}

/** Every file below `dir` (node_modules and .git left out) → its bytes, or a link's target. */
export function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = path.join(rel, entry.name);
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      if (entry.isDirectory()) walk(name);
      else if (entry.isSymbolicLink()) out[name] = `-> ${fs.readlinkSync(path.join(dir, name))}`;
      else out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
    }
  };
  walk('');
  return out;
}
