/*
 * proto.c — writes the tab-separated status lines.
 *
 * Why so careful: a step may carry a user path, and a tab or newline in it
 * would break the line format the harness splits on, so those are replaced.
 * Lines are capped well below PIPE_BUF so each write() stays atomic.
 */
#include "proto.h"
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 3072

static int status_fd = -1;
static int failure_fd = -1;

void proto_init(int fd)
{
	status_fd = fd;
	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* the job must never inherit it */
}

int proto_status_fd(void) { return status_fd; }

void proto_set_failure_fd(int fd) { failure_fd = fd; }

static void write_all_once(int fd, const char *buf, size_t len)
{
	ssize_t n;
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = '?';
}

void proto_error(int err, const char *step, const char *detail)
{
	char what[LINE_MAX_BYTES - 64];
	char line[LINE_MAX_BYTES];
	int saved = errno;

	snprintf(what, sizeof(what), "%s%s%s", step, detail ? " " : "", detail ? detail : "");
	sanitize(what);
	if (status_fd >= 0) {
		int n = snprintf(line, sizeof(line), "error\t%s\t%d\n", what, err);
		write_all_once(status_fd, line, (size_t)n);
	} else {
		/* No harness listening (manual use): say it to a human instead. */
		int n = snprintf(line, sizeof(line), "ringfence-launcher: %s: %s\n", what, strerror(err));
		write_all_once(STDERR_FILENO, line, (size_t)n);
	}
	if (failure_fd >= 0)
		write_all_once(failure_fd, "!", 1);
	errno = saved;
}

noreturn void die_step(int err, const char *step, const char *detail)
{
	proto_error(err, step, detail);
	_exit(EXIT_LAUNCH_FAILED);
}

static long long usec(const struct timeval *tv)
{
	return (long long)tv->tv_sec * 1000000LL + tv->tv_usec;
}

static void result_line(const char *kind, int value, const struct rusage *ru, const struct io_counters *io)
{
	char line[256];
	int n;

	if (status_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s\t%d\t%ld\t%lld\t%lld", kind, value, ru->ru_maxrss,
		     usec(&ru->ru_utime), usec(&ru->ru_stime));
	if (io->valid)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "\t%llu\t%llu\t%llu\t%llu", io->rchar, io->wchar,
			      io->read_bytes, io->write_bytes);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "\n");
	write_all_once(status_fd, line, (size_t)n);
}

void proto_exit(int code, const struct rusage *ru, const struct io_counters *io)
{
	result_line("exit", code, ru, io);
}

void proto_signal(int signo, const struct rusage *ru, const struct io_counters *io)
{
	result_line("signal", signo, ru, io);
}

#define PATH_FIELD_MAX 2048

/* mountinfo's escaping: \ooo for a space, tab, newline, backslash, DEL or other control byte. */
static int escape_path(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)in; *c; c++) {
		if (n + 5 > cap)
			return -1;
		if (*c <= ' ' || *c == '\\' || *c == 0x7f)
			n += (size_t)snprintf(out + n, cap - n, "\\%03o", *c);
		else
			out[n++] = (char)*c;
	}
	out[n] = '\0';
	return 0;
}

int proto_path_fits(const char *mount_point)
{
	char escaped[PATH_FIELD_MAX];

	return escape_path(mount_point, escaped, sizeof(escaped)) == 0;
}

static void path_line(const char *kind, long long value, const char *mount_point)
{
	char escaped[PATH_FIELD_MAX], line[LINE_MAX_BYTES];
	int n;

	if (status_fd < 0 || escape_path(mount_point, escaped, sizeof(escaped)) < 0)
		return;
	n = snprintf(line, sizeof(line), "%s\t%lld\t%s\n", kind, value, escaped);
	write_all_once(status_fd, line, (size_t)n);
}

void proto_overlay(unsigned n, const char *mount_point) { path_line("overlay", n, mount_point); }

void proto_fs_ro(int err, const char *mount_point) { path_line("fs-ro", err, mount_point); }

void proto_fs_split(int err, const char *mount_point) { path_line("fs-split", err, mount_point); }

void proto_layers(unsigned long long inodes)
{
	char line[64];
	int n;

	if (status_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "layers\t%llu\n", inodes);
	write_all_once(status_fd, line, (size_t)n);
}

void proto_init_pid(pid_t pid)
{
	char line[32];
	int n;

	if (status_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "init\t%d\n", (int)pid);
	write_all_once(status_fd, line, (size_t)n);
}

void proto_tree(const struct rusage *ru)
{
	char line[128];
	int n;

	if (status_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "tree\t%ld\t%lld\t%lld\n", ru->ru_maxrss, usec(&ru->ru_utime),
		     usec(&ru->ru_stime));
	write_all_once(status_fd, line, (size_t)n);
}

static bool tracing;

void proto_trace_enable(void) { tracing = true; }

void proto_trace(const char *phase)
{
	struct timespec ts;
	char line[128];
	int n;

	if (!tracing || status_fd < 0 || clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return;
	n = snprintf(line, sizeof(line), "trace\t%s\t%lld\n", phase, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	write_all_once(status_fd, line, (size_t)n);
}
