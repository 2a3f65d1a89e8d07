// What a worker thread of the Harness left when it died mid-job: its instance parent, the job
// cgroups in it and its scratch dirs, which the stale sweep cannot take while this process lives.
import { openPlacedDriver } from '../cgroup/index.js';
import { ownInstanceId } from '../cgroup/instance.js';
import { removeInstanceScratch } from '../job/scratch.js';

/**
 * What a worker thread of this process left when it died mid-job (piscina replaces it; the job
 * became an `error` result): its instance parent under each cgroup parent it may have used, the job
 * cgroups in it (the launchers were tied to that thread and died with it; anything left is killed)
 * and its scratch dirs. The stale sweep cannot take them while this process lives.
 */
export async function reapDeadThread(
  threadId: number,
  cgroupParents: Iterable<string | null>,
): Promise<void> {
  const instance = { ...ownInstanceId(), threadId };
  const errors: unknown[] = [];
  for (const parent of new Set(cgroupParents)) {
    try {
      const { driver } = await openPlacedDriver(parent);
      await driver?.reapThread(threadId);
    } catch (error) {
      errors.push(error);
    }
  }
  await removeInstanceScratch(instance);
  if (errors.length > 0) throw errors[0];
}
