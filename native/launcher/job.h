/*
 * job.h — the job child, between fork and exec.
 */
#ifndef RINGFENCE_JOB_H
#define RINGFENCE_JOB_H

#include <signal.h>
#include <stdnoreturn.h>

#include "options.h"

noreturn void job_exec(const struct options *o, const sigset_t *saved_mask, int fail_fd);

#endif
