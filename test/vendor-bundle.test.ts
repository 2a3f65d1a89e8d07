// The build's one-file bundles of zod and yaml (scripts/bundle-vendor.mjs): they carry exactly what
// harness/vendor/*.ts exports, behave as the packages do, and `ringfence ci` loads no module of either
// package from node_modules (what it was for: ~70 ms of module resolution at every start).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zodSource from '../harness/vendor/zod.js';
import * as yamlSource from '../harness/vendor/yaml.js';
import { CLI, ROOT } from './support/sandbox.js';

const VENDOR = path.join(ROOT, 'dist', 'harness', 'vendor');

describe('vendor bundles', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-vendor-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(['zod', 'yaml'])('dist/harness/vendor/%s.js imports nothing but Node’s own modules', (name) => {
    const text = fs.readFileSync(path.join(VENDOR, `${name}.js`), 'utf8');
    const specifiers = [...text.matchAll(/^import\b[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    expect(specifiers.length).toBeGreaterThan(0); // the banner's node:module at least
    for (const specifier of specifiers) expect(specifier).toMatch(/^node:/);
    const required = [...text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
    for (const specifier of required) expect(specifier.replace(/^node:/, '')).toMatch(/^[a-z_]+$/);
    expect(required.filter((s) => /zod|yaml/.test(s))).toEqual([]);
  });

  it('the bundles export what the sources export, and behave the same', async () => {
    const zod = (await import(pathToFileURL(path.join(VENDOR, 'zod.js')).href)) as typeof zodSource;
    const yaml = (await import(pathToFileURL(path.join(VENDOR, 'yaml.js')).href)) as typeof yamlSource;
    expect(Object.keys(zod).sort()).toEqual(Object.keys(zodSource).sort());
    expect(Object.keys(yaml).sort()).toEqual(Object.keys(yamlSource).sort());

    const schema = zod.z.strictObject({ memory: zod.z.string(), retries: zod.z.number().int() });
    expect(schema.safeParse({ memory: '64m', retries: 2 }).success).toBe(true);
    const bad = schema.safeParse({ memroy: '64m', retries: 1.5 });
    const reference = zodSource.z
      .strictObject({ memory: zodSource.z.string(), retries: zodSource.z.number().int() })
      .safeParse({ memroy: '64m', retries: 1.5 });
    expect(bad.error?.issues).toEqual(reference.error?.issues);

    const text = 'jobs:\n  - name: a\n    command: [/bin/true]\n';
    const doc = yaml.parseDocument(text, { lineCounter: new yaml.LineCounter() });
    expect(doc.toJS()).toEqual(yamlSource.parseDocument(text).toJS());
    expect(doc.toJS()).toEqual({ jobs: [{ name: 'a', command: ['/bin/true'] }] });
  });

  it('`ringfence ci` loads neither package from node_modules', () => {
    // a loader hook that lists every ES module loaded, and a manifest that is refused after it was
    // parsed and validated (so no sandbox is needed, and zod and yaml have both done their work)
    const hooks = path.join(dir, 'hooks.mjs');
    fs.writeFileSync(
      hooks,
      'export async function load(url, context, next) { process.stderr.write(`loaded ${url}\\n`); return next(url, context); }\n',
    );
    const register = path.join(dir, 'register.mjs');
    fs.writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const manifest = path.join(dir, 'bad.yml');
    fs.writeFileSync(manifest, 'jobs:\n  - name: a\n    command: [/bin/true]\n    memroy: 64m\n');
    const out = spawnSync(process.execPath, ['--import', register, CLI, 'ci', manifest], {
      encoding: 'utf8',
    });
    expect(out.status, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/field "memroy": unknown key "memroy" \(did you mean "memory"\?\)/);
    const loaded = out.stderr.split('\n').filter((l) => l.startsWith('loaded '));
    expect(loaded.some((l) => l.endsWith('/dist/harness/vendor/zod.js'))).toBe(true);
    expect(loaded.some((l) => l.endsWith('/dist/harness/vendor/yaml.js'))).toBe(true);
    expect(loaded.filter((l) => /node_modules\/(zod|yaml)\//.test(l))).toEqual([]);
    // yaml's Node build is CommonJS, which the ESM hook does not see: ask the process instead
    const cjs = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(pathToFileURL(path.join(VENDOR, 'yaml.js')).href)});
         const { createRequire } = await import('node:module');
         const cache = createRequire(import.meta.url).cache;
         console.log(Object.keys(cache).filter((f) => /node_modules[/\\\\](yaml|zod)[/\\\\]/.test(f)).length);`,
      ],
      { encoding: 'utf8' },
    );
    expect(cjs.stdout.trim(), cjs.stderr).toBe('0');
  });
});
