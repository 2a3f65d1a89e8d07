/*
 * userns.h — uid/gid maps for --userns, written by the outer process.
 */
#ifndef RINGFENCE_USERNS_H
#define RINGFENCE_USERNS_H

#include <sys/types.h>

/* 0, or an errno with *step naming what failed. */
int userns_write_maps(pid_t child, const char **step);
/* In the child, once the maps exist: become the namespace's root. */
void userns_become_root(void);

#endif
