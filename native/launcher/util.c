/*
 * util.c — file helpers with EINTR handling.
 *
 * Why not stdio: these run between clone/fork and exec, where a half-flushed
 * FILE buffer copied from the parent would be written twice.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return errno;
	do
		n = write(fd, s, strlen(s));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		err = errno;
	close(fd);
	return err;
}

ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

char *slurp_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 0, len = 0;
	char *buf = NULL;
	int err = 0;

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *grown = realloc(buf, ncap);

			if (!grown) {
				err = ENOMEM;
				break;
			}
			buf = grown;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0) {
			buf[len] = '\0';
			close(fd);
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	close(fd);
	errno = err;
	return NULL;
}

int read_byte(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : (int)n;
}
