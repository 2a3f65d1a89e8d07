/*
 * fds.h — what the job inherits: 0, 1, 2 and the --keep-fd list, nothing else.
 */
#ifndef RINGFENCE_FDS_H
#define RINGFENCE_FDS_H

#include "options.h"

/* extra_fd stays open too (a CLOEXEC pipe that must live until exec). */
void fds_close_others(const struct options *o, int extra_fd);

#endif
