import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CGROUP2_SUPER_MAGIC,
  TMPFS_MAGIC,
  buildCgroupHost,
  detectCgroupHost,
  ownPathUnderMount,
  parseMountinfo,
  parseProcSelfCgroup,
  unescapeMountPath,
} from '../../harness/cgroup/detect.js';
import { CgroupError } from '../../harness/cgroup/types.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/cgroup-v2/host');
const fixture = (name: string): string => fs.readFileSync(path.join(fixtures, name), 'utf8');

// Pure v1 (Ubuntu 18.04-style host, systemd without the unified side mount): cpu,cpuacct and
// net_cls,net_prio co-mounted, a named systemd hierarchy.
const V1_CGROUP = `12:pids:/user.slice/user-1000.slice/session-3.scope
11:devices:/user.slice
10:memory:/user.slice/user-1000.slice/session-3.scope
9:cpu,cpuacct:/user.slice
8:net_cls,net_prio:/
7:freezer:/
6:blkio:/user.slice
5:cpuset:/
4:perf_event:/
3:hugetlb:/
2:rdma:/
1:name=systemd:/user.slice/user-1000.slice/session-3.scope
`;
const V1_MOUNTINFO = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
36 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
37 31 0:32 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio
38 31 0:33 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
39 31 0:34 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,pids
40 31 0:35 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,freezer
41 31 0:36 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,blkio
42 31 0:37 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup rw,cpuset,clone_children
43 31 0:38 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:22 - cgroup cgroup rw,devices
44 31 0:39 / /sys/fs/cgroup/perf_event rw,nosuid,nodev,noexec,relatime shared:23 - cgroup cgroup rw,perf_event
45 31 0:40 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:24 - cgroup cgroup rw,hugetlb
46 31 0:41 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime shared:25 - cgroup cgroup rw,rdma
`;

// Hybrid, captured on the development machine: each v1 controller its own hierarchy, a cgroup2 side
// mount at /sys/fs/cgroup/unified, the memory cgroup somewhere below the root.
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/027bd2247c2ba9e7610e4d4d15a88af3
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

const noFiles = (): string | null => null;

describe('parseProcSelfCgroup', () => {
  it('reads v1 lines, co-mounted and named hierarchies', () => {
    const entries = parseProcSelfCgroup(V1_CGROUP);
    expect(entries).toHaveLength(12);
    expect(entries.find((e) => e.hierarchyId === 9)).toEqual({
      hierarchyId: 9,
      controllers: ['cpu', 'cpuacct'],
      name: null,
      path: '/user.slice',
    });
    expect(entries.find((e) => e.hierarchyId === 1)).toEqual({
      hierarchyId: 1,
      controllers: [],
      name: 'systemd',
      path: '/user.slice/user-1000.slice/session-3.scope',
    });
  });

  it('reads the v2 line and keeps colons inside the path', () => {
    expect(parseProcSelfCgroup(fixture('proc-self-cgroup.txt'))).toEqual([
      { hierarchyId: 0, controllers: [], name: null, path: '/process_api/5f0c2a9e1b7d4c38a6e2f1d0c9b8a7e6' },
    ]);
    expect(parseProcSelfCgroup('0::/a:b/c\n')[0]?.path).toBe('/a:b/c');
  });
});

describe('parseMountinfo', () => {
  it('keeps only cgroup mounts and reads controllers from the super options', () => {
    const mounts = parseMountinfo(V1_MOUNTINFO);
    expect(mounts.map((m) => m.mountPoint)).not.toContain('/sys/fs/cgroup');
    const cpu = mounts.find((m) => m.mountPoint === '/sys/fs/cgroup/cpu,cpuacct');
    expect(cpu).toMatchObject({
      fsType: 'cgroup',
      controllers: ['cpu', 'cpuacct'],
      root: '/',
      device: '0:31',
    });
    // mount flags such as clone_children and xattr are not controllers
    expect(mounts.find((m) => m.mountPoint === '/sys/fs/cgroup/cpuset')?.controllers).toEqual(['cpuset']);
    expect(mounts.find((m) => m.mountPoint === '/sys/fs/cgroup/systemd')).toMatchObject({
      controllers: [],
      name: 'systemd',
    });
  });

  it('reads the cgroup2 mount of a v2 host', () => {
    const mounts = parseMountinfo(fixture('mountinfo.txt'));
    expect(mounts).toEqual([
      expect.objectContaining({
        mountPoint: '/sys/fs/cgroup',
        fsType: 'cgroup2',
        controllers: [],
        root: '/',
      }),
    ]);
  });

  it('unescapes octal escapes in paths and skips optional fields', () => {
    const line = '50 31 0:45 /a\\040b /mnt/c\\040g rw shared:3 master:1 - cgroup cgroup rw,pids\n';
    expect(parseMountinfo(line)[0]).toMatchObject({
      root: '/a b',
      mountPoint: '/mnt/c g',
      controllers: ['pids'],
    });
    expect(unescapeMountPath('x\\134y')).toBe('x\\y');
  });
});

describe('ownPathUnderMount', () => {
  it('strips a container mount root and refuses paths outside it', () => {
    expect(ownPathUnderMount('/user.slice', '/')).toBe('/user.slice');
    expect(ownPathUnderMount('/docker/abc', '/docker/abc')).toBe('/');
    expect(ownPathUnderMount('/docker/abc/sub', '/docker/abc')).toBe('/sub');
    expect(ownPathUnderMount('/docker/other', '/docker/abc')).toBeNull();
    expect(ownPathUnderMount('/../..', '/')).toBeNull();
  });
});

describe('buildCgroupHost', () => {
  it('pure v1: one hierarchy per mount, co-mounted cpu,cpuacct once', () => {
    const host = buildCgroupHost({
      fsType: TMPFS_MAGIC,
      mountinfo: V1_MOUNTINFO,
      procSelfCgroup: V1_CGROUP,
      readFile: noFiles,
    });
    expect(host.version).toBe('v1');
    expect(host.unified).toBeNull();
    expect(host.hierarchies.filter((h) => h.controllers.includes('cpu'))).toEqual([
      { controllers: ['cpu', 'cpuacct'], mountPoint: '/sys/fs/cgroup/cpu,cpuacct', ownPath: '/user.slice' },
    ]);
    expect(host.controllers.cpuacct).toEqual({
      mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
      ownPath: '/user.slice',
    });
    expect(host.controllers.memory?.ownPath).toBe('/user.slice/user-1000.slice/session-3.scope');
    expect(host.hierarchies.some((h) => h.mountPoint.endsWith('systemd'))).toBe(false);
    expect(host.problems).toEqual([]);
  });

  it('hybrid: v1 controllers plus the unified side mount', () => {
    const host = buildCgroupHost({
      fsType: TMPFS_MAGIC,
      mountinfo: HYBRID_MOUNTINFO,
      procSelfCgroup: HYBRID_CGROUP,
      readFile: (file) => (file === '/sys/fs/cgroup/unified/cgroup.controllers' ? '\n' : null),
    });
    expect(host.version).toBe('hybrid');
    expect(host.unified).toEqual({
      mountPoint: '/sys/fs/cgroup/unified',
      ownPath: '/',
      controllers: [],
      subtreeControl: [],
    });
    expect(Object.keys(host.controllers).sort()).toEqual(
      ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'].sort(),
    );
    expect(host.controllers.memory).toEqual({
      mountPoint: '/sys/fs/cgroup/memory',
      ownPath: '/process_api/027bd2247c2ba9e7610e4d4d15a88af3',
    });
    expect(host.controllers.cpu).toEqual({ mountPoint: '/sys/fs/cgroup/cpu', ownPath: '/' });
  });

  it('v2: the own cgroup and what its parent delegates', () => {
    const own = '/sys/fs/cgroup/process_api/5f0c2a9e1b7d4c38a6e2f1d0c9b8a7e6';
    const files: Record<string, string> = {
      [`${own}/cgroup.controllers`]: 'memory\n',
      [`${own}/cgroup.subtree_control`]: '\n',
    };
    const host = buildCgroupHost({
      fsType: CGROUP2_SUPER_MAGIC,
      mountinfo: fixture('mountinfo.txt'),
      procSelfCgroup: fixture('proc-self-cgroup.txt'),
      readFile: (file) => files[file] ?? null,
    });
    expect(host.version).toBe('v2');
    expect(host.hierarchies).toEqual([]);
    expect(host.unified).toEqual({
      mountPoint: '/sys/fs/cgroup',
      ownPath: '/process_api/5f0c2a9e1b7d4c38a6e2f1d0c9b8a7e6',
      controllers: ['memory'],
      subtreeControl: [],
    });
    expect(host.controllers).toEqual({
      memory: { mountPoint: '/sys/fs/cgroup', ownPath: '/process_api/5f0c2a9e1b7d4c38a6e2f1d0c9b8a7e6' },
    });
  });

  it('no cgroup filesystem at all is a CgroupError with a fix', () => {
    expect(() =>
      buildCgroupHost({ fsType: 0, mountinfo: '', procSelfCgroup: '0::/\n', readFile: noFiles }),
    ).toThrow(CgroupError);
  });
});

describe('detectCgroupHost on this machine', () => {
  const isV2 = fs.statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;

  it.runIf(!isV2)('says hybrid or v1, with memory, cpu, cpuacct, pids and freezer', () => {
    const host = detectCgroupHost();
    expect(['hybrid', 'v1']).toContain(host.version);
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids', 'freezer'])
      expect(host.controllers[c]).toBeDefined();
    // the own memory cgroup is where /proc/self/cgroup says
    const line = fs
      .readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
    expect(line).toBeDefined();
    expect(host.controllers.memory?.ownPath).toBe(line?.split(':')[2]);
  });

  it.runIf(isV2)('says v2 with the own cgroup of /proc/self/cgroup', () => {
    const host = detectCgroupHost();
    expect(host.version).toBe('v2');
    const own = fs
      .readFileSync('/proc/self/cgroup', 'utf8')
      .trim()
      .split('\n')
      .find((l) => l.startsWith('0::'));
    expect(host.unified?.ownPath).toBe(own?.slice(3));
  });
});
