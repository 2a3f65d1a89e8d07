// The v2 driver on a fake cgroup2 tree in a tmp dir (the development machines run v1): a small
// "kernel" fills each new directory with the interface files its parent's subtree_control enables,
// copying captured contents from test/fixtures/cgroup-v2/job, refuses rmdir while busy, and a 1 ms
// tick plays cgroup.events, cgroup.kill and process exit. Checked: what the driver writes, what it
// parses, the delegation error. A last suite runs on a real v2 host (the device) only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CGROUP2_SUPER_MAGIC, parseProcSelfCgroup } from '../../harness/cgroup/detect.js';
import type { DirOps } from '../../harness/cgroup/fsutil.js';
import { openPlacedDriver } from '../../harness/cgroup/index.js';
import { openTestDriver } from '../support/driver.js';
import { formatInstanceName, ownInstanceId, parseInstanceName } from '../../harness/cgroup/instance.js';
import {
  cpuWeightFromShares,
  ioWeightFromBlkioWeight,
  isFrozenEvents,
  parseFlatKeyed,
  refusedForks,
  parseLimit,
  parseNameList,
  parseNestedKeyed,
  parsePids,
  parseProcStatStartTime,
  sumBlkioServiceBytes,
  sumIoStat,
} from '../../harness/cgroup/parse.js';
import { CgroupError, type CgroupDriver, type JobCgroup } from '../../harness/cgroup/types.js';
import { V2Driver } from '../../harness/cgroup/v2.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/cgroup-v2');
const captured = (name: string): string => fs.readFileSync(path.join(FIXTURES, 'job', name), 'utf8');
const MiB = 1024 * 1024;

function errno(code: string): Error {
  return Object.assign(new Error(`${code} (fake cgroup2)`), { code });
}

function pidGone(pid: number): boolean {
  try {
    return /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** A cgroup2 tree in a tmp dir that behaves enough like the kernel for the driver. */
class FakeCgroup2 {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-fake-cgroup2-'));
  /** rmdir answers EBUSY this many more times for a directory. */
  readonly busy = new Map<string, number>();
  /** Interface files the next directories do not get (a kernel without them). */
  readonly omit = new Set<string>();
  readonly rmdirCalls: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  readonly ops: DirOps = {
    mkdir: (dir) => this.mkdir(dir),
    rmdir: (dir) => this.rmdir(dir),
  };

  constructor() {
    const w = (name: string, text: string): void => fs.writeFileSync(path.join(this.root, name), text);
    // the root cgroup: no cgroup.freeze/kill/events/memory.peak (the kernel has none there)
    w('cgroup.controllers', fs.readFileSync(path.join(FIXTURES, 'host/cgroup.controllers'), 'utf8'));
    w('cgroup.subtree_control', '\n');
    w('cgroup.procs', '1\n');
    w('cpu.stat', captured('cpu.stat'));
  }

  /** A cgroup as someone else set it up: `subtree` enabled for its children, `procs` inside. */
  cgroup(rel: string, options: { subtree?: string; procs?: number[] } = {}): string {
    const dir = path.join(this.root, rel);
    this.mkdir(dir);
    if (options.subtree !== undefined) this.write(rel, 'cgroup.subtree_control', `${options.subtree}\n`);
    if (options.procs !== undefined)
      this.write(rel, 'cgroup.procs', options.procs.map((p) => `${p}\n`).join(''));
    return dir;
  }

  write(rel: string, file: string, text: string): void {
    fs.writeFileSync(path.join(this.root, rel, file), text);
  }

  read(dir: string, file: string): string {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  }

  private mkdir(dir: string): void {
    fs.mkdirSync(dir); // EEXIST as the kernel
    const enabled = new Set(
      parseNameList(fs.readFileSync(path.join(path.dirname(dir), 'cgroup.subtree_control'), 'utf8')),
    );
    const files: Record<string, string> = {
      'cgroup.controllers': `${[...enabled].join(' ')}\n`,
      'cgroup.subtree_control': '\n',
      'cgroup.procs': '',
      'cgroup.events': 'populated 0\nfrozen 0\n',
      'cgroup.freeze': '0\n',
      'cgroup.kill': '',
      'cgroup.type': 'domain\n',
      'cpu.stat': captured('cpu.stat'),
      'cpu.pressure': captured('cpu.pressure'),
      'memory.pressure': captured('memory.pressure'),
      'io.pressure': captured('io.pressure'),
    };
    if (enabled.has('memory')) {
      Object.assign(files, {
        'memory.max': 'max\n',
        'memory.swap.max': 'max\n',
        'memory.current': '0\n',
        'memory.peak': captured('memory.peak'),
        'memory.events': captured('memory.events'),
      });
    }
    if (enabled.has('cpu')) Object.assign(files, { 'cpu.max': 'max 100000\n', 'cpu.weight': '100\n' });
    if (enabled.has('pids')) {
      Object.assign(files, {
        'pids.max': 'max\n',
        'pids.current': '0\n',
        'pids.peak': captured('pids.peak'),
        'pids.events': 'max 0\n', // as a fresh cgroup's reads
      });
    }
    if (enabled.has('io'))
      Object.assign(files, { 'io.stat': captured('io.stat'), 'io.weight': 'default 100\n' });
    if (enabled.has('cpuset')) {
      Object.assign(files, { 'cpuset.cpus': '\n', 'cpuset.cpus.effective': '0-15\n', 'cpuset.mems': '\n' });
    }
    for (const [name, text] of Object.entries(files)) {
      if (!this.omit.has(name)) fs.writeFileSync(path.join(dir, name), text);
    }
  }

  private rmdir(dir: string): void {
    this.rmdirCalls.push(dir);
    if (!fs.existsSync(dir)) throw errno('ENOENT');
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.isDirectory())) throw errno('EBUSY');
    if (parsePids(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')).length > 0) throw errno('EBUSY');
    const busy = this.busy.get(dir) ?? 0;
    if (busy > 0) {
      this.busy.set(dir, busy - 1);
      throw errno('EBUSY');
    }
    fs.rmSync(dir, { recursive: true });
  }

  /** The kernel's side, every 1 ms: exits leave cgroup.procs, cgroup.kill kills, cgroup.events follows. */
  start(): void {
    this.timer = setInterval(() => this.tick(this.root), 1);
  }

  private tick(dir: string): void {
    try {
      this.tickOne(dir);
    } catch (err) {
      // a directory the driver removed between readdir and read: the next tick sees the new state
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
  }

  private tickOne(dir: string): void {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) this.tick(path.join(dir, e.name));
    }
    if (dir === this.root) return;
    const file = (name: string): string => path.join(dir, name);
    if (!fs.existsSync(file('cgroup.events'))) return;
    let pids = parsePids(fs.readFileSync(file('cgroup.procs'), 'utf8'));
    if (fs.readFileSync(file('cgroup.kill'), 'utf8').trim() === '1') {
      for (const pid of pids.filter((p) => !pidGone(p))) process.kill(pid, 'SIGKILL');
      fs.writeFileSync(file('cgroup.kill'), '');
    }
    pids = pids.filter((pid) => !pidGone(pid));
    fs.writeFileSync(file('cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
    const frozen = fs.readFileSync(file('cgroup.freeze'), 'utf8').trim() === '1' ? 1 : 0;
    fs.writeFileSync(file('cgroup.events'), `populated ${pids.length > 0 ? 1 : 0}\nfrozen ${frozen}\n`);
  }

  close(): void {
    clearInterval(this.timer);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

describe('cgroup file parsers', () => {
  it("pids.events: forks refused at the cap, in the v1/6.1 form and with 6.14's max.imposed; null without the file", () => {
    expect(refusedForks('max 17\n')).toBe(17);
    expect(refusedForks('max 3\nmax.imposed 5\n')).toBe(3);
    expect(refusedForks('max 0\n')).toBe(0);
    expect(refusedForks(null)).toBeNull();
  });

  it('reads cpu.stat and memory.events (flat keyed)', () => {
    const cpu = parseFlatKeyed(captured('cpu.stat'));
    expect(cpu.get('usage_usec')).toBe(1843211);
    expect(cpu.get('user_usec')).toBe(1520443);
    expect(cpu.get('system_usec')).toBe(322768);
    const events = parseFlatKeyed(captured('memory.events'));
    expect(events.get('max')).toBe(27);
    expect(events.get('oom_kill')).toBe(1);
    expect(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n').get('oom_kill')).toBe(3);
  });

  it('sums io.stat over devices (nested keyed)', () => {
    expect(parseNestedKeyed(captured('io.stat')).get('8:0')?.get('wbytes')).toBe(1052672);
    expect(sumIoStat(captured('io.stat'))).toEqual({
      readBytes: 1458176 + 4096,
      writeBytes: 32768 + 1052672,
    });
    expect(sumIoStat('')).toEqual({ readBytes: 0, writeBytes: 0 });
  });

  it('sums v1 blkio service bytes, Read and Write only', () => {
    const text = `8:0 Read 4096
8:0 Write 8192
8:0 Sync 12288
8:0 Async 0
8:0 Discard 0
8:0 Total 12288
259:0 Read 100
259:0 Write 0
259:0 Total 100
Total 12388
`;
    expect(sumBlkioServiceBytes(text)).toEqual({ readBytes: 4196, writeBytes: 8192 });
    expect(sumBlkioServiceBytes('Total 0\n')).toEqual({ readBytes: 0, writeBytes: 0 });
  });

  it('reads limits, pids, events and /proc/<pid>/stat', () => {
    expect(parseLimit('max\n')).toBeNull();
    expect(parseLimit('9223372036854771712\n')).toBeNull();
    expect(parseLimit('67108864\n')).toBe(64 * MiB);
    expect(parsePids('12\n345\n\n')).toEqual([12, 345]);
    expect(parseNameList('+memory +cpu pids\n')).toEqual(['memory', 'cpu', 'pids']);
    expect(isFrozenEvents('populated 1\nfrozen 1\n')).toBe(true);
    expect(isFrozenEvents('populated 1\nfrozen 0\n')).toBe(false);
    // a comm with spaces and parentheses must not shift the fields
    const stat =
      '4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 987654 8192000 300';
    expect(parseProcStatStartTime(stat)).toBe('987654');
    expect(parseProcStatStartTime(fs.readFileSync('/proc/self/stat', 'utf8'))).toMatch(/^\d+$/);
  });

  it('converts shares and blkio weights as runc does', () => {
    expect(cpuWeightFromShares(2)).toBe(1);
    expect(cpuWeightFromShares(512)).toBe(20);
    expect(cpuWeightFromShares(1024)).toBe(39);
    expect(cpuWeightFromShares(262144)).toBe(10000);
    expect(ioWeightFromBlkioWeight(10)).toBe(1);
    expect(ioWeightFromBlkioWeight(200)).toBe(1920);
    expect(ioWeightFromBlkioWeight(1000)).toBe(10000);
  });

  it('names instances with pid, starttime and thread', () => {
    const own = ownInstanceId();
    const name = formatInstanceName(own);
    expect(name).toMatch(/^ringfence-\d+-\d+-\d+$/);
    expect(parseInstanceName(name)).toEqual(own);
    expect(parseInstanceName('ringfence-12-x-0')).toBeNull();
  });
});

describe('cgroup v2 driver on a fake tree', () => {
  let fake: FakeCgroup2;
  const children: ChildProcess[] = [];
  const own = '/process_api/5f0c2a9e1b7d4c38a6e2f1d0c9b8a7e6';
  const instanceName = formatInstanceName(ownInstanceId());

  beforeEach(() => {
    fake = new FakeCgroup2();
    // the device's layout: the root delegates only memory to /process_api, whose child holds the harness
    fake.write('.', 'cgroup.subtree_control', 'cpuset cpu io memory hugetlb pids\n');
    fake.cgroup('/process_api', { subtree: 'memory' });
    fake.cgroup(own, { procs: [process.pid, 4242] });
    fake.cgroup('/ringfence-device', { subtree: 'cpuset cpu io memory hugetlb pids' });
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    fake.close();
  });

  const delegated = (): V2Driver =>
    new V2Driver({
      mountRoot: fake.root,
      basePath: '/ringfence-device',
      instanceName,
      explicitParent: true,
      dirOps: fake.ops,
    });

  it('enables the controllers in the instance parent and writes every cap', async () => {
    const driver = delegated();
    expect([...driver.controllers].sort()).toEqual(['cpu', 'cpuset', 'io', 'memory', 'pids']);
    const job = driver.create({
      memoryBytes: 64 * MiB,
      cpus: 0.5,
      cpuShares: 512,
      cpusetCpus: '0',
      pidsLimit: 16,
      blkioWeight: 200,
    });
    const instance = path.join(fake.root, 'ringfence-device', instanceName);
    expect(driver.instancePaths).toEqual([instance]);
    expect(fake.read(instance, 'cgroup.subtree_control')).toBe('+memory +cpu +pids +cpuset +io');
    const [dir] = job.paths;
    expect(dir).toBe(path.join(instance, job.name));
    expect(job.name).toMatch(/^job-\d+-\d+-[0-9a-f]{6}$/);
    const d = dir ?? '';
    expect(fake.read(d, 'memory.max')).toBe(String(64 * MiB));
    expect(fake.read(d, 'memory.swap.max')).toBe('0');
    expect(fake.read(d, 'cpu.max')).toBe('50000 100000');
    expect(fake.read(d, 'cpu.weight')).toBe('20');
    expect(fake.read(d, 'cpuset.cpus')).toBe('0');
    expect(fake.read(d, 'pids.max')).toBe('16');
    expect(fake.read(d, 'io.weight')).toBe('1920');
    await job.destroy();
    expect(fs.existsSync(d)).toBe(false);
    driver.dispose();
    expect(fs.existsSync(instance)).toBe(false);
    driver.dispose(); // idempotent
  });

  it('prefers io.bfq.weight (same range as v1) when BFQ is there', () => {
    // a kernel with BFQ as the disk's scheduler shows io.bfq.weight beside io.weight
    const driver = new V2Driver({
      mountRoot: fake.root,
      basePath: '/ringfence-device',
      instanceName,
      explicitParent: true,
      dirOps: {
        mkdir: (dir) => {
          fake.ops.mkdir(dir);
          fs.writeFileSync(path.join(dir, 'io.bfq.weight'), 'default 100\n');
        },
        rmdir: (dir) => fake.ops.rmdir(dir),
      },
    });
    const job = driver.create({ blkioWeight: 300 });
    expect(fake.read(job.paths[0] ?? '', 'io.bfq.weight')).toBe('300');
    expect(fake.read(job.paths[0] ?? '', 'io.weight')).toBe('default 100');
  });

  it('swap: off by default, "max" for -1, the swap part of a total', () => {
    const driver = delegated();
    const unlimited = driver.create({ memoryBytes: 64 * MiB, memorySwapBytes: -1 });
    expect(fake.read(unlimited.paths[0] ?? '', 'memory.swap.max')).toBe('max');
    const total = driver.create({ memoryBytes: 64 * MiB, memorySwapBytes: 96 * MiB });
    expect(fake.read(total.paths[0] ?? '', 'memory.swap.max')).toBe(String(32 * MiB));
    const noSwapCap = driver.create({ cpus: 2 });
    expect(fake.read(noSwapCap.paths[0] ?? '', 'memory.max')).toBe('max');
    expect(fake.read(noSwapCap.paths[0] ?? '', 'cpu.max')).toBe('200000 100000');
  });

  it('refuses a cap whose controller is not delegated, naming the cap, the reason and the fix', () => {
    const driver = new V2Driver({ mountRoot: fake.root, basePath: own, instanceName, dirOps: fake.ops });
    expect([...driver.controllers]).toEqual([]);
    let error: unknown;
    try {
      driver.create({ cpus: 1 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CgroupError);
    const e = error as CgroupError;
    expect(e.cap).toBe('--cpus');
    expect(e.message).toContain(
      `the cpu controller is not delegated to ${own} (its parent's subtree_control has only memory)`,
    );
    expect(e.fix).toBe(
      'pass --cgroup-parent <a delegated cgroup> or RINGFENCE_CGROUP_PARENT, or run under a systemd scope with Delegate=yes',
    );
    // nothing was made for the refused job
    expect(fs.existsSync(path.join(fake.root, own, instanceName))).toBe(false);

    // memory reaches the own cgroup, but the harness sits in it: v2 forbids enabling it for children
    expect(() => driver.create({ memoryBytes: 64 * MiB })).toThrow(/--memory .*holds processes/);
    // and the own cgroup's subtree_control is left as it was
    expect(fake.read(path.join(fake.root, own), 'cgroup.subtree_control')).toBe('');
  });

  it('still runs a job without caps where nothing is delegated (freeze and kill are core files)', async () => {
    const driver = new V2Driver({ mountRoot: fake.root, basePath: own, instanceName, dirOps: fake.ops });
    const job = driver.create({});
    expect(fake.read(path.join(fake.root, own, instanceName), 'cgroup.subtree_control')).toBe('');
    const stats = job.stats();
    expect(stats.memory.peakBytes).toBeNull();
    expect(stats.pids).toEqual({ peak: null, limit: null, refused: null });
    expect(stats.io).toBeNull();
    await job.destroy();
    driver.dispose();
    expect(fs.readdirSync(path.join(fake.root, own)).filter((n) => n.startsWith('ringfence-'))).toEqual([]);
  });

  it('a root-level base names the missing kernel controller', () => {
    fake.write('.', 'cgroup.controllers', 'cpuset cpu io memory pids\n');
    const driver = new V2Driver({ mountRoot: fake.root, basePath: '/', instanceName, dirOps: fake.ops });
    expect(() => driver.create({ blkioWeight: 100, cpus: 1 })).not.toThrow();
    fake.write('.', 'cgroup.subtree_control', 'memory\n');
    fake.write('.', 'cgroup.controllers', 'memory\n');
    const other = new V2Driver({
      mountRoot: fake.root,
      basePath: '/',
      instanceName: `${instanceName}1`,
      dirOps: fake.ops,
    });
    expect(() => other.create({ pidsLimit: 5 })).toThrow(
      /--pids-limit cannot be enforced: this kernel offers no pids controller/,
    );
  });

  it('rolls back a job whose caps fail half-way', () => {
    const driver = delegated();
    driver.create({}); // the instance parent exists from here on
    const instance = driver.instancePaths[0] ?? '';
    const before = fs.readdirSync(instance).filter((n) => n.startsWith('job-'));
    fake.omit.add('io.weight');
    let error: unknown;
    try {
      driver.create({ memoryBytes: 64 * MiB, pidsLimit: 10, blkioWeight: 500 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CgroupError);
    expect((error as CgroupError).cap).toBe('--blkio-weight');
    expect((error as CgroupError).fix).toMatch(/bfq/);
    expect(fs.readdirSync(instance).filter((n) => n.startsWith('job-'))).toEqual(before);
  });

  it('parses stats from the captured files', () => {
    const job = delegated().create({ memoryBytes: 64 * MiB, pidsLimit: 16 });
    expect(job.stats()).toEqual({
      cpu: { totalNs: 1843211000, userNs: 1520443000, systemNs: 322768000 },
      memory: { peakBytes: 67104768, failcnt: 27, oomKills: 1, limitBytes: 64 * MiB },
      pids: { peak: 9, limit: 16, refused: 0 },
      io: { readBytes: 1462272, writeBytes: 1085440 },
      pressure: {
        cpu: { someUs: 88201, fullUs: 61544 },
        memory: { someUs: 1203377, fullUs: 1170954 },
        io: { someUs: 52806, fullUs: 52770 },
      },
    });
    expect(job.cpuUsageNs()).toBe(1843211000);
    expect(job.oomKills()).toBe(1);
    expect(job.tasksCurrent()).toBe(0);
  });

  it('freezes, hands the snapshot over, kills, thaws, and uses cgroup.kill as the second layer', async () => {
    fake.start();
    const job = delegated().create({});
    const dir = job.paths[0] ?? '';
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(sleeper);
    const exited = new Promise<NodeJS.Signals | null>((r) => sleeper.once('exit', (_c, s) => r(s)));
    job.addProcess(sleeper.pid ?? 0);
    expect(job.procs()).toEqual([sleeper.pid]);
    let inHook = { pids: [] as readonly number[], freeze: '', events: '' };
    await job.killAll({
      onFrozen: (pids) => {
        inHook = { pids, freeze: fake.read(dir, 'cgroup.freeze'), events: fake.read(dir, 'cgroup.events') };
      },
    });
    expect(inHook.pids).toEqual([sleeper.pid]);
    expect(inHook.freeze).toBe('1');
    expect(isFrozenEvents(inHook.events)).toBe(true);
    expect(fake.read(dir, 'cgroup.freeze')).toBe('0');
    expect(await exited).toBe('SIGKILL');
    await job.waitEmpty(2000);
    await job.destroy();
  });

  it('spares the pids it is told to, without cgroup.kill', async () => {
    fake.start();
    const job = delegated().create({});
    const dir = job.paths[0] ?? '';
    const keep = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(keep);
    job.addProcess(keep.pid ?? 0);
    await job.killAll({ spare: [keep.pid ?? 0] });
    expect(fake.read(dir, 'cgroup.kill')).toBe('');
    expect(fake.read(dir, 'cgroup.freeze')).toBe('0');
    expect(pidGone(keep.pid ?? 0)).toBe(false);
    await expect(job.waitEmpty(20)).rejects.toThrow(CgroupError);
    keep.kill('SIGKILL');
    await job.waitEmpty(2000);
    await job.destroy();
  });

  it('retries rmdir on EBUSY with a backoff', async () => {
    const job = delegated().create({});
    const dir = job.paths[0] ?? '';
    fake.busy.set(dir, 3);
    await job.destroy();
    expect(fs.existsSync(dir)).toBe(false);
    expect(fake.rmdirCalls.filter((d) => d === dir)).toHaveLength(4);
  });

  it('sweeps parents of dead owners, killing their processes, and leaves live owners alone', async () => {
    fake.start();
    const driver = delegated();
    const base = path.join(fake.root, 'ringfence-device');
    const dead = spawnSync('true').pid ?? 0;
    const staleName = `ringfence-${dead}-1-0`;
    const aliveName = formatInstanceName({ ...ownInstanceId(), threadId: 77 });
    fake.cgroup(`/ringfence-device/${staleName}`);
    fake.cgroup(`/ringfence-device/${staleName}/job-3-abcdef`);
    fake.cgroup(`/ringfence-device/${aliveName}`);
    fake.cgroup('/ringfence-device/not-ours');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(sleeper);
    const exited = new Promise<NodeJS.Signals | null>((r) => sleeper.once('exit', (_c, s) => r(s)));
    fake.write(`/ringfence-device/${staleName}/job-3-abcdef`, 'cgroup.procs', `${sleeper.pid}\n`);

    const report = await driver.sweepStale();
    expect(report).toEqual({ removed: [path.join(base, staleName)], killedPids: [sleeper.pid] });
    expect(await exited).toBe('SIGKILL');
    expect(fs.existsSync(path.join(base, staleName))).toBe(false);
    expect(fs.existsSync(path.join(base, aliveName))).toBe(true);
    expect(fs.existsSync(path.join(base, 'not-ours'))).toBe(true);
  });
});

// The real thing, where the host is cgroup v2 (the device machine; see ../shared/device/README.md).
const realV2 = fs.statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC && process.getuid?.() === 0;

describe.runIf(realV2)('cgroup v2 driver on the real kernel', () => {
  let driver: CgroupDriver | undefined;
  const children: ChildProcess[] = [];

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    driver?.dispose();
    driver = undefined;
  });

  it.runIf(process.env.RINGFENCE_CGROUP_PARENT !== undefined)(
    'creates, limits, freezes, kills, counts and removes a job under the delegated parent',
    async () => {
      driver = await openTestDriver();
      const job = driver.create({
        memoryBytes: 64 * MiB,
        cpus: 0.5,
        cpuShares: 512,
        pidsLimit: 16,
        cpusetCpus: '0',
      });
      const dir = job.paths[0] ?? '';
      const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8').trim();
      expect(read('memory.max')).toBe(String(64 * MiB));
      expect(read('cpu.max')).toBe('50000 100000');
      expect(read('cpu.weight')).toBe('20');
      expect(read('pids.max')).toBe('16');
      expect(read('cpuset.cpus')).toBe('0');
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) expect(read('memory.swap.max')).toBe('0');
      const child = spawn('sh', ['-c', 'read _ && exec sleep 30'], { stdio: ['pipe', 'ignore', 'ignore'] });
      children.push(child);
      const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
      job.addProcess(child.pid ?? 0);
      child.stdin?.end('\n');
      expect(job.procs()).toEqual([child.pid]);
      let frozen = false;
      await job.killAll({ onFrozen: () => void (frozen = isFrozenEvents(read('cgroup.events'))) });
      expect(frozen).toBe(true);
      expect(await exited).toBe('SIGKILL');
      await job.waitEmpty(5000);
      const stats = job.stats();
      expect(stats.memory.peakBytes).toBeGreaterThan(0);
      expect(stats.pids.limit).toBe(16);
      await job.destroy();
      expect(fs.existsSync(dir)).toBe(false);
    },
  );

  it('without --cgroup-parent, placement gives jobs every controller the host delegates', async () => {
    const saved = process.env.RINGFENCE_CGROUP_PARENT;
    delete process.env.RINGFENCE_CGROUP_PARENT;
    try {
      const { placement, driver: placed } = await openPlacedDriver();
      expect(['systemd-scope', 'leaf', 'own']).toContain(placement.kind);
      driver = placed ?? undefined;
      const job = driver?.create({ pidsLimit: 8, memoryBytes: 64 * MiB });
      expect(fs.readFileSync(path.join(job?.paths[0] ?? '', 'pids.max'), 'utf8').trim()).toBe('8');
      await job?.destroy();
    } finally {
      if (saved !== undefined) process.env.RINGFENCE_CGROUP_PARENT = saved;
    }
  });
});

// The v2 kill path on the real kernel where the host is hybrid (the development machines): the
// cgroup2 mount at /sys/fs/cgroup/unified carries no controllers, but cgroup.freeze, cgroup.kill and
// cgroup.events are core files, so freeze → snapshot → kill → thaw runs as it does on a v2 host.
const UNIFIED = '/sys/fs/cgroup/unified';
const hybridV2 =
  !realV2 &&
  process.getuid?.() === 0 &&
  fs.existsSync(UNIFIED) &&
  fs.statfsSync(UNIFIED).type === CGROUP2_SUPER_MAGIC;

describe.runIf(hybridV2)("the v2 kill path on a hybrid host's cgroup2 mount", () => {
  let driver: V2Driver | undefined;
  const jobs: JobCgroup[] = [];
  const children: ChildProcess[] = [];

  afterEach(async () => {
    // a failed test's job may still hold its shell's sleeps, or a child cgroup's sleep that procs()
    // does not list: every process goes first
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const job of jobs.splice(0)) {
      job.killAllSync(5000);
      await job.destroy();
    }
    driver?.dispose();
    driver = undefined;
  });

  const open = (): JobCgroup => {
    const own = parseProcSelfCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8')).find(
      (e) => e.hierarchyId === 0,
    );
    driver = new V2Driver({
      mountRoot: UNIFIED,
      basePath: own?.path ?? '/',
      instanceName: formatInstanceName(ownInstanceId()),
    });
    const job = driver.create({});
    jobs.push(job);
    return job;
  };

  /** A shell in `job` that, once it has joined, starts `sleeps` sleeps; resolves when all are listed. */
  const tree = async (job: JobCgroup, sleeps: number): Promise<ChildProcess> => {
    const before = job.procs().length;
    const script = `read _; for i in $(seq ${sleeps}); do sleep 60 & done; wait`;
    const sh = spawn('sh', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(sh);
    job.addProcess(sh.pid ?? 0);
    sh.stdin?.end('\n');
    await expect.poll(() => job.procs().length, { timeout: 5000 }).toBe(before + sleeps + 1);
    return sh;
  };

  it('freezes the whole tree for the snapshot, kills it, thaws, and the cgroup empties', async () => {
    const job = open();
    const dir = job.paths[0] ?? '';
    const sh = await tree(job, 5);
    const listed = job.procs().sort();
    let hook = { pids: [] as number[], frozen: false };
    await job.killAll({
      onFrozen: (pids) => {
        hook = {
          pids: [...pids].sort(),
          frozen: isFrozenEvents(fs.readFileSync(path.join(dir, 'cgroup.events'), 'utf8')),
        };
      },
    });
    expect(hook).toEqual({ pids: listed, frozen: true });
    expect(fs.readFileSync(path.join(dir, 'cgroup.freeze'), 'utf8').trim()).toBe('0');
    await job.waitEmpty(5000);
    expect(sh.signalCode ?? (await new Promise((r) => sh.once('exit', (_c, s) => r(s))))).toBe('SIGKILL');
    expect(listed.filter((pid) => !pidGone(pid))).toEqual([]);
    await job.destroy();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('spares the pid it is told to, which runs on after the thaw, and kills the rest', async () => {
    const job = open();
    const keep = spawn('sh', ['-c', 'read _; read _; echo thawed'], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(keep);
    job.addProcess(keep.pid ?? 0);
    keep.stdin?.write('\n');
    const victims = await tree(job, 3).then(() => job.procs().filter((pid) => pid !== keep.pid));
    expect(victims).toHaveLength(4);
    await job.killAll({ spare: [keep.pid ?? 0] });
    await expect.poll(() => victims.filter((pid) => !pidGone(pid)), { timeout: 5000 }).toEqual([]);
    const said = new Promise<string>((r) => keep.stdout?.once('data', (d: Buffer) => r(d.toString().trim())));
    keep.stdin?.end('\n');
    expect(await said).toBe('thawed');
    await job.waitEmpty(5000);
    await job.destroy();
  });

  it('reaches a process in a child cgroup the job made, which waitEmpty counts though procs() does not list it', async () => {
    const job = open();
    const dir = job.paths[0] ?? '';
    const inner = path.join(dir, 'inner');
    fs.mkdirSync(inner);
    const hidden = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(hidden);
    const exited = new Promise<NodeJS.Signals | null>((r) => hidden.once('exit', (_c, s) => r(s)));
    fs.writeFileSync(path.join(inner, 'cgroup.procs'), String(hidden.pid));
    expect(job.procs()).toEqual([]);
    await expect(job.waitEmpty(20)).rejects.toThrow(CgroupError);
    await job.killAll();
    expect(await exited).toBe('SIGKILL');
    await job.waitEmpty(5000);
    await job.destroy();
    expect(fs.existsSync(dir)).toBe(false);
  });
});
