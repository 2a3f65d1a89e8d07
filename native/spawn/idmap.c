/*
 * idmap.c — our own ids as root in a fresh user namespace (idmap.h), for the children that
 * usernet.c and usertmpfs.c clone into one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "idmap.h"

static int write_all(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	int err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

/* "0 ID 1\n": a map of one id to root. */
static void one_id_map(char *out, unsigned id)
{
	char digits[12];
	int n = 0;

	do {
		digits[n++] = (char)('0' + id % 10);
		id /= 10;
	} while (id);
	*out++ = '0';
	*out++ = ' ';
	while (n)
		*out++ = digits[--n];
	memcpy(out, " 1\n", 4);
}

int rf_userns_map_self(unsigned uid, unsigned gid)
{
	char map[32];
	int err;

	if ((err = write_all("/proc/self/setgroups", "deny")))
		return err;
	one_id_map(map, uid);
	if ((err = write_all("/proc/self/uid_map", map)))
		return err;
	one_id_map(map, gid);
	return write_all("/proc/self/gid_map", map);
}
