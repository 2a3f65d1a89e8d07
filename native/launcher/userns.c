/*
 * userns.c — maps for the child's new user namespace.
 *
 * Why from the outside: a process cannot write its own maps with useful
 * ranges; the parent, still privileged in the host namespace, must. Root
 * maps a 65536-id range starting at host uid/gid 100000 (root inside is
 * uid 100000 outside, so a breakout owns nothing). An unprivileged launcher
 * can only map itself, and must first deny setgroups (kernel rule since 3.19).
 */
#define _GNU_SOURCE
#include "userns.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

#define SUBID_BASE 100000 /* also harness/job/scratch.ts, USERNS_ROOT_ID */
#define SUBID_COUNT 65536

static int write_proc(pid_t pid, const char *file, const char *value)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return write_file(path, value);
}

int userns_write_maps(pid_t child, const char **step)
{
	char uid_map[64], gid_map[64];
	int err;

	if (geteuid() == 0) {
		snprintf(uid_map, sizeof(uid_map), "0 %d %d\n", SUBID_BASE, SUBID_COUNT);
		snprintf(gid_map, sizeof(gid_map), "0 %d %d\n", SUBID_BASE, SUBID_COUNT);
	} else {
		snprintf(uid_map, sizeof(uid_map), "0 %u 1\n", (unsigned)geteuid());
		snprintf(gid_map, sizeof(gid_map), "0 %u 1\n", (unsigned)getegid());
		*step = "setgroups deny";
		if ((err = write_proc(child, "setgroups", "deny")))
			return err;
	}
	*step = "uid_map";
	if ((err = write_proc(child, "uid_map", uid_map)))
		return err;
	*step = "gid_map";
	return write_proc(child, "gid_map", gid_map);
}

/*
 * clone(CLONE_NEWUSER) keeps the child's host credentials, which the
 * 100000-based map does not cover: until it switches to uid/gid 0 of the new
 * namespace, every file it creates fails with EOVERFLOW. Capabilities
 * survive the switch, since the target is the namespace's own root.
 * setgroups is refused after an unprivileged "deny"; the groups are
 * unmapped then anyway.
 */
void userns_become_root(void)
{
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		die_step(errno, "userns setgroups", NULL);
	if (setresgid(0, 0, 0) < 0)
		die_step(errno, "userns setgid", NULL);
	if (setresuid(0, 0, 0) < 0)
		die_step(errno, "userns setuid", NULL);
}
