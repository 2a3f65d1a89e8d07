/*
 * mounttable.h — the mounts this process sees (/proc/self/mountinfo), the ones a lookup reaches
 * marked, parents first. Why a table of its own: overlay.c rebuilds the job's whole tree from it, and
 * what is visible must be decided by mount id, never by path alone (a later mount can cover one).
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
	bool wanted; /* visible, and wanted by the caller */
};

/*
 * Every mount, parents before children; `wanted(mp, ctx)` picks those to mark (visibility is asked
 * of those alone). *info owns the strings; both are the caller's to free. Dies on failure.
 */
struct mnt *mount_table(bool (*wanted)(const char *mp, const void *ctx), const void *ctx, char **info,
			size_t *count);

#endif
