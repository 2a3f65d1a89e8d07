// The cgroup driver as the sandbox opens it (placement first), for the driver tests.
import { openPlacedDriver } from '../../harness/cgroup/index.js';
import type { CgroupDriver } from '../../harness/cgroup/types.js';

export async function openTestDriver(parent?: string): Promise<CgroupDriver> {
  const { placement, driver } = await openPlacedDriver(parent);
  if (driver === null) throw new Error(`no cgroup here: ${placement.reason ?? ''}`);
  return driver;
}
