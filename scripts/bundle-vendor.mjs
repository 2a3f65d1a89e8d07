// After `tsc`: replace dist/harness/vendor/{zod,yaml}.js, which only re-export the packages, with
// one-file ES module bundles of exactly what harness/vendor/*.ts exports. Loading a package of many
// small modules costs Node a resolution, a read and a compile each; one file costs one. The exports
// stay those of the .ts file, so the types tsc checked are the ones the bundle has.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

// zod re-exports every one of its ~60 locales (z.locales) and configures English alone; the harness
// uses no other. Its locales' index, bundled, becomes English only: half the bundle's bytes
// that every `ringfence ci` would otherwise read and compile.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

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
    plugins: name === 'zod' ? [zodEnglishOnly] : [],
    logLevel: 'warning',
  });
  // tsc's map described the re-export this file was
  fs.rmSync(path.join(root, 'dist', 'harness', 'vendor', `${name}.js.map`), { force: true });
}

// The tests load node_modules' zod, not this bundle: check here that it still speaks (English) and
// still validates, or the build fails rather than every manifest error in a release.
const { z } = await import(path.join(root, 'dist', 'harness', 'vendor', 'zod.js'));
const checked = z.object({ name: z.string() }).safeParse({ name: 5 });
if (checked.success || !/expected string/i.test(checked.error.issues[0]?.message ?? '') || !z.locales.en)
  throw new Error(`the zod bundle does not validate in English: ${JSON.stringify(checked.error?.issues)}`);
