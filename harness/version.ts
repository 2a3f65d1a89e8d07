// ringfence's own version, from the package.json at the package root.
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../native/paths.js';

function findVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const VERSION = findVersion();
