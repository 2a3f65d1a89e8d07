// What this host can do for ringfence, one check per capability, each with the fix when it is
// missing. `ringfence doctor` prints them; the last check runs a real job, so "ok" means `run` works.
import fs from 'node:fs';
import { pidfdSupported } from '../native/libc/pidfd.js';
import { detectCgroupHost, type CgroupHost } from './cgroup/detect.js';
import { installedLauncherPath, launcherPath } from './launch/binary.js';
import { diskCapProblem, missingControllerFix, type HostSupport } from './job/enforce.js';
import type { JobFilesystem } from './job/result.js';
import { runJob } from './run-job.js';
import { Sandbox } from './launch/spares.js';
import { launcherProblem } from './launch/binary.js';
import { isRoot } from './identity.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** How to get it, when it is missing. */
  fix?: string;
  /** A missing required capability makes `run` fail; optional ones only disable a flag. */
  required: boolean;
}

const NAMESPACES: [string, string, boolean][] = [
  ['pid', 'PID namespace', true],
  ['mnt', 'mount namespace', true],
  ['uts', 'UTS namespace (hostname)', true],
  ['ipc', 'IPC namespace', true],
  ['net', 'network namespace', true],
  ['cgroup', 'cgroup namespace (--cgroupns)', false],
];

export async function runChecks(options: { cgroupParent?: string } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  let host: CgroupHost | null = null;
  try {
    host = detectCgroupHost();
  } catch (error) {
    checks.push({
      name: 'cgroup',
      ok: false,
      detail: (error as Error).message,
      fix: 'mount cgroup v2 at /sys/fs/cgroup (or the v1 hierarchies)',
      required: true,
    });
  }
  let support: HostSupport | null = null;
  if (host) {
    try {
      support = (await Sandbox.get(options.cgroupParent ?? null)).support;
    } catch (error) {
      checks.push({
        name: 'placement',
        ok: false,
        detail: (error as Error).message,
        fix: 'pass a --cgroup-parent that exists or can be created',
        required: true,
      });
    }
  }
  if (support) checks.push(...placementChecks(support));
  if (host && support) checks.push(...cgroupChecks(host, support));
  for (const [ns, label, required] of NAMESPACES) {
    const ok = fs.existsSync(`/proc/self/ns/${ns}`);
    checks.push({
      name: label,
      ok,
      detail: ok ? 'supported' : 'missing',
      fix: `a kernel built with CONFIG_${ns.toUpperCase()}_NS`,
      required,
    });
  }
  checks.push(userNamespaceCheck(support));
  checks.push(diskCapCheck(support));
  const pidfd = pidfdSupported();
  checks.push({
    name: 'pidfd',
    ok: pidfd,
    detail: pidfd ? 'pidfd_open/pidfd_send_signal work' : 'missing',
    fix: 'Linux 5.3 or later',
    required: true,
  });
  let built = true;
  let detail: string;
  try {
    detail = `${installedLauncherPath()} (as built, run from a sealed copy at ${launcherPath()})`;
  } catch (error) {
    built = false;
    detail = launcherProblem(error).message;
  }
  checks.push({
    name: 'launcher',
    ok: built,
    detail,
    fix: 'npm rebuild ringfence (builds native/launcher; needs a C compiler: apt-get install gcc)',
    required: true,
  });
  if (built && host) checks.push(...(await trialRun(options.cgroupParent)));
  return checks;
}

/**
 * --disk/--files: a capped filesystem a job. `ci` and the Vitest pool default to `auto`, which says
 * nothing on a run where the host cannot make one; this is where that is said.
 */
function diskCapCheck(support: HostSupport | null): Check {
  const userns = !isRoot() || support?.namespaces === 'userns';
  const problem = diskCapProblem(userns, support?.namespaces === 'none');
  return {
    name: 'disk caps (--disk, --files)',
    ok: problem === null,
    detail:
      problem === null
        ? 'a capped filesystem a job (ci and the Vitest pool: 1g and 100000 files unless set)'
        : `${problem}; ci and the Vitest pool run without their default disk cap here`,
    fix:
      problem === null
        ? undefined
        : userns
          ? 'run as root for a disk cap'
          : 'install e2fsprogs and load the loop module (modprobe loop)',
    required: false,
  };
}

/** Where job cgroups go and with which privileges: what every other check depends on. */
function placementChecks(support: HostSupport): Check[] {
  const p = support.placement;
  const root = isRoot();
  const privileges = p.kind === 'none' ? 'namespaces only' : root ? 'root' : 'rootless';
  const namespaces =
    support.namespaces === 'all'
      ? 'every namespace'
      : support.namespaces === 'userns'
        ? 'every namespace, inside a user namespace (root inside maps to you)'
        : `none (${support.namespacesReason ?? 'refused'}): jobs run as plain children of a subreaping launcher`;
  return [
    {
      name: 'placement',
      ok: p.kind !== 'none',
      detail: p.kind === 'none' ? `no cgroup for jobs: ${p.reason ?? ''}` : `${p.kind}: ${p.description}`,
      ...(p.fix === null ? {} : { fix: p.fix }),
      required: false,
    },
    { name: 'privileges', ok: true, detail: privileges, required: false },
    {
      name: 'namespaces',
      ok: support.namespaces !== 'none',
      detail: namespaces,
      fix: 'allow user namespaces (sysctl user.max_user_namespaces=15000; a Kubernetes pod with seccomp Unconfined) or run the container privileged',
      required: false,
    },
  ];
}

function cgroupChecks(host: CgroupHost, support: HostSupport): Check[] {
  const checks: Check[] = [];
  const where = host.unified && host.version === 'v2' ? host.unified.mountPoint : '/sys/fs/cgroup';
  const version =
    host.version === 'hybrid'
      ? 'v1 (hybrid: cgroup2 is mounted beside the v1 hierarchies but without controllers; the v1 driver is used)'
      : host.version;
  checks.push({ name: 'cgroup version', ok: true, detail: `${version} at ${where}`, required: true });
  const wanted: [string, string, boolean][] =
    host.version === 'v2'
      ? [
          ['memory', '--memory, OOM and peak accounting', true],
          ['cpu', '--cpus, --cpu-shares, CPU accounting', false],
          ['pids', '--pids-limit, pids peak', false],
          ['cpuset', '--cpuset-cpus', false],
          ['io', '--blkio-weight, I/O bytes', false],
        ]
      : [
          ['memory', '--memory, OOM and peak accounting', true],
          ['cpu', '--cpus, --cpu-shares', false],
          ['cpuacct', 'CPU accounting and --cpu-time', true],
          ['pids', '--pids-limit, pids peak', false],
          ['freezer', 'freezing a job before the kill', true],
          ['cpuset', '--cpuset-cpus', false],
          ['blkio', '--blkio-weight, I/O bytes', false],
        ];
  for (const [controller, purpose] of wanted) {
    // what the job cgroups get where this process was placed, not merely what the kernel has
    const ok = support.controllers.has(controller);
    checks.push({
      name: `cgroup ${controller}`,
      ok,
      detail: ok
        ? `${purpose}: enforced`
        : `${purpose}: not enforced here (jobs run with a warning; --strict refuses them)`,
      fix: missingControllerFix(support, controller),
      required: false,
    });
  }
  for (const problem of host.problems)
    checks.push({ name: 'cgroup', ok: false, detail: problem, required: false });
  return checks;
}

function userNamespaceCheck(support: HostSupport | null): Check {
  const read = (file: string): string | null => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      return null;
    }
  };
  const max = read('/proc/sys/user/max_user_namespaces');
  const apparmor = read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
  const supported = fs.existsSync('/proc/self/ns/user') && max !== '0';
  const refused = support !== null && support.namespaces === 'none';
  const detail = !supported
    ? 'disabled (user.max_user_namespaces = 0)'
    : apparmor === '1' && !isRoot()
      ? 'restricted for unprivileged users by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1)'
      : refused && !isRoot()
        ? `refused: ${support.namespacesReason ?? ''}`
        : 'supported';
  return {
    name: 'user namespace (--userns)',
    ok: detail === 'supported',
    detail,
    fix:
      apparmor === '1'
        ? 'sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0 (persist it in /etc/sysctl.d/), or run ringfence as root; a per-program AppArmor profile cannot name the launcher, which runs from a sealed in-memory copy'
        : 'sysctl user.max_user_namespaces=15000',
    required: false,
  };
}

/** The trial job, then what its filesystem showed of the overlay (`--fs overlay`, the default). */
async function trialRun(cgroupParent: string | undefined): Promise<Check[]> {
  // the caps doctor marked are asked for: what the trial says it enforced must match the marks
  const result = await runJob(
    {
      command: ['true'],
      timeout: '10s',
      memory: '64m',
      pidsLimit: 64,
      ...(cgroupParent ? { cgroupParent } : {}),
    },
    { prepareNext: false, warn: false },
  );
  await Sandbox.settle();
  const ok = result.status === 'passed';
  const lost = result.enforcement?.notEnforced ?? [];
  const enforced = ['--memory', '--pids-limit'].filter((c) => !lost.includes(c));
  const trial: Check = {
    name: 'trial job',
    ok,
    detail: ok
      ? `/bin/true ran in a sandbox in ${Math.round(result.wallMs)} ms (enforced: ${enforced.join(' ') || 'no cap'}; not enforced: ${lost.join(' ') || 'nothing'}; figures from ${result.enforcement?.figures ?? 'cgroup'})`
      : result.reason,
    fix: ok
      ? undefined
      : 'see the failing check above; run as root or pass --cgroup-parent a delegated cgroup',
    required: true,
  };
  return ok ? [trial, overlayCheck(result.filesystem)] : [trial];
}

/** What the trial job saw of the host's files: every writable filesystem overlaid, or what was not. */
export function overlayCheck(filesystem: JobFilesystem | undefined): Check {
  const name = 'overlay (--fs overlay)';
  if (filesystem?.mode !== 'overlay')
    return {
      name,
      ok: false,
      detail: "not applied: without a mount namespace jobs write the host's files",
      fix: 'allow user namespaces (sysctl user.max_user_namespaces=15000) or run the container privileged',
      required: false,
    };
  const refused = (filesystem.readOnly ?? []).filter((r) => !r.dirsOverlaid);
  const split = (filesystem.readOnly ?? []).filter((r) => r.dirsOverlaid);
  if (refused.length === 0)
    return {
      name,
      ok: true,
      detail: `writes outside the workdir are the job's own, discarded and reported${split.length ? ` (${split.map((r) => r.path).join(', ')}: each directory overlaid on its own, the files right in it read-only)` : ''}`,
      required: false,
    };
  return {
    name,
    ok: false,
    detail: `bound read-only instead (writes there fail with EROFS): ${refused.map((r) => `${r.path} (${r.code})`).join(', ')}`,
    fix: refused.some((r) => r.path === '/')
      ? 'a kernel ≥ 5.11 for overlays in a user namespace, or run as root; --fs host lets jobs write those paths'
      : 'those filesystems cannot be an overlay lower layer (overlay on overlay, FUSE); --fs host lets jobs write them',
    required: false,
  };
}
