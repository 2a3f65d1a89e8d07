/*
 * reaper.c — ends what a job left behind when it has no PID namespace.
 *
 * Why: with a PID namespace the kernel kills everything in it once init
 * exits. Under --no-namespaces the outer process is a child subreaper
 * instead (PR_SET_CHILD_SUBREAPER), so every orphan of the job — a
 * daemonized leftover included — reparents to it, and it kills them itself.
 *
 * Children are found by their ppid in /proc/<pid>/stat rather than in
 * /proc/self/task/<tid>/children, which needs CONFIG_PROC_CHILDREN and may
 * skip entries while the list changes under it (exactly what happens here).
 * Our own pid is read as /proc sees it (/proc/self), so a /proc mounted for
 * another PID namespace finds nothing rather than the wrong processes.
 */
#define _GNU_SOURCE
#include "reaper.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static long own_pid_in_proc(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return (long)getpid();
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* The ppid field of /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold ')' and spaces). */
static long ppid_of(const char *pid)
{
	char path[64], buf[512];
	char *close_paren;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	close_paren = strrchr(buf, ')');
	if (!close_paren || strlen(close_paren) < 4)
		return -1;
	return strtol(close_paren + 4, NULL, 10); /* past ") S " */
}

/* SIGKILL to every child of ours; returns how many were found. */
static size_t kill_children(long self)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT_MAX || ppid_of(e->d_name) != self)
			continue;
		/* our child until we reap it, which only this thread does: the pid cannot be reused */
		kill((pid_t)pid, SIGKILL);
		found++;
	}
	closedir(d);
	return found;
}

void reaper_end_leftovers(void)
{
	long self = own_pid_in_proc();

	for (;;) {
		pid_t r;

		kill_children(self);
		/*
		 * Blocks until a child ends. Every child there was when the scan began was found and killed,
		 * so one of them will; a child added meanwhile (the orphan of a descendant that just died) is
		 * found by the next scan. With no child at the scan's start there is no descendant left to
		 * add one, and this says ECHILD. Were /proc unreadable, this would wait for the children to
		 * end otherwise: the harness kills a job's processes from outside on a timeout.
		 */
		r = waitpid(-1, NULL, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return; /* ECHILD: nothing left */
		while (waitpid(-1, NULL, __WALL | WNOHANG) > 0)
			;
	}
}
