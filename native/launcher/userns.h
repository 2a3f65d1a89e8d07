/*
 * userns.h — uid/gid maps for --userns, written by the outer process.
 */
#ifndef RINGFENCE_USERNS_H
#define RINGFENCE_USERNS_H

#include <sys/types.h>

#include "options.h"

/*
 * 0, or an errno with *step naming what failed. `sub` (NULL or a zero count: none): the user's
 * subordinate ranges, mapped above the user (unprivileged only) through newuidmap/newgidmap.
 */
int userns_write_maps(pid_t child, const struct subids *sub, const char **step);
/* In the child, once the maps exist: become the namespace's root. */
void userns_become_root(void);

#endif
