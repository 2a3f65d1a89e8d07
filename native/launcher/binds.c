/*
 * binds.c — host directories shown inside: --volume and --tmp-dir.
 *
 * Why staged: a bind mount copies the flags of the mount its source sits on,
 * so a bind made after --read-only turned "/" read-only would be read-only
 * too; and by the time volumes are attached, a source under /tmp is hidden by
 * the sandbox's own /tmp. So every source is captured first, with open_tree()
 * (a detached clone that keeps the host's flags), and attached at the end
 * with move_mount(): a writable volume stays writable, a :ro one is made
 * read-only recursively.
 * Kernels before 5.2 lack open_tree: there the source is held by an O_PATH fd
 * and bound late through /proc/self/fd; under --read-only the volume's top
 * mount is then made writable again (its submounts stay read-only, a limit
 * of that fallback only).
 */
#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mountutil.h"
#include "proto.h"

static void stage(const char *src, struct staged_bind *sb, const char *step, const char *detail)
{
	sb->fd = rf_open_tree(src);
	sb->detached = sb->fd >= 0;
	if (sb->fd < 0 && errno == ENOSYS)
		sb->fd = open(src, O_PATH | O_CLOEXEC);
	if (sb->fd < 0)
		die_step(errno, step, detail);
}

void binds_stage(struct options *o)
{
	for (size_t i = 0; i < o->n_volumes; i++)
		stage(o->volumes[i].src, &o->volumes[i].staged, "volume", o->volumes[i].dst);
	if (o->tmp_dir)
		stage(o->tmp_dir, &o->tmp_dir_staged, "mount /tmp", NULL);
}

static int bind_from_fd(int fd, const char *dst, bool root_ro)
{
	char src[64];

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno;
	return root_ro ? remount_flags(dst, 0, MS_RDONLY) : 0;
}

static int attach(struct staged_bind *sb, const char *dst, bool root_ro)
{
	int err = 0;

	if (sb->detached) {
		if (rf_move_mount(sb->fd, dst) < 0)
			err = errno;
	} else {
		err = bind_from_fd(sb->fd, dst, root_ro);
	}
	close(sb->fd);
	sb->fd = -1;
	return err;
}

/*
 * A volume's mount point under /tmp is made if missing: that /tmp is the job's own (a scratch dir
 * or a tmpfs), so this is how a host path under /tmp — a workdir, a project checked out there —
 * is shown at its own path inside. Anywhere else the mount point must exist: creating it would
 * change the host's own filesystem.
 */
static int make_tmp_mount_point(const char *dst, bool is_dir)
{
	char path[4096];

	if (strncmp(dst, "/tmp/", 5) != 0)
		return 0;
	if (snprintf(path, sizeof(path), "%s", dst) >= (int)sizeof(path))
		return ENAMETOOLONG;
	for (char *p = path + 5;; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (end && !is_dir) {
			/* a file volume is bound onto a file */
			int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);

			if (fd < 0)
				return errno;
			close(fd);
			return 0;
		}
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return errno;
		if (end)
			return 0;
		*p = '/';
	}
}

void binds_attach_volumes(struct options *o)
{
	for (size_t i = 0; i < o->n_volumes; i++) {
		struct volume *v = &o->volumes[i];
		struct stat st;
		int err = fstat(v->staged.fd, &st) < 0 ? errno : make_tmp_mount_point(v->dst, S_ISDIR(st.st_mode));

		if (!err)
			err = attach(&v->staged, v->dst, o->read_only);

		if (!err && v->ro)
			err = tree_set_flags(v->dst, RF_MOUNT_ATTR_RDONLY, MS_RDONLY);
		if (err)
			die_step(err, "volume", v->dst);
	}
}

void binds_attach_tmp_dir(struct options *o)
{
	int err = attach(&o->tmp_dir_staged, "/tmp", o->read_only);

	if (!err)
		err = tree_set_flags("/tmp", RF_MOUNT_ATTR_NOSUID | RF_MOUNT_ATTR_NODEV,
				     MS_NOSUID | MS_NODEV);
	if (err)
		die_step(err, "mount /tmp", NULL);
}
