/*
 * What every process of a frozen job tree was doing, read in one call.
 *
 * After a deadline the job's tree waits frozen until its snapshot is taken (harness/job/proctree.ts):
 * two /proc files a process, and only then the kill. From Node each file is an open, a read and a
 * close through the fs binding, and a deadline is rare enough that this JavaScript runs cold; here
 * the reads of the whole tree are one call, at the kernel's own cost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define NO_ROOM (-2)

/* The whole file into out; its length, -1 if it cannot be read (the process is gone), NO_ROOM. */
static long read_whole(const char *path, char *out, long cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long used = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t got;

		if (used == cap) {
			close(fd);
			return NO_ROOM;
		}
		got = read(fd, out + used, (size_t)(cap - used));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			close(fd);
			return -1;
		}
		if (got == 0)
			break;
		used += got;
	}
	close(fd);
	return used;
}

/*
 * /proc/<pid>/status, then /proc/<pid>/cmdline, of each of the n pids, one after the other in out;
 * lengths[2i] and lengths[2i + 1] are their lengths, -1 for a file that could not be read. Returns
 * the bytes used, or -ENOSPC when out is too small: the caller grows it and asks again (the tree is
 * frozen, so the second answer is the first one whole).
 */
long rf_read_procs(const int *pids, int n, char *out, long cap, int *lengths)
{
	static const char *const files[2] = { "status", "cmdline" };
	long used = 0;

	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			char path[48];
			long got;

			snprintf(path, sizeof(path), "/proc/%d/%s", pids[i], files[k]);
			got = read_whole(path, out + used, cap - used);
			if (got == NO_ROOM)
				return -ENOSPC;
			lengths[2 * i + k] = (int)got;
			if (got > 0)
				used += got;
		}
	}
	return used;
}
