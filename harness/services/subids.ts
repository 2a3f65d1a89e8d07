// The user's subordinate ids, for rootless services that run as another id than root inside (a
// Postgres, which refuses root): /etc/subuid and /etc/subgid name a range each user may map in a user
// namespace of theirs, through the set-uid newuidmap/newgidmap (the uidmap package) — the way
// rootless Podman gets more than one id. The launcher maps 0 to the user and 1..count to the range
// (native/launcher/userns.c); without a range there is one id inside, root, and this says how to fix it.
import fs from 'node:fs';
import os from 'node:os';

export interface Subids {
  uid: { start: number; count: number };
  gid: { start: number; count: number };
}

/** Ids 1..65536 inside at most: as many as root's own map (launcher's SUBID_COUNT). */
const MAX_COUNT = 65536;

/** The first range of /etc/subuid or /etc/subgid for this user (by name or id), or null. */
export function parseSubidFile(
  text: string,
  name: string,
  id: number,
): { start: number; count: number } | null {
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who !== name && who !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(c) || s <= 0 || c <= 0) continue;
    return { start: s, count: Math.min(c, MAX_COUNT) };
  }
  return null;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function installed(prog: string): boolean {
  return ['/usr/bin/', '/bin/'].some((dir) => fs.existsSync(dir + prog));
}

/**
 * This user's subordinate ranges, or why there are none, as the fix: `needs` is the highest id wanted
 * inside (a service's `user`), which the range must cover.
 */
export function userSubids(needs: number): Subids | { why: string } {
  const { username, uid, gid } = os.userInfo();
  const fix = `add a range for ${username} to /etc/subuid and /etc/subgid (sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${username}) and install uidmap (newuidmap, newgidmap)`;
  const subuid = parseSubidFile(read('/etc/subuid'), username, uid);
  const subgid = parseSubidFile(read('/etc/subgid'), username, gid);
  if (!subuid || !subgid) return { why: `${username} has no subordinate ids: ${fix}` };
  if (!installed('newuidmap') || !installed('newgidmap'))
    return { why: `newuidmap/newgidmap are not installed: ${fix}` };
  const count = Math.min(subuid.count, subgid.count);
  if (needs > count)
    return {
      why: `the subordinate ranges of ${username} cover ids 1..${count} inside, not ${needs}: ${fix}`,
    };
  return { uid: subuid, gid: subgid };
}
