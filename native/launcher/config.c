/*
 * config.c — the gate's config blob (config.h): read whole, then split into argv and environ.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "proto.h"

extern char **environ;

char *config_read_all(int fd, size_t *len_out, void (*marker)(void *), void *arg)
{
	size_t cap = 4096, len = 0;
	bool first = true;
	char *buf = malloc(cap);

	if (!buf)
		die_step(ENOMEM, "gate", NULL);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *bigger = realloc(buf, cap *= 2);

			if (!bigger)
				die_step(ENOMEM, "gate", NULL);
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(EXIT_LAUNCH_FAILED);
		if (n == 0)
			break;
		if (first && marker && buf[len] == 'P') {
			/* the marker is its own first byte: out of the blob, acted on now */
			memmove(buf + len, buf + len + 1, (size_t)n - 1);
			n--;
			marker(arg);
		}
		first = false;
		len += (size_t)n;
	}
	*len_out = len;
	return buf;
}

void config_apply(char *buf, size_t len, char *argv0, int *argc_out, char ***argv_out)
{
	size_t count = 0, n = 0, i = 0;
	char **vec, *end;
	unsigned long nargs;

	for (size_t k = 0; k < len; k++)
		count += buf[k] == '\0';
	if (len == 0 || buf[len - 1] != '\0')
		die_step(EINVAL, "config", "not NUL-terminated");
	nargs = strtoul(buf, &end, 10);
	if (*end != '\0' || nargs + 1 > count)
		die_step(EINVAL, "config", "bad argument count");
	i = strlen(buf) + 1;
	vec = calloc(count + 3, sizeof(char *));
	if (!vec)
		die_step(ENOMEM, "config", NULL);
	vec[n++] = argv0;
	for (unsigned long a = 0; a < nargs; a++) {
		vec[n++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	*argc_out = (int)n;
	/* the environment goes into the same vector, after argv's NULL */
	vec[n++] = NULL;
	environ = vec + n;
	while (i < len) {
		vec[n++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	vec[n] = NULL;
	*argv_out = vec;
}

