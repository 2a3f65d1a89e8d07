// What this host can enforce for a job, and what it cannot: degrade loudly, never silently
// (docs/design.md, "Degrade loudly").
// A cap whose controller this process cannot have, or namespaces the host refuses, are dropped from
// the job — as Docker warns and discards a limit its kernel lacks — named in one warning line per
// run with the reason and the fix, and recorded in the result. Strict mode (--strict,
// RINGFENCE_STRICT=1) refuses the job instead (exit 125) before anything runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { requestedCaps } from '../cgroup/common.js';
import type { Placement } from '../cgroup/placement.js';
import type { CgroupLimits } from '../cgroup/types.js';
import { CAP_CONTROLLER as V1_CAP_CONTROLLER } from '../cgroup/v1.js';
import { CAP_CONTROLLER as V2_CAP_CONTROLLER } from '../cgroup/v2.js';
import { cappedFsPossible, type DiskCaps } from '../fs/disk.js';
import type { JobSpec } from './spec-types.js';
import { isRoot } from '../identity.js';

/** Which namespaces a job can get here. */
export type NamespaceSupport = 'all' | 'userns' | 'none';

export interface HostSupport {
  placement: Placement;
  /** Controllers the job cgroups can use (empty without a cgroup). */
  controllers: ReadonlySet<string>;
  namespaces: NamespaceSupport;
  /** Why namespaces are limited (namespaces !== 'all'), as the launcher or the kernel said it. */
  namespacesReason: string | null;
}

export interface NotEnforced {
  /** The flag or feature: `--memory`, `namespaces`. */
  what: string;
  reason: string;
  fix: string;
}

export interface JobPlan {
  /** The caps that will be applied. */
  limits: CgroupLimits;
  /** The job gets a user namespace (asked for, or the only way to namespaces here). */
  userns: boolean;
  /** The job runs without namespaces, a plain child of a subreaping launcher. */
  noNamespaces: boolean;
  /** --disk / --files as they will be enforced; null: none asked for, or not enforceable here. */
  disk: DiskCaps | null;
  /**
   * An explicit --disk / --files over a workdir that would be writable: the job sees the workdir
   * through the overlay, on the capped filesystem, and all it left there is written back afterwards.
   */
  workdirCapped: boolean;
  notEnforced: NotEnforced[];
}

export const STRICT_ENV = 'RINGFENCE_STRICT';

export function strictFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[STRICT_ENV];
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** The controller each cap needs, by cgroup version: the drivers' own tables. */
const CONTROLLER: Record<'v1' | 'v2', Record<keyof CgroupLimits, string>> = {
  v1: V1_CAP_CONTROLLER,
  v2: V2_CAP_CONTROLLER,
};

export const USER_DELEGATE_FIX =
  'give your user the controller: a drop-in /etc/systemd/system/user@.service.d/delegate.conf with "[Service]\\nDelegate=cpu cpuset io memory pids", then systemctl daemon-reload and log in again';

export function missingControllerFix(host: HostSupport, controller: string): string {
  const p = host.placement;
  if (p.kind === 'none') return p.fix ?? 'see ringfence doctor';
  if (p.kind === 'systemd-scope' && !isRoot()) return USER_DELEGATE_FIX;
  if (p.version === 'v1')
    return `mount the ${controller} controller (mount -t cgroup -o ${controller} cgroup /sys/fs/cgroup/${controller})`;
  return `delegate the ${controller} controller to ${p.basePath ?? 'this cgroup'} (add it to its parent's cgroup.subtree_control), or pass --cgroup-parent <a cgroup that has it>`;
}

/** Decides what a job gets here. Pure: the host support was measured once per process. */
export function planJob(spec: JobSpec, host: HostSupport): JobPlan {
  const notEnforced: NotEnforced[] = [];
  const dropped = new Set<keyof CgroupLimits>();
  const version = host.placement.version;
  for (const [key, flag] of requestedCaps(spec.limits)) {
    const controller = version === null ? null : CONTROLLER[version][key];
    if (controller !== null && host.controllers.has(controller)) continue;
    dropped.add(key);
    notEnforced.push({
      what: flag,
      reason:
        controller === null
          ? `this process has no cgroup (${host.placement.reason ?? 'none could be had'})`
          : `the ${controller} controller is not available to ringfence's cgroup (${host.placement.description})`,
      fix: missingControllerFix(host, controller ?? 'memory'),
    });
  }
  // (memory-swap rides on memory: drop it with it)
  if (dropped.has('memoryBytes')) dropped.add('memorySwapBytes');
  const limits = Object.fromEntries(
    Object.entries(spec.limits).filter(([key]) => !dropped.has(key as keyof CgroupLimits)),
  ) as CgroupLimits;

  const rootless = !isRoot();
  let userns = spec.userns || rootless;
  let noNamespaces = false;
  if (host.namespaces === 'userns') userns = true;
  if (host.namespaces === 'none') {
    noNamespaces = true;
    userns = false;
    notEnforced.push({
      what: 'namespaces',
      reason: `this host lets ringfence make none (${host.namespacesReason ?? 'refused'}): the job shares the host's pid, mount, network, uts and ipc namespaces${namespaceOnlyOptions(spec)}; the timeout still ends every descendant (subreaper)`,
      fix: namespacesFix(host.namespacesReason?.includes('apparmor') ?? false),
    });
  }
  const disk = planDisk(spec, userns, noNamespaces, notEnforced);
  // `auto` keeps the workdir live (a default must not change where a job's writes land)
  const workdirCapped = disk !== null && !spec.diskAuto && spec.outputs === null && spec.fs === 'overlay';
  return { limits, userns, noNamespaces, disk, workdirCapped, notEnforced };
}

/** What lets ringfence make namespaces on a host that refuses them; `apparmor`: Ubuntu's restriction is on. */
export function namespacesFix(apparmor: boolean): string {
  return apparmor
    ? 'sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 23.10+ refuses user namespaces to unprivileged programs), or run as root'
    : 'allow user namespaces (sysctl user.max_user_namespaces, a Kubernetes pod with seccomp Unconfined and procMount Unmasked) or run the container with --privileged / --security-opt seccomp=unconfined';
}

/** Whether Ubuntu's AppArmor restriction of unprivileged user namespaces is on. */
export function apparmorRestrictsUserns(): boolean {
  return readTrim('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1';
}

/**
 * --disk / --files: a capped filesystem of the job's own (fs/disk.ts) needs root outside any user
 * namespace (a loop device, a mount the launcher attaches) and a mount namespace to show it in.
 */
function planDisk(
  spec: JobSpec,
  userns: boolean,
  noNamespaces: boolean,
  notEnforced: NotEnforced[],
): DiskCaps | null {
  if (spec.diskBytes === null && spec.files === null) return null;
  const root = isRoot();
  const reason = diskCapProblem(userns, noNamespaces);
  if (reason === null) return { bytes: spec.diskBytes, files: spec.files };
  // the default where it cannot hold is the host's normal layout, not something to fix: doctor says it
  if (spec.diskAuto) return null;
  const what = [spec.diskBytes !== null ? '--disk' : null, spec.files !== null ? '--files' : null]
    .filter((w) => w !== null)
    .join(' and ');
  notEnforced.push({
    what,
    reason,
    fix:
      !root || userns
        ? 'run as root without --userns'
        : 'install e2fsprogs and load the loop module (modprobe loop)',
  });
  return null;
}

/**
 * The caps a job's capped filesystem will have, before its run plans it: what planJob gives a job
 * that keeps its namespaces (`ci` makes its jobs' templates ahead with it). Where planJob takes the
 * namespaces away (no CAP_SYS_ADMIN) the job gets none, and the template made ahead goes unused.
 */
export function expectedDiskCaps(spec: JobSpec): DiskCaps | null {
  if (spec.diskBytes === null && spec.files === null) return null;
  return diskCapProblem(spec.userns, false) === null ? { bytes: spec.diskBytes, files: spec.files } : null;
}

/** Why this host cannot give a job a capped filesystem (--disk, --files), or null when it can. */
export function diskCapProblem(userns: boolean, noNamespaces: boolean): string | null {
  const root = isRoot();
  return noNamespaces
    ? "the job has no mount namespace: its /tmp and writes are the host's"
    : !root
      ? "rootless: a capped filesystem needs root (loop devices); the job's /tmp and overlay layers are on the host's disk, uncapped"
      : userns
        ? "under --userns the job's /tmp and overlay layers are on the host's disk, uncapped"
        : cappedFsPossible()
          ? null
          : 'no loop devices (/dev/loop-control) or no mke2fs (e2fsprogs) on this host';
}

/** Options that need a mount or network namespace, and so are not applied without one. */
function namespaceOnlyOptions(spec: JobSpec): string {
  const lost: string[] = [];
  if (spec.network === 'none') lost.push('--network none');
  if (spec.fs === 'read-only') lost.push('--read-only');
  if (spec.fs === 'overlay') lost.push('--fs overlay (writes reach the host)');
  if (spec.volumes.length > 0) lost.push('--volume');
  if (spec.tmpSizeBytes !== null) lost.push('--tmpfs');
  lost.push('private /tmp');
  return `; not applied: ${lost.join(', ')}`;
}

/** The one warning line for a run: every item once, in the order first seen. */
export function warningLine(items: readonly NotEnforced[]): string | null {
  const seen = new Map<string, NotEnforced>();
  for (const item of items) if (!seen.has(item.what)) seen.set(item.what, item);
  if (seen.size === 0) return null;
  const parts = [...seen.values()].map((i) => `${i.what}: ${i.reason} — fix: ${i.fix}`);
  return `ringfence: warning: not enforced on this host (${[...seen.keys()].join(', ')}) — ${parts.join('; ')}; --strict or ${STRICT_ENV}=1 refuses such jobs instead`;
}

/** The error text strict mode gives a job it refuses. */
export function strictRefusal(items: readonly NotEnforced[]): string {
  return `strict mode: ${items.map((i) => `${i.what} cannot be enforced here (${i.reason}) — ${i.fix}`).join('; ')}`;
}

const CAP_SYS_ADMIN = 21;

/** Whether the effective capability set holds CAP_SYS_ADMIN (what non-user namespaces need). */
export function hasSysAdmin(status: string = fs.readFileSync('/proc/self/status', 'utf8')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (m === null || m[1] === undefined) return false;
  return (BigInt(`0x${m[1]}`) >> BigInt(CAP_SYS_ADMIN)) & 1n ? true : false;
}

/**
 * Which namespaces a job can get: root with CAP_SYS_ADMIN gets all without a probe (the common
 * case costs nothing); otherwise one trial launch of the launcher in a user namespace says whether
 * the host allows them (a seccomp profile, an AppArmor rule or max_user_namespaces=0 refuse them,
 * and only trying tells them all apart from a host that allows them).
 */
export function probeNamespaces(launcher: string): { support: NamespaceSupport; reason: string | null } {
  if (isRoot() && hasSysAdmin()) return { support: 'all', reason: null };
  const max = readTrim('/proc/sys/user/max_user_namespaces');
  if (max === '0') return { support: 'none', reason: 'user.max_user_namespaces is 0' };
  const trial = spawnSync(launcher, ['--userns', '--net=none', '--', 'true'], {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (trial.status === 0) return { support: 'userns', reason: null };
  const said = (trial.stderr ?? '').trim().split('\n').pop() ?? '';
  const apparmor = apparmorRestrictsUserns();
  return {
    support: 'none',
    reason: `${said.replace(/^ringfence-launcher: /, '') || `trial job exited ${trial.status ?? trial.signal}`}${apparmor ? '; kernel.apparmor_restrict_unprivileged_userns=1' : ''}`,
  };
}

function readTrim(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

const warned = new Set<string>();

/**
 * Says the items not said before by this thread, in one line on stderr (the Harness and the CLI
 * call it from the main thread, before their jobs run; worker threads leave it to them).
 */
export function warnOnce(
  items: readonly NotEnforced[],
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): void {
  const fresh = items.filter((i) => !warned.has(i.what));
  const line = warningLine(fresh);
  if (line === null) return;
  for (const i of fresh) warned.add(i.what);
  write(line);
}
