// Attack: the job writes to the cgroup filesystem to move itself out of its cgroup or to lift its own
// caps (memory.limit_in_bytes, pids.max). A job that can do either has no caps at all. The host's
// hierarchies must be out of reach (a fresh, read-only /sys with nothing under /sys/fs/cgroup), and
// the job must not be able to mount one: not directly (no CAP_SYS_ADMIN) and not from a user and
// cgroup namespace of its own, where a host-root job would own its cgroup's limit files. Before
// native/launcher/seccomp.c that last path worked: `unshare -U -r -m -C`, mount the v1 memory
// hierarchy, `echo -1 > memory.limit_in_bytes`, and a 64m job touched 200 MiB.
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import type { JobSpecInput } from '../../harness/job/spec.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL } from './helpers.js';

const MiB = 1024 * 1024;
const ATTEMPTS = [
  'join-root-memory',
  'join-root-unified',
  'mkdir-in-sysfs',
  'remount-sys-rw',
  'mount-cgroup-memory',
  'mount-cgroup2',
  'userns-lift-memory',
  'userns-lift-pids',
  'userns-leave-cgroup',
];

/** "LABEL ok" / "LABEL failed: why" lines → LABEL → "ok" or the why. */
function attempts(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of stdout.matchAll(/^([\w-]+) (ok|failed: .*)$/gm)) out[match[1]!] = match[2]!;
  return out;
}

function escape(mode: 'memory' | 'pids', extra: Partial<JobSpecInput> = {}): ReturnType<typeof runJob> {
  return runJob({
    command: ['sh', path.join(ADVERSARIAL, 'cgroup-escape.sh'), mode],
    memory: '64m',
    pidsLimit: 32,
    timeout: '15s',
    ...extra,
  });
}

function expectAllRefused(stdout: string): void {
  expect(stdout).toContain('sysfs-cgroup-entries: 0\n');
  const seen = attempts(stdout);
  expect(Object.keys(seen).sort()).toEqual([...ATTEMPTS].sort());
  for (const label of ATTEMPTS) expect(seen[label], label).toMatch(/^failed: /);
  // the user-namespace route ends at unshare, refused by the launcher's seccomp filter
  for (const label of ATTEMPTS.filter((l) => l.startsWith('userns-')))
    expect(seen[label], label).toMatch(/unshare failed: Operation not permitted/);
}

describeSandbox('adversarial: writing to /sys/fs/cgroup to leave the cgroup or lift its caps', () => {
  it('memory: every route to the cgroup files is refused, and the job is OOM-killed at its cap', async () => {
    const result = await escape('memory');
    expectAllRefused(result.stdout);
    // still in its own job cgroup (no cgroup namespace: the full path shows)
    expect(result.stdout).toMatch(/^memory-cgroup: \d+:memory:\/.*\/ringfence-[\d-]+\/job-[\w-]+$/m);
    expect(result.status, result.reason).toBe('oom');
    expect(result.memory.oomKills).toBeGreaterThanOrEqual(1);
    expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * MiB);
    attack('cgroup: lift memory cap', 'contained');
    await expectNoLeftovers();
  });

  it('pids: after the same attempts the job still cannot start more than 32 tasks', async () => {
    const result = await escape('pids');
    expectAllRefused(result.stdout);
    const forked = [...result.stdout.matchAll(/^forked (\d+)$/gm)].map((m) => Number(m[1]));
    expect(forked.length).toBeGreaterThan(0);
    expect(Math.max(...forked)).toBeLessThan(40);
    expect(result.stderr).toMatch(/Cannot fork/);
    expect(result.pids.peak).toBeLessThanOrEqual(32);
    attack('cgroup: lift pids cap', 'contained');
    await expectNoLeftovers();
  });

  it("--network host --cgroupns: the host's sysfs stays out of reach, the job stays capped", async () => {
    // --network host hands the launcher the host's sysfs superblock; --cgroupns is a cgroup namespace
    // the job did not have to make itself (owned by the host's user namespace: still no mount)
    const result = await escape('memory', { network: 'host', cgroupns: true });
    expectAllRefused(result.stdout);
    expect(result.stdout).toMatch(/^memory-cgroup: \d+:memory:\/$/m); // its namespace's root: its own cgroup
    expect(result.status, result.reason).toBe('oom');
    expect(result.memory.peakBytes).toBeLessThanOrEqual(64 * MiB);
    attack('cgroup: escape with --network host --cgroupns', 'contained');
    await expectNoLeftovers();
  });
});
