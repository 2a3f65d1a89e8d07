// Who the harness runs as: root (effective uid 0), or a rootless user. What the harness may do
// follows from it — make cgroups anywhere, mount, own loop devices, map ids for `--userns` — so the
// whole harness asks here, and no two places can decide it differently (reporters/json.ts, which
// imports only types from the harness, makes the same test for a report's `privileges`).

/** The harness runs as root (effective uid 0). */
export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}
