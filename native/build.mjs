// Builds native/build/ringfence-launcher (native/launcher/*.c) and native/build/libringfence-spawn.so
// (native/spawn/*.c) at `npm install`.
// Node stdlib only: this runs before any dependency is guaranteed to exist.
// One compiler call for all sources (a few hundred ms), skipped when up to date. Afterwards the
// sha256 of each output goes into build/checksums.json: the harness runs a native file only when it
// is the one recorded here (native/sealed.ts).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'build');
const flags = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];

// The launcher (an executable run once per job) and the spawn shim the harness loads through koffi.
const targets = [
  {
    what: 'launcher',
    srcDir: join(here, 'launcher'),
    output: join(outDir, 'ringfence-launcher'),
    extra: [],
    mode: 0o755,
  },
  {
    what: 'spawn library',
    srcDir: join(here, 'spawn'),
    output: join(outDir, 'libringfence-spawn.so'),
    extra: ['-shared', '-fPIC'],
    mode: 0o644,
  },
];

function fail(message) {
  process.stderr.write(`ringfence: ${message}\n`);
  process.exit(1);
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name) {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

// $CC may carry arguments ("ccache gcc", "gcc -m64"): its first word must exist.
function findCompiler() {
  const envCc = (process.env.CC ?? '').trim().split(/\s+/).filter(Boolean);
  const candidates = [...(envCc.length ? [envCc] : []), ['cc'], ['gcc'], ['clang']];
  for (const [cmd, ...args] of candidates) {
    if (onPath(cmd)) return [cmd, ...args];
  }
  return null;
}

function sourcesOf(srcDir) {
  return readdirSync(srcDir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(srcDir, f));
}

function upToDate({ srcDir, output }) {
  let built;
  try {
    built = statSync(output).mtimeMs;
  } catch {
    return false;
  }
  const inputs = readdirSync(srcDir)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .map((f) => join(srcDir, f));
  inputs.push(fileURLToPath(import.meta.url));
  return inputs.every((f) => statSync(f).mtimeMs < built);
}

let compiler = null;
for (const target of targets) {
  const shown = isAbsolute(target.output)
    ? relative(process.cwd(), target.output) || target.output
    : target.output;
  if (upToDate(target)) {
    process.stdout.write(`ringfence: ${target.what} up to date (${shown})\n`);
    continue;
  }
  const sources = sourcesOf(target.srcDir);
  if (sources.length === 0) fail(`no C sources in ${target.srcDir}`);
  compiler ??= findCompiler();
  if (!compiler) {
    const tried = process.env.CC ? `${process.env.CC}, cc, gcc, clang` : 'cc, gcc, clang';
    fail(`no C compiler found (tried ${tried}) — install one: apt-get install gcc`);
  }
  mkdirSync(outDir, { recursive: true, mode: 0o755 });
  // Build to a temporary name, then rename: a half-written binary never sits at `output`.
  const partial = `${target.output}.tmp-${process.pid}`;
  const [cmd, ...ccArgs] = compiler;
  const result = spawnSync(cmd, [...ccArgs, ...flags, ...target.extra, '-o', partial, ...sources], {
    stdio: 'inherit',
  });
  if (result.error || result.status !== 0) {
    rmSync(partial, { force: true });
    fail(
      `compiling the ${target.what} with ${cmd} failed${result.error ? `: ${result.error.message}` : ' (see above)'}`,
    );
  }
  // whatever the umask: nobody but the owner writes what the harness runs as root
  chmodSync(partial, target.mode);
  renameSync(partial, target.output);
  process.stdout.write(`ringfence: built ${shown}\n`);
}

// Recorded on every install, also when nothing was rebuilt, so the record always matches the files.
const checksums = {};
for (const { output } of targets) {
  checksums[basename(output)] = createHash('sha256').update(readFileSync(output)).digest('hex');
}
const checksumsFile = join(outDir, 'checksums.json');
const partialChecksums = `${checksumsFile}.tmp-${process.pid}`;
writeFileSync(partialChecksums, `${JSON.stringify(checksums, null, 2)}\n`, { mode: 0o644 });
renameSync(partialChecksums, checksumsFile);
