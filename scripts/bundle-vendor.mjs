// After `tsc`: replace dist/harness/vendor/{zod,yaml}.js, which only re-export the packages, with
// one-file ES module bundles of exactly what harness/vendor/*.ts exports. Loading a package of many
// small modules costs Node a resolution, a read and a compile each; one file costs one. The exports
// stay those of the .ts file, so the types tsc checked are the ones the bundle has.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
for (const name of ['zod', 'yaml']) {
  await build({
    entryPoints: [path.join(root, 'harness', 'vendor', `${name}.ts`)],
    outfile: path.join(root, 'dist', 'harness', 'vendor', `${name}.js`),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // yaml's Node build is CommonJS and requires Node's own modules: give the bundle a require
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    legalComments: 'inline',
    logLevel: 'warning',
  });
  // tsc's map described the re-export this file was
  fs.rmSync(path.join(root, 'dist', 'harness', 'vendor', `${name}.js.map`), { force: true });
}
