// Each job's scratch directory: its private /tmp inside the sandbox. Made by tmp-promise under the
// host's tmpdir with the owner instance in its name, removed without following any symlink the job
// left (fs.rm unlinks links, it never descends into them), and swept when an earlier ringfence died.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dir } from 'tmp-promise';
import { formatInstanceName, isInstanceStale, ownInstanceId } from './cgroup/instance.js';

// ringfence-<pid>-<starttime>-<threadId>-<random>: the cgroup instance name plus tmp-promise's suffix
const NAME = /^ringfence-(\d+)-(\d+)-(\d+)-/;

export interface Scratch {
  path: string;
  remove(): Promise<void>;
}

/**
 * `shared` widens the mode to 1777 for jobs that run as another uid (--user, --userns) and must
 * write their /tmp; otherwise only root, which the job is, can enter it.
 */
export async function createScratch(shared: boolean): Promise<Scratch> {
  const made = await dir({ prefix: `${formatInstanceName(ownInstanceId())}-`, mode: 0o700 });
  if (shared) await fs.promises.chmod(made.path, 0o1777);
  return {
    path: made.path,
    remove: () => removeTree(made.path),
  };
}

export async function removeTree(target: string): Promise<void> {
  await fs.promises.rm(target, { recursive: true, force: true, maxRetries: 3 });
}

/** Removes scratch dirs of ringfence processes that are gone; returns the paths removed. */
export async function sweepStaleScratch(tmpdir = os.tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(tmpdir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = NAME.exec(name);
    if (
      !match ||
      !isInstanceStale({ pid: Number(match[1]), startTime: match[2] ?? '', threadId: Number(match[3]) })
    )
      continue;
    const target = path.join(tmpdir, name);
    await removeTree(target);
    removed.push(target);
  }
  return removed;
}
