/*
 * rlimits.h — per-process limits the cgroup cannot express.
 */
#ifndef RINGFENCE_RLIMITS_H
#define RINGFENCE_RLIMITS_H

#include "options.h"

void rlimits_apply(const struct options *o);

#endif
