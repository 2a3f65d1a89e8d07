// Install anywhere: `npm pack` carries a prebuilt launcher and spawn library for linux-x64 and
// linux-arm64 (native/prebuild.mjs), and `npm install` of the tarball picks this machine's pair,
// self-tests it and falls back to a source build only when it must (native/build.mjs). Run as a user
// would: pack this checkout, install the tarball into fresh projects in a temp dir (from npm's cache,
// as CI's `npm ci` left it), and run a sandboxed job from each.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSandbox, leftovers, NO_LEFTOVERS, ROOT } from '../support/sandbox.js';

const TOOLS = ['aarch64-linux-gnu-gcc', 'qemu-aarch64-static', 'objdump', 'aarch64-linux-gnu-objdump'];
const FIX = 'apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static';

function onPath(name: string, pathVar = process.env.PATH ?? ''): string | null {
  for (const dir of pathVar.split(':')) {
    const full = path.join(dir, name);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return null;
}

function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const out = spawnSync(cmd, args, { ...options, encoding: 'utf8', timeout: 180_000 });
  return { status: out.status, output: `${out.stdout}${out.stderr}`, stdout: out.stdout, error: out.error };
}

/** e_machine of an ELF file: 62 x86-64, 183 aarch64. */
function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return header.readUInt16LE(18);
}

/** The newest GLIBC_x.y symbol version a shared library asks for, from objdump -T. */
function newestGlibc(objdump: string, library: string): string {
  const out = run(objdump, ['-T', library], { cwd: ROOT });
  expect(out.status, out.output).toBe(0);
  const versions = [...out.stdout.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  versions.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  const newest = versions.at(-1)!;
  return `${newest[0]}.${newest[1]}`;
}

const missing = TOOLS.filter((tool) => !onPath(tool));
const describePacking =
  missing.length && process.env.RINGFENCE_REQUIRE_SANDBOX !== '1'
    ? (name: string, body: () => void) =>
        describe.skip(`${name} (skipped: no ${missing.join(', ')}: ${FIX})`, body)
    : describeSandbox;

describePacking('npm pack, then npm install anywhere: prebuilt native files', () => {
  let dir = '';
  let tarball = '';
  let unpacked = '';

  beforeAll(() => {
    expect(missing, `packing needs ${missing.join(', ')}: ${FIX}`).toEqual([]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-pack-'));
    const packed = run('npm', ['pack', '--pack-destination', dir], { cwd: ROOT });
    expect(packed.status, packed.output).toBe(0);
    expect(packed.output).toMatch(/prebuilt linux-x64 launcher and spawn library \(self-test passed\)/);
    expect(packed.output).toMatch(/prebuilt linux-arm64 .*\(self-test passed under qemu-aarch64-static\)/);
    tarball = path.join(dir, packed.stdout.trim().split('\n').at(-1)!);
    unpacked = path.join(dir, 'unpacked');
    fs.mkdirSync(unpacked);
    expect(run('tar', ['-xzf', tarball, '-C', unpacked], { cwd: dir }).status).toBe(0);
  }, 180_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const prebuilt = (arch: string, name: string): string =>
    path.join(unpacked, 'package', 'native', 'prebuilt', `linux-${arch}`, name);

  /** A fresh project in the temp dir with `tgz` installed; `pathVar` is the PATH npm runs with. */
  function install(name: string, tgz: string, pathVar = process.env.PATH ?? '') {
    const project = path.join(dir, name);
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name, private: true }));
    const env = { ...process.env, PATH: pathVar, npm_config_prefer_offline: 'true' };
    const out = run('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', tgz], {
      cwd: project,
      env,
    });
    expect(out.status, out.output).toBe(0);
    return { project, env, output: out.output };
  }

  /** `npx ringfence run` from the project: a job with memory and pids caps, its JSON read back. */
  function sandboxedJob(project: string, env: NodeJS.ProcessEnv) {
    const json = path.join(project, 'result.json');
    const out = run(
      'npx',
      ['ringfence', 'run', '--memory', '64m', '--pids-limit', '16', `--json=${json}`, '--', 'hostname'],
      {
        cwd: project,
        env,
      },
    );
    expect(out.status, out.output).toBe(0);
    expect(out.stdout.trim()).toBe('ringfence'); // the job's own UTS namespace
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as {
      status: string;
      pids: { limit: number; peak: number };
      memory: { limitBytes: number };
      enforcement: { namespaces: string; notEnforced: unknown[] };
    };
    expect(result.status).toBe('passed');
    expect(result.pids.limit).toBe(16);
    expect(result.pids.peak).toBeGreaterThan(0); // read from the job's cgroup
    expect(result.memory.limitBytes).toBe(64 * 1024 * 1024);
    expect(result.enforcement.namespaces).toBe('all');
    expect(result.enforcement.notEnforced).toEqual([]);
  }

  /** The installed launcher's architecture, read from its ELF header. */
  const installedLauncher = (project: string): string =>
    path.join(project, 'node_modules', 'ringfence', 'native', 'build', 'ringfence-launcher');

  it('the tarball carries a static launcher and a spawn library for x64 and arm64, stamped with these sources', () => {
    expect(elfMachine(prebuilt('x64', 'ringfence-launcher'))).toBe(62);
    expect(elfMachine(prebuilt('x64', 'libringfence-spawn.so'))).toBe(62);
    expect(elfMachine(prebuilt('arm64', 'ringfence-launcher'))).toBe(183);
    expect(elfMachine(prebuilt('arm64', 'libringfence-spawn.so'))).toBe(183);
    const fingerprint = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import('./native/compile.mjs').then((m) => console.log(m.sourceFingerprint()))",
      ],
      { cwd: ROOT },
    ).stdout.trim();
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    for (const arch of ['x64', 'arm64']) {
      expect(fs.readFileSync(prebuilt(arch, 'sources.sha256'), 'utf8').trim()).toBe(fingerprint);
    }
    // the launchers need no dynamic loader (no PT_INTERP): `file` would say "statically linked"
    for (const arch of ['x64', 'arm64']) {
      expect(fs.readFileSync(prebuilt(arch, 'ringfence-launcher')).includes('/ld-linux')).toBe(false);
    }
    // the spawn libraries load into a Node on glibc 2.28 (Node 20's floor: RHEL 8, Debian 10)
    const atMost228 = (v: string): boolean => Number(v.split('.')[0]) === 2 && Number(v.split('.')[1]) <= 28;
    expect(newestGlibc('objdump', prebuilt('x64', 'libringfence-spawn.so'))).toSatisfy(atMost228);
    expect(newestGlibc('aarch64-linux-gnu-objdump', prebuilt('arm64', 'libringfence-spawn.so'))).toSatisfy(
      atMost228,
    );
    // packing left the checkout as it was
    expect(fs.existsSync(path.join(ROOT, 'native', 'prebuilt'))).toBe(false);
  });

  it('the arm64 launcher passes its self-test under qemu-aarch64-static', () => {
    const out = run('qemu-aarch64-static', [prebuilt('arm64', 'ringfence-launcher'), '--self-test'], {
      cwd: dir,
    });
    expect(out.status, out.output).toBe(0);
    expect(out.stdout.trim()).toBe('ringfence-launcher: self-test ok (aarch64)');
  });

  it('installs with no C compiler on PATH and runs a sandboxed job', async () => {
    const bin = path.join(dir, 'no-compiler-bin');
    fs.mkdirSync(bin);
    // what a node:20-slim image has on PATH for this: node, npm, a shell, coreutils — no cc
    for (const tool of ['node', 'npm', 'npx', 'sh', 'hostname']) {
      fs.symlinkSync(fs.realpathSync(onPath(tool)!), path.join(bin, tool));
    }
    for (const compiler of ['cc', 'gcc', 'clang']) expect(onPath(compiler, bin)).toBeNull();
    const { project, env, output } = install('no-compiler', tarball, bin);
    expect(output).toMatch(
      /ringfence: using the prebuilt launcher and spawn library for linux-x64 \(self-test passed\)/,
    );
    expect(output).not.toMatch(/from source/);
    expect(fs.readFileSync(installedLauncher(project))).toEqual(
      fs.readFileSync(prebuilt('x64', 'ringfence-launcher')),
    );
    // the job's PATH is this one; /tmp is the job's own, so the tools must be where the job sees them
    const jobBin = path.join(project, 'bin');
    fs.cpSync(bin, jobBin, { recursive: true, verbatimSymlinks: true });
    sandboxedJob(project, { ...env, PATH: jobBin });
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  }, 120_000);

  it('without the prebuilt pairs, install builds from source with the compiler and says so', async () => {
    const stripped = path.join(dir, 'stripped');
    fs.cpSync(unpacked, stripped, { recursive: true });
    fs.rmSync(path.join(stripped, 'package', 'native', 'prebuilt'), { recursive: true });
    const tgz = path.join(dir, 'no-prebuilt.tgz');
    expect(run('tar', ['-czf', tgz, '-C', stripped, 'package'], { cwd: dir }).status).toBe(0);
    const { project, env, output } = install('from-source', tgz);
    expect(output).toMatch(
      /ringfence: built the launcher \(static\) and spawn library \(shared\) from source with \S+ \(none in this package for linux-x64\)/,
    );
    expect(elfMachine(installedLauncher(project))).toBe(62);
    sandboxedJob(project, env);
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  }, 120_000);

  it('a prebuilt launcher that fails its self-test is replaced by a source build', async () => {
    const broken = path.join(dir, 'broken');
    fs.cpSync(unpacked, broken, { recursive: true });
    // the arm64 launcher where the x64 one belongs: what a mislabelled or corrupted pair looks like
    fs.copyFileSync(
      prebuilt('arm64', 'ringfence-launcher'),
      path.join(broken, 'package', 'native', 'prebuilt', 'linux-x64', 'ringfence-launcher'),
    );
    const tgz = path.join(dir, 'broken.tgz');
    expect(run('tar', ['-czf', tgz, '-C', broken, 'package'], { cwd: dir }).status).toBe(0);
    const { project, env, output } = install('broken-prebuilt', tgz);
    expect(output).toMatch(/the prebuilt linux-x64 pair failed its self-test: built for arm64, not x64\)/);
    expect(output).toMatch(/built the launcher \(static\) and spawn library \(shared\) from source/);
    expect(elfMachine(installedLauncher(project))).toBe(62);
    sandboxedJob(project, env);
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  }, 120_000);
});
