/*
 * caps.h — privileges of the job: capabilities and uid/gid.
 */
#ifndef RINGFENCE_CAPS_H
#define RINGFENCE_CAPS_H

#include "options.h"

void caps_drop_and_switch_user(const struct options *o);

#endif
