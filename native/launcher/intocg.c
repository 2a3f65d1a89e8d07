/*
 * intocg.c — clone_child (intocg.h).
 */
#define _GNU_SOURCE
#include "intocg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
/* the exit signal's bits of clone(2)'s flags; clone3 takes it apart */
#define CLONE_SIGNAL_BITS 0xffUL

/* clone3's argument, as of Linux 5.7 (the cgroup field): our own, so older headers build it too */
struct clone_args_v2 {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};

/* Moves pid into the cgroup of cgroup_fd: 0, or an errno value. */
static int move_into(int cgroup_fd, pid_t pid)
{
	char text[24];
	int fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC), err = 0;
	int len = snprintf(text, sizeof(text), "%d", (int)pid);

	if (fd < 0)
		return errno;
	if (write(fd, text, (size_t)len) != len)
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

pid_t clone_child(unsigned long flags, int cgroup_fd)
{
	pid_t child;
	int err;

	if (cgroup_fd >= 0) {
		struct clone_args_v2 args;

		memset(&args, 0, sizeof(args));
		args.flags = (flags & ~CLONE_SIGNAL_BITS) | CLONE_INTO_CGROUP;
		args.exit_signal = flags & CLONE_SIGNAL_BITS;
		args.cgroup = (uint64_t)cgroup_fd;
		/* no stack of its own: fork semantics, the child returns here on a copy of ours */
		child = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (child >= 0)
			return child;
		/* a kernel without clone3 (ENOSYS), or one that does not know the cgroup field (E2BIG,
		 * EINVAL): the move below. Anything else (EPERM for a namespace) is the clone's answer. */
		if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
			return -1;
	}
	child = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
	if (child <= 0 || cgroup_fd < 0)
		return child;
	err = move_into(cgroup_fd, child);
	if (err) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, __WALL) < 0 && errno == EINTR)
			;
		errno = err;
		return -1;
	}
	return child;
}
