// Picks the driver for this host. Everything goes beneath one `ringfence-<pid>-<starttime>-<threadId>`
// parent under the harness's own cgroup (per hierarchy on v1), or under --cgroup-parent /
// RINGFENCE_CGROUP_PARENT when given: never at a hierarchy root unless that is where we are.
import path from 'node:path';
import { CgroupError, type CgroupDriver } from './types.js';
import { detectCgroupHost, type CgroupHost } from './detect.js';
import { formatInstanceName, ownInstanceId } from './instance.js';
import { V1Driver } from './v1.js';
import { V2Driver } from './v2.js';

export * from './types.js';
export { detectCgroupHost, type CgroupHost } from './detect.js';
export { V1Driver, type V1DriverOptions } from './v1.js';
export { V2Driver, type V2DriverOptions } from './v2.js';

export interface OpenCgroupDriverOptions {
  /**
   * Docker's --cgroup-parent: a cgroup path relative to the hierarchy root (e.g. "/ringfence-device")
   * used instead of the own cgroup. Default: the env RINGFENCE_CGROUP_PARENT, else the own cgroup.
   */
  parent?: string;
  /** The host as detected (tests, or a caller that already ran detection). */
  host?: CgroupHost;
}

export const CGROUP_PARENT_ENV = 'RINGFENCE_CGROUP_PARENT';

/** "/a/b" from "a/b/", refusing ".." so a parent cannot climb out of the mount. */
export function normalizeCgroupParent(parent: string): string {
  if (parent.split('/').includes('..')) {
    throw new CgroupError(
      `--cgroup-parent ${JSON.stringify(parent)} contains ".."`,
      'give a path from the hierarchy root, such as /ringfence',
      '--cgroup-parent',
    );
  }
  return path.posix.normalize(`/${parent}`).replace(/(.)\/$/, '$1');
}

export function openCgroupDriver(options: OpenCgroupDriverOptions = {}): CgroupDriver {
  const host = options.host ?? detectCgroupHost();
  const envParent = process.env[CGROUP_PARENT_ENV];
  const rawParent = options.parent ?? (envParent === undefined || envParent === '' ? undefined : envParent);
  const parent = rawParent === undefined ? undefined : normalizeCgroupParent(rawParent);
  const instanceName = formatInstanceName(ownInstanceId());

  if (host.version === 'v2') {
    const unified = host.unified;
    if (unified === null) {
      throw new CgroupError(
        'cgroup v2 is mounted but the own cgroup is not visible in it (/proc/self/cgroup has no usable "0::" line)',
        'run ringfence in the host cgroup namespace, or pass --cgroup-parent',
      );
    }
    return new V2Driver({
      mountRoot: unified.mountPoint,
      basePath: parent ?? unified.ownPath,
      instanceName,
      explicitParent: parent !== undefined,
    });
  }
  return new V1Driver({
    hierarchies: host.hierarchies.map((h) => ({
      controllers: h.controllers,
      mountPoint: h.mountPoint,
      basePath: parent ?? h.ownPath,
    })),
    instanceName,
    explicitParent: parent !== undefined,
  });
}
