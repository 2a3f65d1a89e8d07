/*
 * mounttable.h — the mounts this process sees (/proc/self/mountinfo), parents first, those the
 * caller wants marked where a lookup of their mount point reaches them. Why a table of its own:
 * overlay.c rebuilds the job's whole tree from it, and what is visible must be decided by mount id,
 * never by path alone (a later mount can cover one).
 */
#ifndef RINGFENCE_MOUNTTABLE_H
#define RINGFENCE_MOUNTTABLE_H

#include <stdbool.h>
#include <stddef.h>

struct mnt {
	char *mp;
	const char *fstype;
	unsigned long long id;
	size_t depth, order;
	bool marked; /* wanted by the caller, and visible */
};

/*
 * Every mount, parents before children; marked: `wanted(mp, ctx)` and visible (visibility is asked
 * of the wanted alone). *info owns the strings; both are the caller's to free. Dies on failure.
 */
struct mnt *mount_table(bool (*wanted)(const char *mp, const void *ctx), const void *ctx, char **info,
			size_t *count);

#endif
