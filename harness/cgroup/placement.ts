// Where this process's job cgroups go: one decision, made here (docs/design.md, "Where the cgroups go").
// In order: --cgroup-parent; the own cgroup when it can parent jobs as it is (v1, or the v2 root);
// on a systemd v2 host a transient scope with Delegate=yes, from the system manager as root and the
// user's manager otherwise (what Docker's and Podman's systemd cgroup drivers do); on v2 without
// systemd a leaf inside the own cgroup when that is writable and holds only this process and its
// ancestors (or is a container's cgroup-namespace root: nsjail's --detect_cgroupv2); else none — the
// jobs then run without a cgroup and the caps they asked for are named in a warning (job/enforce.ts).
//
// The v2 rule behind all of it: a cgroup that holds processes cannot enable controllers for its
// children, and a non-root writer may move processes only inside its delegated subtree — so this
// process must itself live in the subtree where its jobs go, in a leaf beside them.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { detectCgroupHost, parseProcSelfCgroup, type CgroupHost } from './detect.js';
import { childDirs, errnoOf, exists, readOptional, sleep, writeText } from './fsutil.js';
import { isInstanceStale, ownInstanceId } from './instance.js';
import { parsePids } from './parse.js';
import { WANTED, enableControllers } from './v2.js';
import { isRoot } from '../identity.js';

export type PlacementKind = 'cgroup-parent' | 'own' | 'systemd-scope' | 'leaf' | 'none';

export interface Placement {
  kind: PlacementKind;
  /** The driver to use; null when jobs get no cgroup. */
  version: 'v1' | 'v2' | null;
  /** v2: where the instance parent goes, relative to the mount. v1: the explicit parent or null (own path per hierarchy). */
  basePath: string | null;
  /** basePath came from --cgroup-parent (created where missing) or was set up here (leaf, scope). */
  explicitParent: boolean;
  /** The transient scope this process moved into, when systemd placed it. */
  unit: string | null;
  /** One line for `doctor` and the results' host section. */
  description: string;
  /** Why jobs get no cgroup (kind none), or why the preferred placement was not used. */
  reason: string | null;
  /** What would give jobs a cgroup (kind none). */
  fix: string | null;
}

/** The leaf this process (and, in a container, its ancestors) moves into, beside the job cgroups. */
export const LEAF_NAME = 'ringfence-leaf';
const SCOPE_RE = /^ringfence-(\d+)-(\d+)\.scope$/;

export function scopeName(id: { pid: number; startTime: string }): string {
  return `ringfence-${id.pid}-${id.startTime}.scope`;
}

const cache = new Map<string, Promise<Placement>>();

/**
 * Places this process (once per process and parent; threads share the answer through the kernel:
 * a thread that finds the process already in a ringfence leaf takes that placement).
 */
export function placeProcess(options: { parent?: string; host?: CgroupHost } = {}): Promise<Placement> {
  const key = options.parent ?? '';
  let placing = cache.get(key);
  if (!placing) {
    placing = decide(options.parent, options.host ?? detectCgroupHost());
    cache.set(key, placing);
    // a failure (a CgroupError for a bad parent) is not remembered: the next call tries again
    placing.catch(() => cache.delete(key));
  }
  return placing;
}

/** Forget cached placements (tests that change the process's cgroup). */
export function resetPlacementCache(): void {
  cache.clear();
}

async function decide(parent: string | undefined, host: CgroupHost): Promise<Placement> {
  if (parent !== undefined) {
    return {
      kind: 'cgroup-parent',
      version: host.version === 'v2' ? 'v2' : 'v1',
      basePath: parent,
      explicitParent: true,
      unit: null,
      description: `--cgroup-parent ${parent}`,
      reason: null,
      fix: null,
    };
  }
  if (host.version !== 'v2') return placeV1(host);
  const unified = host.unified;
  if (unified === null) {
    return none(
      'cgroup v2 is mounted but this process’s cgroup is not visible in it',
      'run ringfence in the host’s cgroup namespace, or pass --cgroup-parent',
    );
  }
  const dir = path.posix.join(unified.mountPoint, unified.ownPath);

  // already placed: by another thread of this process, or by an earlier ringfence in this container
  if (path.posix.basename(unified.ownPath) === LEAF_NAME) {
    const base = path.posix.dirname(unified.ownPath);
    enable(path.posix.join(unified.mountPoint, base));
    return placedIn(base, path.posix.basename(base));
  }
  // the real root (no cgroup.type there) may hold processes and still enable controllers
  if (unified.ownPath === '/' && !exists(path.join(dir, 'cgroup.type'))) {
    return {
      kind: 'own',
      version: 'v2',
      basePath: '/',
      explicitParent: false,
      unit: null,
      description: `the root cgroup of ${unified.mountPoint}`,
      reason: null,
      fix: null,
    };
  }

  const reasons: string[] = [];
  if (isSystemdHost()) {
    try {
      return await placeInScope(host);
    } catch (error) {
      reasons.push(error instanceof Error ? error.message : String(error));
    }
  }
  const leaf = placeInLeaf(unified.mountPoint, unified.ownPath);
  if (typeof leaf !== 'string') return leaf;
  reasons.push(leaf);
  const rootless = !isRoot();
  return none(
    reasons.join('; '),
    rootless
      ? 'log in through systemd (a session with user@.service), or run ringfence as root, or pass --cgroup-parent <a cgroup delegated to you>'
      : 'run ringfence under systemd, in a privileged container, or pass --cgroup-parent <a writable cgroup>',
  );
}

function placeV1(host: CgroupHost): Placement {
  const memory = host.controllers.memory ?? Object.values(host.controllers)[0];
  if (memory === undefined) {
    return none('no cgroup v1 hierarchy carries a controller here', 'mount the cgroup v1 controllers');
  }
  const dir = path.posix.join(memory.mountPoint, memory.ownPath);
  if (!canWrite(dir)) {
    return none(
      `this process cannot create cgroups in its own cgroup ${dir} (read-only or not delegated)`,
      'run ringfence as root with /sys/fs/cgroup writable (a privileged container), or pass --cgroup-parent <a writable cgroup>',
    );
  }
  return {
    kind: 'own',
    version: 'v1',
    basePath: null,
    explicitParent: false,
    unit: null,
    description: `beneath this process's own cgroups (cgroup v1: ${memory.ownPath} in each hierarchy)`,
    reason: null,
    fix: null,
  };
}

function none(reason: string, fix: string): Placement {
  return {
    kind: 'none',
    version: null,
    basePath: null,
    explicitParent: false,
    unit: null,
    description: 'no cgroup: jobs run with the namespaces this host allows, figures from rusage',
    reason,
    fix,
  };
}

function placedIn(base: string, baseName: string): Placement {
  const scope = SCOPE_RE.test(baseName);
  return {
    kind: scope ? 'systemd-scope' : 'leaf',
    version: 'v2',
    basePath: base,
    explicitParent: false,
    unit: scope ? baseName : null,
    description: scope
      ? `systemd scope ${baseName} (Delegate=yes), jobs beside this process's leaf in ${base}`
      : `${base}, with this process moved into its leaf ${LEAF_NAME}`,
    reason: null,
    fix: null,
  };
}

/** systemd is PID 1, or at least runs the show (sd_booted()'s test). */
export function isSystemdHost(): boolean {
  return exists('/run/systemd/system');
}

function canWrite(dir: string): boolean {
  try {
    fs.accessSync(path.join(dir, 'cgroup.procs'), fs.constants.W_OK);
    // access() on a read-only mount answers by the mode bits alone: ask mountinfo too
    return !isReadOnlyMount(dir);
  } catch {
    return false;
  }
}

function isReadOnlyMount(dir: string): boolean {
  // mountinfo's per-mount options: "ro" on the cgroup mount that holds dir (longest prefix wins)
  let best = '';
  let readOnly = false;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const mountPoint = fields[4];
    const opts = fields[5];
    if (mountPoint === undefined || opts === undefined) continue;
    if ((dir === mountPoint || dir.startsWith(`${mountPoint}/`)) && mountPoint.length >= best.length) {
      best = mountPoint;
      readOnly = opts.split(',').includes('ro');
    }
  }
  return readOnly;
}

/** Enables the job controllers in dir's subtree_control where offered (the v2 driver's own routine). */
function enable(dir: string): string[] {
  return enableControllers(dir, WANTED);
}

/** Moves `pids` into base/LEAF_NAME (made if missing) and enables the controllers in base. */
function moveIntoLeaf(mountPoint: string, base: string, pids: readonly number[]): void {
  const leaf = path.posix.join(mountPoint, base, LEAF_NAME);
  try {
    fs.mkdirSync(leaf);
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error;
  }
  for (const pid of pids) {
    try {
      writeText(path.join(leaf, 'cgroup.procs'), String(pid));
    } catch (error) {
      // a process that exited meanwhile is no obstacle
      if (errnoOf(error) !== 'ESRCH') throw error;
    }
  }
  enable(path.posix.join(mountPoint, base));
}

/** This process and its ancestors (npx, a shell, the container's init). */
function selfAndAncestors(): Set<number> {
  const chain = new Set<number>([process.pid]);
  let pid = process.ppid;
  while (pid > 0 && !chain.has(pid)) {
    chain.add(pid);
    const stat = readOptional(`/proc/${pid}/stat`);
    if (stat === null) break;
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    pid = Number(after[1] ?? 0);
  }
  return chain;
}

/** The leaf placement, or why it is not possible. */
function placeInLeaf(mountPoint: string, ownPath: string): Placement | string {
  const dir = path.posix.join(mountPoint, ownPath);
  if (!canWrite(dir))
    return `this process's cgroup ${ownPath} is not writable (no delegation, or /sys/fs/cgroup read-only)`;
  const procsText = readOptional(path.join(dir, 'cgroup.procs')) ?? '';
  const procs = parsePids(procsText);
  const ours = selfAndAncestors();
  // pid 0: a process outside our pid namespace shares the cgroup; it cannot be moved from here
  const outside = procsText.split('\n').some((line) => line.trim() === '0');
  const foreign = procs.filter((pid) => !ours.has(pid));
  const namespaceRoot = ownPath === '/';
  if (outside) {
    return `this process's cgroup ${ownPath} also holds processes from outside its pid namespace, which cannot be moved from here, so it cannot enable controllers for job cgroups`;
  }
  if (foreign.length > 0 && !namespaceRoot) {
    return `this process's cgroup ${ownPath} also holds processes that are not ringfence's (${foreign.slice(0, 5).join(', ')}), so it cannot enable controllers for job cgroups`;
  }
  try {
    moveIntoLeaf(mountPoint, ownPath, procs.length > 0 ? procs : [process.pid]);
  } catch (error) {
    return `moving into ${path.posix.join(ownPath, LEAF_NAME)} failed (${errnoOf(error) ?? String(error)})`;
  }
  return placedIn(ownPath, path.posix.basename(ownPath));
}

/** The own cgroup path (v2 "0::" line), read fresh. */
function currentV2Path(): string | null {
  const entry = parseProcSelfCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8')).find(
    (e) => e.hierarchyId === 0,
  );
  return entry?.path ?? null;
}

const execFileAsync = promisify(execFile);

/** Where a system program may come from: never PATH, which `npx` starts with node_modules/.bin. */
const SYSTEM_BIN_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/**
 * A system program by absolute path, root-owned and not writable by group or others — or null. Not
 * looked up in PATH: a job may write its workdir (node_modules/.bin included) and the next
 * `npx ringfence` would run what it left there, as whoever runs ringfence.
 */
export function systemBinary(name: string, dirs: readonly string[] = SYSTEM_BIN_DIRS): string | null {
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      const st = fs.statSync(file);
      if (st.isFile() && st.uid === 0 && (st.mode & 0o022) === 0 && (st.mode & 0o111) !== 0) return file;
    } catch {
      // not there: the next directory
    }
  }
  return null;
}

/**
 * A transient scope with Delegate=yes holding this process, through busctl (part of every systemd
 * install, so no D-Bus client library to ship), then the leaf move inside it.
 */
async function placeInScope(host: CgroupHost): Promise<Placement> {
  const unified = host.unified;
  if (unified === null) throw new Error('no cgroup2 mount');
  const user = !isRoot();
  const unit = scopeName(ownInstanceId());
  const args = [
    ...(user ? ['--user'] : []),
    'call',
    'org.freedesktop.systemd1',
    '/org/freedesktop/systemd1',
    'org.freedesktop.systemd1.Manager',
    'StartTransientUnit',
    'ssa(sv)a(sa(sv))',
    unit,
    'fail',
    '3',
    'PIDs',
    'au',
    '1',
    String(process.pid),
    'Delegate',
    'b',
    'true',
    'Description',
    's',
    `ringfence jobs of pid ${process.pid}`,
    '0',
  ];
  const busctl = systemBinary('busctl');
  if (busctl === null) throw new Error('busctl is not installed in /usr/bin or /bin (systemd’s D-Bus tool)');
  try {
    await execFileAsync(busctl, args, { timeout: 10_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    // another thread of this process asked first: wait for its scope like our own
    if (!/already exists/i.test(stderr)) {
      const manager = user ? "the user's systemd manager (busctl --user)" : 'systemd (busctl)';
      throw new Error(
        `${manager} did not start a scope: ${stderr.split('\n')[0] || (error instanceof Error ? error.message : String(error))}`,
      );
    }
  }
  // the move happens when systemd runs the start job: wait for the kernel to show it
  const deadline = Date.now() + 10_000;
  let own = currentV2Path();
  while (own === null || !own.endsWith(`/${unit}`)) {
    if (own !== null && own.endsWith(`/${unit}/${LEAF_NAME}`)) break;
    if (Date.now() > deadline)
      throw new Error(`systemd started ${unit} but this process did not move into it`);
    await sleep(5);
    own = currentV2Path();
  }
  const scopePath = own.endsWith(`/${LEAF_NAME}`) ? path.posix.dirname(own) : own;
  moveIntoLeaf(unified.mountPoint, scopePath, [process.pid]);
  await sweepStaleScopes(path.posix.join(unified.mountPoint, path.posix.dirname(scopePath)), unit);
  return placedIn(scopePath, unit);
}

/**
 * Scopes of ringfence processes that died, beside ours: systemd removes an empty scope by itself,
 * so one that is still there holds a process its owner left (stuck, or escaped the kill). End them;
 * systemd then stops the scope and removes its cgroup.
 */
async function sweepStaleScopes(sliceDir: string, ownUnit: string): Promise<void> {
  for (const dir of childDirs(sliceDir)) {
    const name = path.basename(dir);
    const m = SCOPE_RE.exec(name);
    if (m === null || name === ownUnit || m[1] === undefined || m[2] === undefined) continue;
    if (!isInstanceStale({ pid: Number(m[1]), startTime: m[2], threadId: 0 })) continue;
    try {
      writeText(path.join(dir, 'cgroup.kill'), '1');
    } catch {
      // gone meanwhile, or a kernel without cgroup.kill: systemd's own stop handles the rest
    }
  }
}

/** For `doctor` and errors: the placement as words. */
export function describePlacement(p: Placement): string {
  return p.kind === 'none' ? `${p.description} — ${p.reason ?? ''}` : p.description;
}
