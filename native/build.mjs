// Puts native/build/ringfence-launcher and native/build/libringfence-spawn.so in place at `npm install`.
// Node stdlib only: this runs before any dependency is guaranteed to exist.
//
// A packed ringfence carries prebuilt pairs (native/prebuilt/linux-<arch>/, made by prebuild.mjs):
// the one for this machine is used when it was built from these very sources and passes its checks
// here (the launcher's --self-test, the library loaded by this Node). Otherwise — no pair for this
// platform, a checkout, RINGFENCE_BUILD_FROM_SOURCE=1, or a failed check — the sources are compiled
// with the C compiler (one call per file, a few hundred ms, skipped when up to date). One line says
// which happened and why. Afterwards the sha256 of each output goes into build/checksums.json: the
// harness runs a native file only when it is the one recorded here (native/sealed.ts).
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import {
  SOURCE_STAMP,
  compile,
  fail,
  installFile,
  launcherSelfTest,
  nativeDir,
  onPath,
  prebuiltDir,
  sourceFingerprint,
  spawnLibraryLoads,
  targets,
} from './compile.mjs';

const outDir = join(nativeDir, 'build');
const outputOf = (target) => join(outDir, target.name);
const launcher = outputOf(targets[0]);
const library = outputOf(targets[1]);
const platform = `linux-${process.arch}`;

function shown(path) {
  return isAbsolute(path) ? relative(process.cwd(), path) || path : path;
}

function say(line) {
  process.stdout.write(`ringfence: ${line}\n`);
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

function upToDate(target) {
  let built;
  try {
    built = statSync(outputOf(target)).mtimeMs;
  } catch {
    return false;
  }
  const inputs = [join(nativeDir, 'build.mjs'), join(nativeDir, 'compile.mjs')];
  for (const f of readdirSync(target.srcDir)) {
    if (f.endsWith('.c') || f.endsWith('.h')) inputs.push(join(target.srcDir, f));
  }
  return inputs.every((f) => statSync(f).mtimeMs < built);
}

/** Whether both outputs pass the checks a prebuilt pair must pass; null, or why not. */
function checkOutputs() {
  return launcherSelfTest(launcher, process.arch) ?? spawnLibraryLoads(library);
}

/** Why the prebuilt pair for this platform is not used, or null when it is in place and checked. */
function usePrebuilt() {
  if (process.env.RINGFENCE_BUILD_FROM_SOURCE === '1') return 'RINGFENCE_BUILD_FROM_SOURCE=1';
  // Only an installed package (node_modules/ringfence, protected whole from jobs) takes a prebuilt
  // pair. In a checkout, jobs work on the files — native/prebuilt is not protected there and git
  // ignores it — so a job could plant a pair (and its stamp) that the next `npm ci` would install as
  // the launcher root runs: a checkout always compiles its own sources.
  if (!nativeDir.split(sep).includes('node_modules')) return 'a checkout builds from its sources';
  const dir = prebuiltDir(process.arch);
  if (!targets.every((t) => existsSync(join(dir, t.name)))) return `none in this package for ${platform}`;
  let stamp = '';
  try {
    stamp = readFileSync(join(dir, SOURCE_STAMP), 'utf8').trim();
  } catch {
    // no stamp: treated as built from other sources
  }
  if (stamp !== sourceFingerprint()) return `the prebuilt ${platform} pair was built from other sources`;
  for (const target of targets) installFile(join(dir, target.name), outputOf(target), target.mode);
  const why = checkOutputs();
  if (why) {
    for (const target of targets) rmSync(outputOf(target), { force: true });
    return `the prebuilt ${platform} pair failed its self-test: ${why}`;
  }
  return null;
}

function buildFromSource(reason) {
  const stale = targets.filter((t) => !upToDate(t));
  // all up to date yet here: they failed their self-test (a copied-in build of another machine)
  const toBuild = stale.length ? stale : targets;
  const compiler = findCompiler();
  if (!compiler) {
    const tried = process.env.CC ? `${process.env.CC}, cc, gcc, clang` : 'cc, gcc, clang';
    fail(
      `${reason}, and no C compiler to build from source (tried ${tried}) — install one: apt-get install gcc`,
    );
  }
  const made = [];
  for (const target of toBuild) {
    const { error, linked } = compile(target, compiler, outputOf(target), { linkStatic: 'try' });
    if (error) fail(`compiling the ${target.what} with ${compiler[0]} failed:\n${error}`);
    made.push(`${target.what} (${target.staticWhenPossible ? linked : 'shared'})`);
  }
  const why = checkOutputs();
  if (why) fail(`the native files built from source fail their self-test: ${why}`);
  say(`built the ${made.join(' and ')} from source with ${compiler[0]} (${reason}) in ${shown(outDir)}`);
}

mkdirSync(outDir, { recursive: true, mode: 0o755 });
if (targets.every(upToDate) && !checkOutputs()) {
  say(`launcher and spawn library up to date (${shown(outDir)})`);
} else {
  const notPrebuilt = usePrebuilt();
  if (notPrebuilt === null)
    say(`using the prebuilt launcher and spawn library for ${platform} (self-test passed)`);
  else buildFromSource(notPrebuilt);
}

// Recorded on every install, also when nothing was rebuilt, so the record always matches the files.
const checksums = {};
for (const target of targets) {
  checksums[basename(outputOf(target))] = createHash('sha256')
    .update(readFileSync(outputOf(target)))
    .digest('hex');
}
const checksumsFile = join(outDir, 'checksums.json');
const partialChecksums = `${checksumsFile}.tmp-${process.pid}`;
writeFileSync(partialChecksums, `${JSON.stringify(checksums, null, 2)}\n`, { mode: 0o644 });
renameSync(partialChecksums, checksumsFile);
