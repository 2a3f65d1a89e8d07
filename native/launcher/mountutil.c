/*
 * mountutil.c — mount flag changes that respect what is already there.
 *
 * Why preserve flags: inside a user namespace, nosuid/nodev/noexec/ro/atime
 * flags inherited from the host are locked, and a bind-remount that does not
 * repeat them fails with EPERM. statvfs() tells the current ones.
 * Why mount_setattr first: MS_REMOUNT only touches the top mount, while
 * AT_RECURSIVE covers a whole tree in one atomic call.
 */
#define _GNU_SOURCE
#include "mountutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define RF_OPEN_TREE_CLONE 1
#define RF_MOVE_MOUNT_F_EMPTY_PATH 0x4
#define RF_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define RF_AT_RECURSIVE 0x8000

struct rf_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

int rf_open_tree(const char *path)
{
	return (int)syscall(SYS_open_tree, AT_FDCWD, path,
			    RF_OPEN_TREE_CLONE | O_CLOEXEC | RF_AT_RECURSIVE);
}

int rf_move_mount(int tree_fd, const char *dst)
{
	return (int)syscall(SYS_move_mount, tree_fd, "", AT_FDCWD, dst,
			    RF_MOVE_MOUNT_F_EMPTY_PATH);
}

int rf_move_mount_onto(int tree_fd, int target_fd)
{
	return (int)syscall(SYS_move_mount, tree_fd, "", target_fd, "",
			    RF_MOVE_MOUNT_F_EMPTY_PATH | RF_MOVE_MOUNT_T_EMPTY_PATH);
}

static unsigned long current_ms_flags(const struct statvfs *st)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ST_RDONLY, MS_RDONLY},	    {ST_NOSUID, MS_NOSUID},	  {ST_NODEV, MS_NODEV},
		{ST_NOEXEC, MS_NOEXEC},	    {ST_NOATIME, MS_NOATIME},	  {ST_NODIRATIME, MS_NODIRATIME},
		{ST_RELATIME, MS_RELATIME},
	};
	unsigned long ms = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (st->f_flag & map[i].st)
			ms |= map[i].ms;
	return ms;
}

int remount_flags(const char *path, unsigned long set, unsigned long clear)
{
	struct statvfs st;
	unsigned long flags;

	if (statvfs(path, &st) < 0)
		return errno;
	flags = (current_ms_flags(&st) | set) & ~clear;
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
		return errno;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
void mountinfo_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static int under(const char *prefix, const char *mp)
{
	size_t len = strlen(prefix);

	if (!strcmp(prefix, "/"))
		return 1;
	return !strncmp(mp, prefix, len) && (mp[len] == '\0' || mp[len] == '/');
}

/* Field 5 of a mountinfo line is the mount point. */
static char *mount_point(char *line)
{
	char *field = line;

	for (int i = 0; i < 4 && field; i++) {
		field = strchr(field, ' ');
		if (field)
			field++;
	}
	if (!field)
		return NULL;
	field[strcspn(field, " ")] = '\0';
	mountinfo_unescape(field);
	return field;
}

static int remount_each(const char *path, unsigned long ms_flags)
{
	char prefix[PATH_MAX];
	char *info, *line, *save = NULL;
	int err = 0;

	if (!realpath(path, prefix))
		return errno;
	if (!(info = slurp_file("/proc/self/mountinfo")))
		return errno;
	for (line = strtok_r(info, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
		char *mp = mount_point(line);

		if (mp && under(prefix, mp))
			err = remount_flags(mp, ms_flags, 0);
		if (err == ENOENT || err == EACCES) /* shadowed by a later mount */
			err = 0;
	}
	free(info);
	return err;
}

int tree_set_flags(const char *path, uint64_t attr, unsigned long ms_flags)
{
	struct rf_mount_attr ma = {.attr_set = attr};

	if (syscall(SYS_mount_setattr, AT_FDCWD, path, RF_AT_RECURSIVE, &ma, sizeof(ma)) == 0)
		return 0;
	if (errno != ENOSYS)
		return errno;
	return remount_each(path, ms_flags);
}
