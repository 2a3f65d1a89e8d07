/*
 * userchild.h — a short-lived child in a user namespace of its own, for the namespaces and mounts a
 * rootless harness cannot make in ours (usernet.c, usertmpfs.c).
 *
 * Why CLONE_VM|CLONE_VFORK|CLONE_FILES: the fds it opens land in our table and its results in our
 * memory, with no copy of the harness's page tables or fd table (as posix_spawn, spawn.c); the
 * calling thread waits until it has exited. Its exit signal is none, so libuv never sees it, and all
 * signals stay blocked in it: a handler of Node's must never run on its stack.
 */
#ifndef RF_USERCHILD_H
#define RF_USERCHILD_H

/*
 * Runs fn(arg) in a child cloned with CLONE_NEWUSER and `flags` (more namespaces), which must end
 * with _exit; returns once it has been reaped: 0, or the errno of the clone or the wait (the child's
 * own outcome goes through `arg`).
 */
__attribute__((visibility("hidden"))) int rf_userchild_run(int (*fn)(void *), void *arg, int flags);

/*
 * In such a child, first: writes "deny" to setgroups (the kernel's rule for an unprivileged gid map),
 * then "0 uid 1" and "0 gid 1"; uid and gid are the caller's, read before the clone (inside they read
 * as the overflow id). No stdio: the child shares the caller's memory. 0 or an errno.
 */
__attribute__((visibility("hidden"))) int rf_userns_map_self(unsigned uid, unsigned gid);

#endif
