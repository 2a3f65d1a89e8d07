// `npm pack` (prepack): builds the prebuilt native pairs a packed ringfence carries, so that
// `npm install ringfence` on a machine without a C compiler (node:20-slim, most CI images) works:
// native/prebuilt/linux-x64/ and native/prebuilt/linux-arm64/, each with the launcher (static,
// stripped), the spawn library (shared, stripped) and the fingerprint of the sources (build.mjs uses
// a pair only when it matches). The machine's own architecture is built with its C compiler, the
// other with Debian's cross compiler (gcc-aarch64-linux-gnu / gcc-x86-64-linux-gnu). Each launcher
// must pass --self-test before it is packed: natively, or under qemu-user (qemu-user-static).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SOURCE_STAMP,
  compile,
  fail,
  launcherSelfTest,
  onPath,
  platforms,
  prebuiltDir,
  prebuiltRoot,
  sourceFingerprint,
  targets,
} from './compile.mjs';

const APT = {
  x64: 'gcc-x86-64-linux-gnu libc6-dev-amd64-cross',
  arm64: 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross',
};

// postpack: the checkout is left as it was (the pairs only ever travel in the tarball)
if (process.argv.includes('--clean')) {
  rmSync(prebuiltRoot, { recursive: true, force: true });
  process.exit(0);
}

const fingerprint = sourceFingerprint();
for (const [arch, { triplet, qemu }] of Object.entries(platforms)) {
  const native = arch === process.arch;
  const cc = native ? (onPath('cc') ?? onPath('gcc')) : onPath(`${triplet}-gcc`);
  if (!cc) {
    fail(
      native
        ? 'packing needs a C compiler: apt-get install gcc'
        : `packing builds the linux-${arch} launcher with ${triplet}-gcc, not found: apt-get install ${APT[arch]}`,
    );
  }
  const dir = prebuiltDir(arch);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const target of targets) {
    const { error } = compile(target, [cc], join(dir, target.name), { linkStatic: 'yes', strip: true });
    if (error) fail(`building the linux-${arch} ${target.what} with ${cc} failed:\n${error}`);
  }
  const emulator = native ? null : onPath(qemu);
  if (!native && !emulator)
    fail(`the linux-${arch} launcher's self-test runs under ${qemu}: apt-get install qemu-user-static`);
  const why = launcherSelfTest(join(dir, targets[0].name), arch, emulator);
  if (why) fail(`the linux-${arch} launcher failed its self-test${native ? '' : ` under ${qemu}`}: ${why}`);
  writeFileSync(join(dir, SOURCE_STAMP), `${fingerprint}\n`, { mode: 0o644 });
  process.stdout.write(
    `ringfence: prebuilt linux-${arch} launcher and spawn library (self-test passed${native ? '' : ` under ${qemu}`})\n`,
  );
}
