// Opens the driver for this host at the place placement.ts chose. Every job of one ringfence process
// goes beneath one `ringfence-<pid>-<starttime>` parent there (per hierarchy on v1), so they are
// siblings: never at a hierarchy root unless that is where we are.
import path from 'node:path';
import { CgroupError, type CgroupDriver } from './types.js';
import { detectCgroupHost, type CgroupHost } from './detect.js';
import { formatProcessInstanceName, ownInstanceId } from './instance.js';
import { placeProcess, type Placement } from './placement.js';
import { V1Driver } from './v1.js';
import { V2Driver } from './v2.js';

export * from './types.js';
export { detectCgroupHost, type CgroupHost } from './detect.js';
export { V1Driver, type V1DriverOptions } from './v1.js';
export { V2Driver, type V2DriverOptions } from './v2.js';
export { placeProcess, describePlacement, type Placement, type PlacementKind } from './placement.js';

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

/**
 * The driver for a placement (placement.ts decides where; this only builds). null when the
 * placement gave jobs no cgroup.
 */
export function openCgroupDriver(
  placement: Placement,
  host: CgroupHost = detectCgroupHost(),
): CgroupDriver | null {
  if (placement.version === null) return null;
  const instanceName = formatProcessInstanceName(ownInstanceId());
  if (placement.version === 'v2') {
    const unified = host.unified;
    if (unified === null) {
      throw new CgroupError(
        'cgroup v2 is mounted but the own cgroup is not visible in it (/proc/self/cgroup has no usable "0::" line)',
        'run ringfence in the host cgroup namespace, or pass --cgroup-parent',
      );
    }
    return new V2Driver({
      mountRoot: unified.mountPoint,
      basePath: placement.basePath ?? unified.ownPath,
      instanceName,
      explicitParent: placement.kind === 'cgroup-parent',
    });
  }
  return new V1Driver({
    hierarchies: host.hierarchies.map((h) => ({
      controllers: h.controllers,
      mountPoint: h.mountPoint,
      basePath: placement.basePath ?? h.ownPath,
    })),
    instanceName,
    explicitParent: placement.kind === 'cgroup-parent',
  });
}

/** The --cgroup-parent in force: the option, else RINGFENCE_CGROUP_PARENT, normalized; undefined for none. */
export function cgroupParentFromEnv(parent?: string | null): string | undefined {
  const envParent = process.env[CGROUP_PARENT_ENV];
  const raw = parent ?? (envParent === undefined || envParent === '' ? undefined : envParent);
  return raw === undefined ? undefined : normalizeCgroupParent(raw);
}

/** Placement and driver together: what Sandbox and doctor open. */
export async function openPlacedDriver(
  parent?: string | null,
): Promise<{ placement: Placement; driver: CgroupDriver | null }> {
  const host = detectCgroupHost();
  const normalized = cgroupParentFromEnv(parent);
  const placement = await placeProcess({ ...(normalized === undefined ? {} : { parent: normalized }), host });
  // the placement may have moved this process: read where it is now
  return { placement, driver: openCgroupDriver(placement, detectCgroupHost()) };
}
