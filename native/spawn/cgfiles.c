/*
 * The same small file operation on each of a job's cgroup directories (cgroup v1 has one per
 * hierarchy, five for a plain job), in one call: the harness makes it on koffi's worker thread, one
 * thread-pool trip, where fs.promises took three trips and a promise chain per file: the harness's
 * CPU, on a host where the harness is what limits the rate of jobs.
 *
 * `paths` is `n` NUL-terminated paths one after the other, as rf_spawn's argv.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Which path failed and why, in one int: ((index + 1) << 16) | errno; 0 is success. */
static int failure(int index, int err)
{
	return ((index + 1) << 16) | (err & 0xffff);
}

/*
 * Writes `value` into each file with one write(2), without O_CREAT (a missing interface file is
 * ENOENT, never a new plain file): a pid into every cgroup.procs of a job. O_TRUNC as the harness's
 * writeText: nothing on cgroupfs, and the whole value on a plain file. On v1 each such write
 * waits for an RCU grace period, which is why this runs off the event loop. Stops at the first
 * failure; returns 0 or failure(index, errno).
 */
int rf_write_each(const char *paths, int n, const char *value)
{
	size_t len = strlen(value);
	const char *path = paths;
	for (int i = 0; i < n; i++, path += strlen(path) + 1) {
		int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0)
			return failure(i, errno);
		ssize_t written = write(fd, value, len);
		int err = written < 0 ? errno : (size_t)written != len ? EIO : 0;
		close(fd);
		if (err != 0)
			return failure(i, err);
	}
	return 0;
}

/*
 * rmdir of each directory; one that is already gone counts as removed. Returns a bit per directory
 * that is still there (bit i for path i; at most 31 paths), for the caller's slower path: a child
 * cgroup a job made inside, or EBUSY for the few ms after the last task left.
 */
int rf_rmdir_each(const char *paths, int n)
{
	int left = 0;
	const char *path = paths;
	for (int i = 0; i < n && i < 31; i++, path += strlen(path) + 1) {
		if (rmdir(path) != 0 && errno != ENOENT)
			left |= 1 << i;
	}
	return left;
}
