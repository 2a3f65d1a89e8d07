// Which cgroup setup this host has, and where the harness's own cgroup is in it. Detect, don't assume:
// the fs magic of /sys/fs/cgroup says v2 or not, mountinfo says which v1 hierarchies carry which
// controllers, /proc/self/cgroup says where we are in each. Parsing is pure (tested on captured text);
// detectCgroupHost() only adds the reads.
import fs from 'node:fs';
import path from 'node:path';
import { CgroupError } from './types.js';
import { errnoOf } from './fsutil.js';
import { parseNameList } from './parse.js';

export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const TMPFS_MAGIC = 0x01021994;
export const CGROUP_SUPER_MAGIC = 0x27e0eb;

/** The v1 controllers the kernel knows; anything else in a cgroup mount's options is a mount flag. */
const V1_CONTROLLERS = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
]);

/** One line of /proc/self/cgroup: "hierarchy-ID:controller-list:cgroup-path". */
export interface ProcCgroupEntry {
  hierarchyId: number;
  /** v1 controllers of the hierarchy ([] for v2's "0::" line and for named ones like name=systemd). */
  controllers: string[];
  /** `name=` of a named v1 hierarchy, else null. */
  name: string | null;
  /** Path relative to the hierarchy's root as the kernel sees it from our cgroup namespace. */
  path: string;
}

export function parseProcSelfCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // the path may itself contain ':', so split only the first two
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    const parts = list === '' ? [] : list.split(',');
    const named = parts.find((p) => p.startsWith('name='));
    out.push({
      hierarchyId: Number(line.slice(0, first)),
      controllers: parts.filter((p) => !p.startsWith('name=')).sort(),
      name: named === undefined ? null : named.slice('name='.length),
      path: line.slice(second + 1),
    });
  }
  return out;
}

export interface CgroupMount {
  mountId: number;
  /** Device number "major:minor"; bind mounts of one hierarchy share it. */
  device: string;
  /** The directory of the hierarchy this mount shows at its mount point (not "/" under some containers). */
  root: string;
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  /** v1: controllers from the super options, sorted; v2: []. */
  controllers: string[];
  /** v1 named hierarchy (name=systemd) or null. */
  name: string | null;
  superOptions: string[];
}

/** Mountinfo escapes space, tab, newline and backslash in paths as octal (\040 …). */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The cgroup and cgroup2 mounts of a /proc/self/mountinfo text, in mount order. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": optional
    // fields end at the lone "-"
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    const fsType = after[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const [mountId, , device, root, mountPoint] = before;
    if (mountId === undefined || device === undefined || root === undefined || mountPoint === undefined)
      continue;
    const superOptions = (after[2] ?? '').split(',').filter((o) => o !== '');
    const named = superOptions.find((o) => o.startsWith('name='));
    out.push({
      mountId: Number(mountId),
      device,
      root: unescapeMountPath(root),
      mountPoint: unescapeMountPath(mountPoint),
      fsType,
      controllers: fsType === 'cgroup' ? superOptions.filter((o) => V1_CONTROLLERS.has(o)).sort() : [],
      name: named === undefined ? null : named.slice('name='.length),
      superOptions,
    });
  }
  return out;
}

export interface V1Hierarchy {
  /** Controllers co-mounted in this hierarchy (cpu,cpuacct count once). */
  controllers: string[];
  mountPoint: string;
  /** Our cgroup, relative to the mount point (what --cgroup-parent paths are relative to too). */
  ownPath: string;
}

export interface UnifiedHierarchy {
  mountPoint: string;
  ownPath: string;
  /** The own cgroup's cgroup.controllers: what its parent delegates to it. */
  controllers: string[];
  /** The own cgroup's cgroup.subtree_control: what a child of it (our instance parent) gets. */
  subtreeControl: string[];
}

export interface ControllerLocation {
  mountPoint: string;
  ownPath: string;
}

export interface CgroupHost {
  /** 'hybrid': v1 controllers plus a (normally controller-less) cgroup2 mount; the v1 driver is used. */
  version: 'v1' | 'v2' | 'hybrid';
  /** statfs f_type of /sys/fs/cgroup (0 when it could not be read). */
  fsType: number;
  /** v1 hierarchies that carry controllers ([] on v2). */
  hierarchies: V1Hierarchy[];
  /** The cgroup2 mount: the whole tree on v2, the side mount on hybrid; null on pure v1. */
  unified: UnifiedHierarchy | null;
  /** Per usable controller, where it is: v1 its hierarchy, v2 the unified mount. */
  controllers: Record<string, ControllerLocation>;
  /** Things found that make a hierarchy unusable, one line each (for `doctor`). */
  problems: string[];
}

/**
 * Our cgroup relative to the mount point. Outside a cgroup namespace a container's mount shows only
 * its subtree (mount root "/docker/<id>") while /proc/self/cgroup shows the full path, so the root
 * is stripped. null when our cgroup is not visible under this mount.
 */
export function ownPathUnderMount(procPath: string, mountRoot: string): string | null {
  // "/../.." is how a cgroup namespace shows a cgroup outside it: not reachable through this mount
  if (procPath.split('/').includes('..')) return null;
  const p = path.posix.normalize(procPath);
  const root = path.posix.normalize(mountRoot);
  if (root === '/') return p;
  if (p === root) return '/';
  if (p.startsWith(`${root}/`)) return p.slice(root.length);
  return null;
}

export interface CgroupHostInput {
  fsType: number;
  mountinfo: string;
  procSelfCgroup: string;
  /** Reads a file of the unified hierarchy (cgroup.controllers …); null when absent. */
  readFile: (file: string) => string | null;
}

/** Pure: the host description from what detectCgroupHost() reads. */
export function buildCgroupHost(input: CgroupHostInput): CgroupHost {
  const mounts = parseMountinfo(input.mountinfo);
  const entries = parseProcSelfCgroup(input.procSelfCgroup);
  const problems: string[] = [];
  const controllers: Record<string, ControllerLocation> = {};

  const hierarchies: V1Hierarchy[] = [];
  const seen = new Set<string>();
  for (const mount of mounts) {
    if (mount.fsType !== 'cgroup' || mount.controllers.length === 0) continue;
    const key = mount.controllers.join(',');
    // a hierarchy bind-mounted twice counts once (the first mount wins, as runc)
    if (seen.has(key)) continue;
    seen.add(key);
    const entry = entries.find((e) => e.hierarchyId !== 0 && e.controllers.join(',') === key);
    if (entry === undefined) {
      problems.push(`the ${key} hierarchy at ${mount.mountPoint} has no line in /proc/self/cgroup`);
      continue;
    }
    const ownPath = ownPathUnderMount(entry.path, mount.root);
    if (ownPath === null) {
      problems.push(`our ${key} cgroup ${entry.path} is outside the mount at ${mount.mountPoint}`);
      continue;
    }
    hierarchies.push({ controllers: mount.controllers, mountPoint: mount.mountPoint, ownPath });
    for (const c of mount.controllers) controllers[c] = { mountPoint: mount.mountPoint, ownPath };
  }

  let unified: UnifiedHierarchy | null = null;
  const v2Mounts = mounts.filter((m) => m.fsType === 'cgroup2');
  // on v2 the tree is the one at /sys/fs/cgroup; on hybrid the side mount (usually …/unified)
  const v2Mount =
    input.fsType === CGROUP2_SUPER_MAGIC
      ? (v2Mounts.find((m) => m.mountPoint === '/sys/fs/cgroup') ?? v2Mounts[0])
      : v2Mounts[0];
  const v2Entry = entries.find((e) => e.hierarchyId === 0);
  if (v2Mount !== undefined || input.fsType === CGROUP2_SUPER_MAGIC) {
    const mountPoint = v2Mount?.mountPoint ?? '/sys/fs/cgroup';
    const ownPath = v2Entry === undefined ? null : ownPathUnderMount(v2Entry.path, v2Mount?.root ?? '/');
    if (ownPath === null) {
      problems.push(`our cgroup2 path is not visible under ${mountPoint}`);
    } else {
      const dir = path.posix.join(mountPoint, ownPath);
      const list = (file: string): string[] =>
        parseNameList(input.readFile(path.posix.join(dir, file)) ?? '');
      // the root cgroup has no cgroup.controllers of its own parent to inherit from, but it lists
      // every controller; a non-root cgroup lists what its parent enabled for it
      unified = {
        mountPoint,
        ownPath,
        controllers: list('cgroup.controllers'),
        subtreeControl: list('cgroup.subtree_control'),
      };
    }
  }

  let version: CgroupHost['version'];
  if (input.fsType === CGROUP2_SUPER_MAGIC) version = 'v2';
  else if (hierarchies.length > 0) version = unified !== null || v2Mounts.length > 0 ? 'hybrid' : 'v1';
  else if (unified !== null) version = 'v2';
  else {
    throw new CgroupError(
      'no usable cgroup filesystem is mounted (neither cgroup2 at /sys/fs/cgroup nor v1 hierarchies in /proc/self/mountinfo)',
      'mount cgroup2 (mount -t cgroup2 none /sys/fs/cgroup) or run ringfence where cgroups are available (ringfence doctor lists what is missing)',
    );
  }
  if (version === 'v2' && unified !== null) {
    const u: UnifiedHierarchy = unified;
    for (const c of u.controllers) controllers[c] = { mountPoint: u.mountPoint, ownPath: u.ownPath };
  }
  return { version, fsType: input.fsType, hierarchies, unified, controllers, problems };
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'EACCES') return null;
    throw err;
  }
}

export function detectCgroupHost(): CgroupHost {
  let fsType = 0;
  try {
    fsType = fs.statfsSync('/sys/fs/cgroup').type;
  } catch {
    // not mounted there: mountinfo may still show cgroup mounts elsewhere
  }
  return buildCgroupHost({
    fsType,
    mountinfo: fs.readFileSync('/proc/self/mountinfo', 'utf8'),
    procSelfCgroup: fs.readFileSync('/proc/self/cgroup', 'utf8'),
    readFile: readOrNull,
  });
}
