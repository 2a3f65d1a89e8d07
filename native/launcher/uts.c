/*
 * uts.c — the job's hostname, in its own UTS namespace so the host's
 * name is never changed and jobs cannot tell which machine they run on.
 */
#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

void uts_setup(const char *hostname)
{
	if (sethostname(hostname, strlen(hostname)) < 0)
		die_step(errno, "sethostname", NULL);
}
