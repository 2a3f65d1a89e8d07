// The job's init made ahead (native/launcher/ahead.c): a spare launcher, once in its cgroups, clones
// init with the usual namespaces before the job is known, and hands it the job's config when it comes.
// Checked on real jobs: the namespaces and config are the job's own, the early init lives in the
// spare's job cgroup and nowhere else, a job that wants other namespaces or a host whose mounts changed
// gets a fresh init, an init made for a job that joins a network namespace serves no other, and
// nothing is left.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, expect, it, vi } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { Sandbox } from '../../harness/launch/spares.js';
import { NO_LEFTOVERS, describeSandbox, leftovers } from '../support/sandbox.js';
import { childrenOf, launchersOf } from '../support/vitest.js';

/** The spare launcher this process holds and the init it made ahead, once both exist. */
async function spareWithInit(): Promise<{ launcher: number; init: number }> {
  return vi.waitFor(
    () => {
      const launcher = launchersOf(process.pid)[0];
      const init = launcher === undefined ? undefined : childrenOf(launcher)[0];
      if (launcher === undefined || init === undefined) throw new Error('no spare with an init yet');
      return { launcher, init };
    },
    { timeout: 10_000, interval: 2 },
  );
}

const cgroupsOf = (pid: number): string => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
const phases = (trace: { phase: string }[] | undefined): string[] => (trace ?? []).map((t) => t.phase);

describeSandbox('the init made ahead', () => {
  afterEach(async () => {
    expect(await leftovers()).toEqual(NO_LEFTOVERS);
  });

  it('lives in the spare’s job cgroup, never in ours, before any job is known', async () => {
    await runJob({ command: ['true'] }); // leaves a spare
    const { launcher, init } = await spareWithInit();
    expect(cgroupsOf(init)).toMatch(/\/ringfence-[^/\n]+\/job-[^/\n]+$/m);
    expect(cgroupsOf(init)).not.toBe(cgroupsOf(process.pid));
    // v1: the launcher was moved into that cgroup before it made init; v2: it cloned init into it
    // (CLONE_INTO_CGROUP) and stayed where it was started, in ours
    if ((await Sandbox.get(null)).driver.version === 1) expect(cgroupsOf(launcher)).toBe(cgroupsOf(init));
    else expect(cgroupsOf(launcher)).toBe(cgroupsOf(process.pid));
    // its namespaces are already its own, not ours (init is pid 1 of a new PID namespace)
    for (const ns of ['pid', 'net', 'mnt', 'uts', 'ipc'])
      expect(fs.readlinkSync(`/proc/${init}/ns/${ns}`)).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
  });

  it('runs the next job with that job’s own config: argv, env, a read-only volume, hostname, namespaces', async () => {
    await runJob({ command: ['true'] });
    await spareWithInit();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-ahead-'));
    try {
      fs.writeFileSync(path.join(dir, 'seen'), 'from the host\n');
      const result = await runJob(
        {
          command: [
            'sh',
            '-c',
            'cat "$RF_DIR/seen"; echo "$RF_PROBE"; hostname; readlink /proc/self/ns/net; echo $$; touch "$RF_DIR/x" 2>/dev/null || echo ro',
          ],
          extraEnv: { RF_PROBE: 'kept', RF_DIR: dir },
          // (a volume's target must exist in the job's tree: the host's path, here)
          volumes: [`${dir}:${dir}:ro`],
          hostname: 'ahead-test',
        },
        { trace: true },
      );
      expect(result.status, result.stderr).toBe('passed');
      expect(phases(result.trace)).toContain('ahead');
      expect(phases(result.trace)).not.toContain('clone');
      const [seen, env, host, net, pid, ro] = result.stdout.trim().split('\n');
      expect(seen).toBe('from the host');
      expect(env).toBe('kept');
      expect(host).toBe('ahead-test');
      expect(net).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
      expect(pid).toBe('2'); // its init is pid 1 of a fresh PID namespace
      expect(ro).toBe('ro');
      expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a job that wants the host’s network gets a fresh init, and the one made ahead is ended', async () => {
    await runJob({ command: ['true'] });
    const { init } = await spareWithInit();
    const result = await runJob(
      { command: ['readlink', '/proc/self/ns/net'], network: 'host' },
      { trace: true, prepareNext: false },
    );
    expect(result.status, result.stderr).toBe('passed');
    expect(result.stdout.trim()).toBe(fs.readlinkSync('/proc/self/ns/net'));
    expect(phases(result.trace)).toContain('clone');
    expect(phases(result.trace)).not.toContain('ahead');
    // killed and reaped by its launcher before the job's own init was made
    expect(fs.existsSync(`/proc/${init}`)).toBe(false);
  });

  it('after two allow-list jobs the init made ahead has no network namespace of its own: it joins the next one’s, and a `none` job never takes it', async () => {
    const allow = { network: { allow: ['127.0.0.1:9'] } };
    const ours = fs.readlinkSync('/proc/self/ns/net');
    await runJob({ command: ['true'], ...allow });
    await runJob({ command: ['true'], ...allow });
    const { init } = await spareWithInit();
    // still in ours, where nothing of a job runs: it makes none it would leave unused
    expect(fs.readlinkSync(`/proc/${init}/ns/net`)).toBe(ours);
    expect(fs.readlinkSync(`/proc/${init}/ns/mnt`)).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
    const joined = await runJob({ command: ['readlink', '/proc/self/ns/net'], ...allow }, { trace: true });
    expect(joined.status, joined.stderr).toBe('passed');
    expect(phases(joined.trace)).toContain('ahead');
    expect(joined.stdout.trim()).not.toBe(ours); // the allow-list's namespace, joined before the job ran
    const { init: next } = await spareWithInit();
    expect(fs.readlinkSync(`/proc/${next}/ns/net`)).toBe(ours);
    // the launcher names the job's init (its `init` line), not the one it dropped: what services
    // read the namespace to share from
    let initNet = '';
    let printed = '';
    const out = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        printed += chunk.toString();
        done();
      },
    });
    const none = await runJob(
      { command: ['sh', '-c', 'readlink /proc/self/ns/net; exec sleep 30'] },
      {
        trace: true,
        prepareNext: false,
        stdout: out,
        onStart: (handle) =>
          void (async () => {
            const init = await handle.initPid();
            initNet = init === null ? '' : fs.readlinkSync(`/proc/${init}/ns/net`);
            // the job's own word on its namespace first, then it may go
            await vi.waitFor(() => expect(printed).toContain('\n'), { timeout: 10_000, interval: 2 });
            handle.abort();
          })(),
      },
    );
    expect(none.status, none.stderr).toBe('aborted');
    expect(phases(none.trace)).toContain('clone');
    expect(phases(none.trace)).not.toContain('ahead');
    expect(printed.trim()).toMatch(/^net:\[\d+\]$/);
    expect(printed.trim()).not.toBe(ours); // a network namespace of its own, as ever
    expect(initNet).toBe(printed.trim());
    expect(fs.existsSync(`/proc/${next}`)).toBe(false);
  });

  it('a mount made on the host after the init was made is seen by the job (the early init is dropped)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-ahead-mount-'));
    let mounted = false;
    try {
      await runJob({ command: ['true'] });
      await spareWithInit();
      // now, with the init's copy of the mount table taken: a tmpfs on the host, with a file in it
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'rf-ahead', dir], {
        encoding: 'utf8',
      });
      expect(mount.status, mount.stderr).toBe(0);
      mounted = true;
      fs.writeFileSync(path.join(dir, 'on-the-tmpfs'), 'yes\n');
      const result = await runJob(
        { command: ['cat', path.join(dir, 'on-the-tmpfs')], volumes: [`${dir}:${dir}:ro`] },
        { trace: true, prepareNext: false },
      );
      expect(result.status, result.stderr).toBe('passed');
      expect(result.stdout).toBe('yes\n');
      expect(phases(result.trace)).toContain('clone');
    } finally {
      if (mounted) spawnSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a spare given up on takes its init with it', async () => {
    await runJob({ command: ['true'] });
    const { launcher, init } = await spareWithInit();
    Sandbox.releaseSpares();
    expect(fs.existsSync(`/proc/${launcher}`)).toBe(false);
    // the launcher killed and reaped it before it exited on its closed gate
    expect(fs.existsSync(`/proc/${init}`)).toBe(false);
  });
});
