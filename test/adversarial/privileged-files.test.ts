// Attack (issue 36): a job leaves a file that carries privilege where the host will find it — a
// set-uid root shell, a set-gid file or directory, a file with a capability (security.capability),
// a device node — in its workdir or a writable volume, which are the host's own directories. Every
// way there is tried, as host root and as root of a user namespace: the tools (chmod, install, setcap,
// setfattr, mknod, cp -p and tar -x of a set-uid file, a hard link to one; fixtures/adversarial/
// privileged-files.sh) and the system calls under them, directly (privileged-files.c). The seccomp
// filter refuses the bits and devices (EPERM), openat2 and io_uring_setup answer ENOSYS, the dropped
// CAP_SETFCAP refuses capabilities and the hard link crosses mounts (EXDEV). Then every file there is
// checked from the host with lstat and lgetxattr; a Vitest pool worker tries in its project too. A
// normal build in the workdir works as before.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { readXattr } from '../../native/libc/xattr.js';
import { USERNS_ROOT_ID } from '../../harness/job/scratch.js';
import { runJob } from '../../harness/run-job.js';
import type { JobSpecInput } from '../../harness/job/spec.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { DEMO, vitestRun } from '../support/vitest.js';
import {
  ADVERSARIAL,
  compile,
  fixtureVolumes,
  hostSetuidBinary,
  outcomes,
  removeDir,
  tempDir,
} from './helpers.js';

/** Every entry under `root` that carries privilege, as "path: why", seen from the host. */
function privilegedFiles(root: string): string[] {
  const found: string[] = [];
  for (const name of fs.readdirSync(root, { recursive: true }) as string[]) {
    const p = path.join(root, name);
    const st = fs.lstatSync(p);
    if (st.mode & 0o6000) found.push(`${name}: mode ${(st.mode & 0o7777).toString(8)}`);
    if (st.isCharacterDevice() || st.isBlockDevice()) found.push(`${name}: device`);
    if (readXattr(p, 'security.capability') !== null) found.push(`${name}: security.capability`);
  }
  return found.sort();
}

/** The tools' attempts (privileged-files.sh), and the protection that must answer each. */
const TOOL_ATTEMPTS: Record<string, RegExp> = {
  'chmod-4755': /not permitted/i,
  'chmod-2755': /not permitted/i,
  'chmod-g+s-dir': /not permitted/i,
  'install-4755': /not permitted/i,
  // libcap cannot even raise CAP_SETFCAP: it is out of the bounding set
  setcap: /CAP_SETFCAP.*not permitted/i,
  setfattr: /not permitted/i,
  'mknod-char': /not permitted/i,
  'mknod-whiteout': /not permitted/i,
  // its first line names the mode or, in a user namespace, the owner it could not keep first
  'cp-p': /preserv/i,
  'tar-x': /Cannot change (mode|ownership)/i,
  'hard-link': /cross-device/i,
};

/** The direct calls (privileged-files.c) and their one answer; the i386 ones are apart. */
const SYSCALL_ATTEMPTS: Record<string, string> = {
  'open-creat-4755': 'EPERM',
  'openat-creat-2755': 'EPERM',
  'creat-4755': 'EPERM',
  'tmpfile-4755': 'EPERM',
  'mknod-reg-4755': 'EPERM',
  'mknodat-reg-2755': 'EPERM',
  'mknod-char': 'EPERM',
  'mknod-block': 'EPERM',
  'mknod-whiteout': 'EPERM',
  'rename-whiteout': 'EPERM',
  'chmod-4755': 'EPERM',
  'fchmodat-2755': 'EPERM',
  'fchmodat2-6755': 'EPERM',
  'fchmod-4755': 'EPERM',
  'openat2-creat': 'ENOSYS',
  io_uring_setup: 'ENOSYS',
};
const I386_ATTEMPTS = ['i386-chmod-4755', 'i386-open-creat-4755', 'i386-mknod-char'];
/** The same calls without a privilege bit: the filter must let them through. */
const ALLOWED = [
  'open-creat-0755',
  'open-existing-mode-ignored',
  'opendir-mode-ignored',
  'fchmod-0700',
  'chmod-1777',
  'mknod-fifo',
  'mknod-reg-0644',
  'rename-noreplace',
];

const IDENTITIES: { name: string; spec: Partial<JobSpecInput> }[] = [
  { name: 'as host root', spec: {} },
  { name: 'as root of a user namespace (--userns)', spec: { userns: true } },
];

/** The job's output, one section per directory it attacked ("== DIR" lines start each). */
function sections(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of stdout.split(/^== /m).slice(1)) {
    const newline = part.indexOf('\n');
    out.set(part.slice(0, newline), part.slice(newline + 1));
  }
  return out;
}

describeSandbox('adversarial: no file a job writes carries privilege out', () => {
  let suid = '';
  beforeAll(() => {
    suid = hostSetuidBinary();
  });

  for (const { name, spec } of IDENTITIES) {
    it(`${name}: set-uid, set-gid, capability and device files are refused in the workdir and a volume`, async () => {
      const workdir = tempDir('privfiles-wd');
      const volume = tempDir('privfiles-vol');
      try {
        const binary = compile(workdir, 'privileged-files');
        // an archive that holds a set-uid root file, made on the host
        const archive = path.join(workdir, 'suid.tar');
        const tar = spawnSync('tar', ['-cf', archive, '-C', path.dirname(suid), path.basename(suid)], {
          encoding: 'utf8',
        });
        expect(tar.status, tar.stderr).toBe(0);
        expect(spawnSync('tar', ['-tvf', archive], { encoding: 'utf8' }).stdout).toMatch(/^-rws/);
        // root of a user namespace is uid 100000 outside: its directories must be its own to write in
        if (spec.userns)
          for (const dir of [workdir, volume]) fs.chownSync(dir, USERNS_ROOT_ID, USERNS_ROOT_ID);
        // the detector finds what it must: a set-uid file, a capability and a device, made on the host
        const control = tempDir('privfiles-control');
        try {
          fs.writeFileSync(path.join(control, 'suid'), '');
          fs.chmodSync(path.join(control, 'suid'), 0o4755);
          fs.copyFileSync('/bin/true', path.join(control, 'cap'));
          expect(spawnSync('setcap', ['cap_sys_admin+ep', path.join(control, 'cap')]).status).toBe(0);
          expect(spawnSync('mknod', [path.join(control, 'null'), 'c', '1', '3']).status).toBe(0);
          expect(privilegedFiles(control)).toEqual([
            'cap: security.capability',
            'null: device',
            'suid: mode 4755',
          ]);
        } finally {
          removeDir(control);
        }

        const script = path.join(ADVERSARIAL, 'privileged-files.sh');
        const result = await runJob({
          command: [
            'sh',
            '-c',
            'for d in "$1" "$2"; do echo "== $d"; sh "$3" "$d" "$4" "$5"; (cd "$d" && "$6"); done',
            'sh',
            workdir,
            volume,
            script,
            suid,
            archive,
            binary,
          ],
          workdir,
          volumes: [`${volume}:${volume}`, ...fixtureVolumes()],
          timeout: '30s',
          ...spec,
        });
        expect(result.status, result.reason + result.stderr).toBe('passed');
        const byDir = sections(result.stdout);
        expect([...byDir.keys()]).toEqual([workdir, volume]);

        const i386: string[] = [];
        for (const [dir, text] of byDir) {
          const seen = outcomes(text);
          for (const [label, answer] of Object.entries(TOOL_ATTEMPTS)) {
            const line = new RegExp(`^${label.replace(/[+]/g, '\\+')} failed: .*${answer.source}`, 'im');
            expect(text, `${label} in ${dir}`).toMatch(line);
          }
          for (const [label, answer] of Object.entries(SYSCALL_ATTEMPTS))
            expect(seen[label], `${label} in ${dir}`).toBe(answer);
          for (const label of ALLOWED) expect(seen[label], `${label} in ${dir}`).toBe('ok');
          i386.push(...I386_ATTEMPTS.map((label) => seen[label] ?? 'missing'));
          // it was the host's directory the job wrote: what it may make is there
          expect(fs.lstatSync(path.join(dir, 'ok-fifo')).isFIFO(), dir).toBe(true);
          expect(fs.statSync(path.join(dir, 'tool-4755')).mode & 0o7777, dir).toBe(0o755);
          // and nothing there carries privilege, as the host sees it
          expect(privilegedFiles(dir), dir).toEqual([]);
        }
        // one attempt per directory (workdir, volume): each counted, under one name per way
        for (let place = 0; place < byDir.size; place++) {
          for (const label of Object.keys(TOOL_ATTEMPTS))
            attack(`privileged file on the host: tool ${label}`, 'contained');
          for (const label of Object.keys(SYSCALL_ATTEMPTS))
            attack(`privileged file on the host: syscall ${label}`, 'contained');
        }

        // the 32-bit table: refused where it exists, impossible to try where it does not
        if (process.arch !== 'x64') {
          expect(i386.every((o) => o === 'not-x86-64')).toBe(true);
          attack(
            'privileged file on the host: the 32-bit syscall table',
            'impossible',
            `no int 0x80 on ${process.arch}`,
          );
        } else if (i386.every((o) => /^signal-(11|9)$/.test(o))) {
          attack('privileged file on the host: the 32-bit syscall table', 'impossible', 'no IA32 emulation');
        } else {
          expect(i386).toEqual(Array(I386_ATTEMPTS.length * 2).fill('EPERM'));
          attack('privileged file on the host: the 32-bit syscall table', 'contained');
        }
      } finally {
        removeDir(workdir);
        removeDir(volume);
      }
      await expectNoLeftovers();
    });
  }

  it('a Vitest pool worker cannot leave one in its project either', async () => {
    const project = path.join(DEMO, 'privileged');
    const out = path.join(project, 'out');
    fs.rmSync(out, { recursive: true, force: true });
    try {
      const run = vitestRun([], {}, project);
      expect(run.status, run.output).toBe(0);
      expect(run.output).toMatch(/Tests\s+1 passed \(1\)/);
      // out/ was written back to the host's project: its plain executable is there, nothing privileged
      expect(fs.statSync(path.join(out, 'tool')).mode & 0o7777).toBe(0o755);
      expect(privilegedFiles(out)).toEqual([]);
      attack('privileged file on the host: from a Vitest pool worker', 'contained');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
      // Vitest's cache of this run (node_modules/.vite, .vite-temp): the fixture has no packages
      fs.rmSync(path.join(project, 'node_modules'), { recursive: true, force: true });
    }
    await expectNoLeftovers();
  });

  it('as host root: a write into a set-uid file the host left in the workdir clears its bit', async () => {
    const workdir = tempDir('privfiles-rewrite');
    try {
      const target = path.join(workdir, 'helper');
      fs.copyFileSync('/bin/true', target);
      fs.chmodSync(target, 0o4755);
      // outside a job, root keeps the bit over new contents (CAP_FSETID): the attack is real here
      const outside = path.join(workdir, 'outside');
      fs.copyFileSync('/bin/true', outside);
      fs.chmodSync(outside, 0o4755);
      fs.appendFileSync(outside, '#');
      expect(fs.statSync(outside).mode & 0o7777).toBe(0o4755);
      fs.rmSync(outside);

      const result = await runJob({
        command: ['sh', '-c', 'cat /bin/sh > helper'],
        workdir,
        timeout: '10s',
      });
      expect(result.status, result.reason + result.stderr).toBe('passed');
      expect(fs.readFileSync(target).equals(fs.readFileSync('/bin/sh'))).toBe(true);
      expect(fs.statSync(target).mode & 0o7777).toBe(0o755);
      attack('privileged file on the host: rewrite a set-uid file in the workdir', 'contained');
    } finally {
      removeDir(workdir);
    }
    await expectNoLeftovers();
  });

  for (const { name, spec } of IDENTITIES) {
    it(`${name}: a normal build in the workdir is unaffected (+x, 644, umask, install -m 755, links)`, async () => {
      const workdir = tempDir('privfiles-build');
      try {
        if (spec.userns) fs.chownSync(workdir, USERNS_ROOT_ID, USERNS_ROOT_ID);
        const build = [
          'set -e',
          'umask 022',
          'mkdir -p out/bin',
          "printf '#!/bin/sh\\necho built\\n' > out/bin/tool",
          'chmod +x out/bin/tool',
          './out/bin/tool',
          'echo doc > out/README',
          'chmod 644 out/README',
          'install -m 755 out/bin/tool out/bin/installed',
          'install -d -m 755 out/share',
          'ln out/bin/tool out/bin/linked',
          'mkdir out/shared && chmod 1777 out/shared',
          'cp -p out/bin/tool out/bin/copied',
          'tar -cf out.tar out/bin && mkdir unpacked && tar -xpf out.tar -C unpacked',
          'umask 077',
          'echo secret > out/private',
          "node -e \"require('fs').writeFileSync('out/node', 'y')\"",
          'echo done',
        ].join('\n');
        const result = await runJob({ command: ['sh', '-c', build], workdir, timeout: '30s', ...spec });
        expect(result.status, result.reason + result.stderr).toBe('passed');
        expect(result.stdout).toBe('built\ndone\n');
        const mode = (p: string): string => (fs.statSync(path.join(workdir, p)).mode & 0o7777).toString(8);
        expect({
          tool: mode('out/bin/tool'),
          readme: mode('out/README'),
          installed: mode('out/bin/installed'),
          share: mode('out/share'),
          shared: mode('out/shared'),
          copied: mode('out/bin/copied'),
          unpacked: mode('unpacked/out/bin/tool'),
          private: mode('out/private'),
          node: mode('out/node'),
        }).toEqual({
          tool: '755',
          readme: '644',
          installed: '755',
          share: '755',
          shared: '1777',
          copied: '755',
          unpacked: '755',
          private: '600',
          node: '600',
        });
        expect(fs.statSync(path.join(workdir, 'out/bin/linked')).ino).toBe(
          fs.statSync(path.join(workdir, 'out/bin/tool')).ino,
        );
      } finally {
        removeDir(workdir);
      }
      await expectNoLeftovers();
    });
  }
});
