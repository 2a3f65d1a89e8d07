/*
 * fds.c — closes every inherited fd the job was not given explicitly.
 *
 * Why: Node, the gate pipe and anything else the harness had open must not
 * leak into an untrusted job (a leaked writable pipe end would also keep the
 * harness from ever seeing EOF). close_range() does it in a few syscalls;
 * /proc/self/fd is the fallback for kernels before 5.9.
 */
#define _GNU_SOURCE
#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

struct fd_set_sorted {
	int *fds;
	size_t n;
};

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static bool kept(const struct fd_set_sorted *k, int fd)
{
	return bsearch(&fd, k->fds, k->n, sizeof(int), cmp_int) != NULL;
}

static void collect(const struct options *o, int extra_fd, struct fd_set_sorted *k)
{
	k->fds = calloc(o->n_keep_fds + 2, sizeof(int));
	if (!k->fds)
		die_step(ENOMEM, "close fds", NULL);
	k->n = 0;
	for (size_t i = 0; i < o->n_keep_fds; i++) {
		/* Kept fds are handed over on purpose: they must survive exec. */
		if (o->keep_fds[i] != o->status_fd)
			(void)fcntl(o->keep_fds[i], F_SETFD, 0);
		k->fds[k->n++] = o->keep_fds[i];
	}
	k->fds[k->n++] = o->status_fd; /* CLOEXEC: open until exec, for error lines */
	k->fds[k->n++] = extra_fd;
	qsort(k->fds, k->n, sizeof(int), cmp_int);
}

static void close_by_listing(const struct fd_set_sorted *k)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		die_step(errno, "close fds", NULL);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d) && !kept(k, fd))
			close(fd);
	}
	closedir(d);
}

/* close_range(from, to); 0, or -1 with errno. */
static int close_span(unsigned int from, unsigned int to)
{
	if (from > to)
		return 0;
	return (int)syscall(SYS_close_range, from, to, 0);
}

void fds_close_others(const struct options *o, int extra_fd)
{
	struct fd_set_sorted k;
	unsigned int from = 3;
	int failed = 0;

	collect(o, extra_fd, &k);
	/* Close the gaps between kept fds (sorted; -1 and 0..2 are skipped). */
	for (size_t i = 0; i < k.n && !failed; i++) {
		if (k.fds[i] < (int)from)
			continue;
		failed = close_span(from, (unsigned int)k.fds[i] - 1);
		from = (unsigned int)k.fds[i] + 1;
	}
	if (!failed)
		failed = close_span(from, UINT_MAX);
	if (failed) {
		if (errno != ENOSYS)
			die_step(errno, "close fds", NULL);
		close_by_listing(&k);
	}
	free(k.fds);
}
