/*
 * userns.c — maps for the child's new user namespace.
 *
 * Why from the outside: a process cannot write its own maps with useful
 * ranges; the parent, still privileged in the host namespace, must. Root
 * maps a 65536-id range starting at host uid/gid 100000 (root inside is
 * uid 100000 outside, so a breakout owns nothing). An unprivileged launcher
 * can only map itself, and must first deny setgroups (kernel rule since 3.19) —
 * unless the harness passed the user's subordinate ranges (--subids): then the
 * set-uid newuidmap/newgidmap (the uidmap package, the way rootless Podman does
 * it) map 0 to the user and 1..N to the range, so a service that refuses root
 * (Postgres) can run as an unprivileged id inside.
 */
#define _GNU_SOURCE
#include "userns.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <sys/wait.h>
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

/* `newuidmap PID 0 ID 1 1 START COUNT` (or newgidmap): 0 when it exited 0, else an errno. */
static int run_idmap(const char *prog, pid_t child, unsigned id, unsigned long start, unsigned long count)
{
	static const char *const dirs[] = {"/usr/bin/", "/bin/"};
	char pid_s[16], id_s[16], start_s[24], count_s[24], path[64];
	int status;
	pid_t p;

	snprintf(pid_s, sizeof(pid_s), "%d", (int)child);
	snprintf(id_s, sizeof(id_s), "%u", id);
	snprintf(start_s, sizeof(start_s), "%lu", start);
	snprintf(count_s, sizeof(count_s), "%lu", count);
	p = fork();
	if (p < 0)
		return errno;
	if (p == 0) {
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", dirs[i], prog);
			execl(path, prog, pid_s, "0", id_s, "1", "1", start_s, count_s, (char *)NULL);
		}
		_exit(127);
	}
	while (waitpid(p, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ENOENT : EPERM;
}

int userns_write_maps(pid_t child, const struct subids *sub, const char **step)
{
	char uid_map[64], gid_map[64];
	int err;

	if (geteuid() != 0 && sub && sub->uid_count) {
		*step = "newuidmap";
		if ((err = run_idmap("newuidmap", child, (unsigned)geteuid(), sub->uid_start, sub->uid_count)))
			return err;
		*step = "newgidmap";
		return run_idmap("newgidmap", child, (unsigned)getegid(), sub->gid_start, sub->gid_count);
	}
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
