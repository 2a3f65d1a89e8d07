/*
 * rlimits.c — RLIMIT_CORE 0 always (a crashing test must not fill the disk
 * with cores outside the job's cgroup accounting), RLIMIT_NOFILE when asked
 * (fd counts are per process; no cgroup controller caps them).
 */
#include "rlimits.h"

#include <errno.h>
#include <sys/resource.h>

#include "proto.h"

void rlimits_apply(const struct options *o)
{
	struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_CORE, &none) < 0)
		die_step(errno, "rlimit core", NULL);
	if (o->nofile > 0) {
		struct rlimit nofile = {(rlim_t)o->nofile, (rlim_t)o->nofile};

		if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
			die_step(errno, "rlimit nofile", NULL);
	}
}
