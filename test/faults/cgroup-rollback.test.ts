// Fault: creating a job's cgroup fails half-way — some hierarchies' directories made and caps written,
// then one step refused by the kernel. Whatever was made must be rolled back: no job cgroup left in
// any hierarchy, the job an `error` result naming the cap, and the next job unaffected. Three ways:
// through runJob (--cpuset-cpus naming a CPU the parent cpuset no longer has: EINVAL), and
// on the driver with a limit write the kernel refuses (EINVAL) and with a mkdir the kernel refuses
// (EEXIST: the directory is made in one hierarchy just before the driver gets there).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { detectCgroupHost } from '../../harness/cgroup/detect.js';
import { kernelDirOps, type DirOps } from '../../harness/cgroup/fsutil.js';
import {
  formatInstanceName,
  formatProcessInstanceName,
  ownInstanceId,
} from '../../harness/cgroup/instance.js';
import { CgroupError } from '../../harness/cgroup/types.js';
import { V1Driver } from '../../harness/cgroup/v1.js';
import { runJob } from '../../harness/run-job.js';
import { Sandbox } from '../../harness/launch/spares.js';
import { describeSandbox } from '../support/sandbox.js';
import { expectNoLeftovers, fault } from '../support/tally.js';
import { instanceDirs, instanceDirsOf } from './helpers.js';

const MiB = 1024 ** 2;

/** Job cgroups (directories) below this process's instance parents, in every hierarchy. */
function jobCgroups(spyThreadId?: number): string[] {
  const parents = spyThreadId === undefined ? instanceDirsOf(process.pid) : spyParents(spyThreadId);
  return parents.flatMap((dir) =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name)),
  );
}

/** The parent directories of spyDriver(spyThreadId), in every hierarchy. */
function spyParents(spyThreadId: number): string[] {
  const name = formatInstanceName({ ...ownInstanceId(), threadId: spyThreadId });
  return instanceDirs().filter((dir) => path.basename(dir) === name);
}

/**
 * A v1 driver of this process with a parent of its own (named as a thread no real thread has, so
 * the sandbox's own parent and jobs are never mixed in), recording its mkdir/rmdir calls.
 */
function spyDriver(
  threadId: number,
  beforeMkdir: (dir: string) => void = () => undefined,
): { driver: V1Driver; made: string[]; removed: string[] } {
  const host = detectCgroupHost();
  const made: string[] = [];
  const removed: string[] = [];
  const ops: DirOps = {
    mkdir: (dir) => {
      beforeMkdir(dir);
      kernelDirOps.mkdir(dir);
      made.push(dir);
    },
    rmdir: (dir) => {
      kernelDirOps.rmdir(dir);
      removed.push(dir);
    },
  };
  const driver = new V1Driver(
    {
      hierarchies: host.hierarchies.map((h) => ({
        controllers: h.controllers,
        mountPoint: h.mountPoint,
        basePath: h.ownPath,
      })),
      instanceName: formatInstanceName({ ...ownInstanceId(), threadId }),
    },
    ops,
  );
  return { driver, made, removed };
}

const isJobDir = (dir: string): boolean => /\/ringfence-\d+-\d+(-\d+)?\/job-[^/]+$/.test(dir);

describeSandbox('fault: cgroup creation fails half-way and is rolled back', () => {
  const host = detectCgroupHost();
  const v1 = host.version !== 'v2';

  it('through runJob: the kernel refuses --cpuset-cpus after six hierarchies were made and memory capped', async () => {
    const cpuset = host.hierarchies.find((h) => h.controllers.includes('cpuset'));
    if (!v1 || cpuset === undefined || os.cpus().length < 2) {
      expect(!v1 || cpuset === undefined || os.cpus().length < 2).toBe(true);
      fault('cgroup create fails half-way (runJob)', 'impossible', 'needs a v1 cpuset hierarchy and 2 CPUs');
      return;
    }
    // The cpuset parent of this thread's jobs loses CPU 0 (as when an admin narrows the parent, or a
    // CPU goes offline) before the first cpuset job: the driver finds it made and keeps its CPUs.
    expect((await runJob({ command: ['true'], memory: '64m' })).status).toBe('passed');
    const parent = path.join(cpuset.mountPoint, cpuset.ownPath, formatProcessInstanceName(ownInstanceId()));
    fs.mkdirSync(parent);
    fs.writeFileSync(path.join(parent, 'cpuset.cpus'), '1');
    fs.writeFileSync(
      path.join(parent, 'cpuset.mems'),
      fs.readFileSync(path.join(path.dirname(parent), 'cpuset.mems'), 'utf8').trim(),
    );
    const caps = { memory: '64m', pidsLimit: 32, cpusetCpus: '0' };
    for (const attempt of [1, 2]) {
      const result = await runJob({ command: ['true'], ...caps });
      expect(result.status, `attempt ${attempt}`).toBe('error');
      expect(result.error?.step).toBe('cgroup (--cpuset-cpus)');
      // v1 answers EACCES for a CPU outside the parent's; the fix names the parent's CPUs, not root
      expect(result.reason).toMatch(/cpuset\.cpus failed \((EACCES|EINVAL)\) — pass --cpuset-cpus within 1 /);
      await Sandbox.settle();
      expect(jobCgroups(), `attempt ${attempt}`).toEqual([]);
    }
    // the harness goes on: a CPU the parent has is given
    const after = await runJob({ command: ['true'], ...caps, cpusetCpus: '1' });
    expect(after.status, after.reason).toBe('passed');
    await Sandbox.settle();
    expect(jobCgroups()).toEqual([]);
    fault('cgroup create fails half-way (runJob, --cpuset-cpus refused)', 'survived');
  });

  it('the kernel refuses a limit write (cpu.cfs_quota_us below 1 ms): every hierarchy rolled back', () => {
    if (!v1) {
      expect(host.version).toBe('v2');
      fault('cgroup create: kernel refuses a limit', 'impossible', 'the v1 driver test needs cgroup v1');
      return;
    }
    const { driver, made, removed } = spyDriver(4242);
    try {
      // spec validation never lets 0.001 CPUs through; the driver is called directly to reach the kernel
      let thrown: unknown;
      try {
        driver.create({ memoryBytes: 64 * MiB, pidsLimit: 16, cpus: 0.001 });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CgroupError);
      expect((thrown as CgroupError).cap).toBe('--cpus');
      expect((thrown as CgroupError).message).toMatch(/cpu\.cfs_quota_us failed \(EINVAL\)/);
      const jobs = made.filter(isJobDir);
      // half-way: memory, cpuacct, pids, freezer, blkio and cpu were made (memory capped) first
      expect(jobs.length).toBeGreaterThanOrEqual(5);
      expect([...removed].sort()).toEqual([...jobs].sort());
      expect(jobCgroups(4242)).toEqual([]);
    } finally {
      driver.dispose();
    }
    expect(instanceDirsOf(process.pid, 4242)).toEqual([]);
    fault('cgroup create: kernel refuses a limit write half-way', 'survived');
  });

  it('the kernel refuses one hierarchy’s mkdir (EEXIST): the others rolled back, the foreign dir kept', () => {
    if (!v1) {
      expect(host.version).toBe('v2');
      fault('cgroup create: one mkdir refused', 'impossible', 'cgroup v2 makes one directory per job');
      return;
    }
    const pids = host.hierarchies.find((h) => h.controllers.includes('pids'));
    expect(pids).toBeDefined();
    const pidsBase = path.join(pids!.mountPoint, pids!.ownPath);
    let planted: string | null = null;
    const { driver, made, removed } = spyDriver(4243, (dir) => {
      // on the first job mkdir, take that job's name in the pids hierarchy first
      if (planted === null && isJobDir(dir)) {
        planted = path.join(pidsBase, path.basename(path.dirname(dir)), path.basename(dir));
        fs.mkdirSync(planted);
      }
    });
    try {
      let thrown: unknown;
      try {
        driver.create({ memoryBytes: 64 * MiB, pidsLimit: 16 });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CgroupError);
      expect((thrown as Error).message).toMatch(/cannot create cgroup .*\/job-[^ ]+ \(EEXIST\)/);
      const jobs = made.filter(isJobDir);
      expect(jobs.length).toBeGreaterThanOrEqual(1); // memory (and cpuacct) before pids
      expect([...removed].sort()).toEqual([...jobs].sort());
      // the rollback removed only what it made: the planted directory is someone else's
      expect(planted).not.toBeNull();
      expect(fs.existsSync(planted!)).toBe(true);
      expect(jobCgroups(4243)).toEqual([planted]);
    } finally {
      if (planted !== null) fs.rmdirSync(planted);
      driver.dispose();
    }
    expect(spyParents(4243)).toEqual([]);
    fault('cgroup create: one hierarchy mkdir refused half-way', 'survived');
  });

  it('leaves nothing behind', async () => {
    Sandbox.disposeAll();
    await expectNoLeftovers({ strict: true });
  });
});
