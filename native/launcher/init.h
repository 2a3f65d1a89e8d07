/*
 * init.h — PID 1 of the job's PID namespace.
 */
#ifndef RINGFENCE_INIT_H
#define RINGFENCE_INIT_H

#include <signal.h>
#include <stdnoreturn.h>

#include "options.h"

noreturn void init_main(struct options *o, int sync_fd, const sigset_t *saved_mask);

#endif
