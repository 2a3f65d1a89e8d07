// Where ringfence's package root is: the source (native/, harness/) and the build (dist/native/,
// dist/harness/) sit at different depths below it, so it is found once by walking up to the
// package.json named ringfence, and cached — launcherPath() is on every job's path.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'ringfence') return (root = dir);
    } catch {
      // no package.json at this level
    }
    dir = path.dirname(dir);
  }
  throw new Error(`ringfence: cannot find its package root above ${fileURLToPath(import.meta.url)}`);
}

/** A file of the native build: native/build/<name>. */
export function nativeBuild(name: string): string {
  return path.join(packageRoot(), 'native', 'build', name);
}
