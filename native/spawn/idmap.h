/*
 * idmap.h — the first step of a child cloned into a user namespace of its own (usernet.c,
 * usertmpfs.c): our uid and gid mapped to 0, as the launcher maps a rootless job's (launcher/userns.c).
 */
#ifndef RF_IDMAP_H
#define RF_IDMAP_H

/*
 * Writes "deny" to setgroups (the kernel's rule for an unprivileged gid map), then "0 uid 1" and
 * "0 gid 1"; uid and gid are the caller's, read before the clone (inside they read as the overflow
 * id). No stdio: the child shares the caller's memory. 0 or an errno.
 */
__attribute__((visibility("hidden"))) int rf_userns_map_self(unsigned uid, unsigned gid);

#endif
