// Who the harness runs as: root (effective uid 0), or a rootless user. What the harness may do
// follows from it — make cgroups anywhere, mount, own loop devices, map ids for `--userns` — so the
// whole code asks here, and no two places can decide it differently.

/** The harness runs as root (effective uid 0). */
export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}
