/*
 * util.h — small helpers shared by the outer process, init and the job.
 */
#ifndef RINGFENCE_UTIL_H
#define RINGFENCE_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* One write() of s to path (procfs files want the whole value at once). 0 or errno. */
int write_file(const char *path, const char *s);
/* Reads up to cap-1 bytes, NUL-terminated. Returns bytes read or -errno. */
ssize_t read_file(const char *path, char *buf, size_t cap);
/* Whole file into a malloc()ed NUL-terminated buffer, or NULL with errno set. */
char *slurp_file(const char *path);
/* Blocks for exactly one byte; 1 on success, 0 on EOF, -1 on error. */
int read_byte(int fd);

#endif
