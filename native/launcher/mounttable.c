/*
 * mounttable.c — the mounts this process sees, read from /proc/self/mountinfo: each entry's id,
 * mount point and filesystem type, and whether it is the mount a lookup of its mount point reaches
 * (statx's STATX_MNT_ID), not one covered by a later mount on the same path. Sorted parents before
 * children, the order a tree is rebuilt in (overlay.c).
 */
#define _GNU_SOURCE
#include "mounttable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mountutil.h"
#include "proto.h"
#include "util.h"

/* "36 35 98:0 /root /mnt rw,noatime shared:1 - ext4 /dev/sda1 rw": id, mount point, fs type. */
static bool parse_line(char *line, struct mnt *m)
{
	char *field[6], *save = NULL, *tok;
	int i = 0;

	for (tok = strtok_r(line, " ", &save); tok && i < 6; tok = strtok_r(NULL, " ", &save))
		field[i++] = tok;
	if (i < 6)
		return false;
	while (tok && strcmp(tok, "-") != 0) /* the optional fields end at "-" */
		tok = strtok_r(NULL, " ", &save);
	if (!tok || !(tok = strtok_r(NULL, " ", &save)))
		return false;
	m->id = strtoull(field[0], NULL, 10);
	m->mp = field[4];
	mountinfo_unescape(m->mp);
	m->fstype = tok;
	m->depth = 0;
	for (const char *c = m->mp; *c; c++)
		m->depth += *c == '/' && c[1] != '\0';
	return true;
}

/* Whether the mount is the one a lookup of its mount point reaches (not covered by a later one). */
static bool visible(const struct mnt *m)
{
#ifdef STATX_MNT_ID
	struct statx stx;

	if (statx(AT_FDCWD, m->mp, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0)
		return false; /* gone, or out of our reach: nothing of it can show in the job either */
	if (!(stx.stx_mask & STATX_MNT_ID))
		return true; /* a kernel before 5.8 cannot say: take it */
	return stx.stx_mnt_id == m->id;
#else
	return access(m->mp, F_OK) == 0;
#endif
}

static int by_depth(const void *a, const void *b)
{
	const struct mnt *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct mnt *mount_table(bool (*wanted)(const char *mp, const void *ctx), const void *ctx, char **info,
		       size_t *count)
{
	size_t cap = 64, n = 0, order = 0;
	struct mnt *list = malloc(cap * sizeof(*list));
	char *line, *save = NULL;

	*info = slurp_file("/proc/self/mountinfo");
	if (!*info || !list)
		die_step(errno ? errno : ENOMEM, "overlay", "mountinfo");
	for (line = strtok_r(*info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mnt m;

		if (!parse_line(line, &m))
			continue;
		/* (what is not wanted: no need to ask whether it is visible) */
		m.marked = wanted(m.mp, ctx) && visible(&m);
		m.order = order++;
		if (n == cap) {
			struct mnt *bigger = realloc(list, (cap *= 2) * sizeof(*list));

			if (!bigger)
				die_step(ENOMEM, "overlay", "mountinfo");
			list = bigger;
		}
		list[n++] = m;
	}
	qsort(list, n, sizeof(*list), by_depth);
	*count = n;
	return list;
}
