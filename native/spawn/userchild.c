/*
 * userchild.c — a short-lived child in a user namespace of its own, our ids as root there
 * (userchild.h), for usernet.c and usertmpfs.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "userchild.h"

#define CHILD_STACK_BYTES (64 * 1024)

int rf_userchild_run(int (*fn)(void *), void *arg, int flags)
{
	sigset_t all, saved;
	char *stack;
	pid_t pid;
	int status, err = 0;

	stack = mmap(NULL, CHILD_STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		     -1, 0);
	if (stack == MAP_FAILED)
		return errno;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = clone(fn, stack + CHILD_STACK_BYTES, CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_NEWUSER | flags,
		    arg);
	if (pid < 0)
		err = errno;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (pid > 0)
		while (waitpid(pid, &status, __WALL) < 0)
			if (errno != EINTR) {
				err = errno;
				break;
			}
	munmap(stack, CHILD_STACK_BYTES);
	return err;
}

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
