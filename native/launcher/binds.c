/*
 * binds.c — host directories shown inside: --volume and --tmp-dir; and
 * --protect, the harness's own files made read-only over everything else
 * (with --pin, their parents made mount points, so they cannot be moved away).
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
#include <sys/syscall.h>
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

/* onto `dst`, or onto the mount point `point` (an O_PATH fd) when it is one (>= 0) */
static int attach_at(struct staged_bind *sb, const char *dst, int point, bool root_ro)
{
	int err = 0;
	char at[64];

	if (point >= 0) {
		/* the fallback's mount(2) follows this magic link to exactly that directory */
		snprintf(at, sizeof(at), "/proc/self/fd/%d", point);
		dst = at;
	}
	if (sb->detached) {
		if ((point >= 0 ? rf_move_mount_onto(sb->fd, point) : rf_move_mount(sb->fd, dst)) < 0)
			err = errno;
	} else {
		err = bind_from_fd(sb->fd, dst, root_ro);
	}
	close(sb->fd);
	sb->fd = -1;
	return err;
}

/*
 * openat2() with RESOLVE_BENEATH | NO_SYMLINKS | NO_XDEV: `name` (one component) in `dirfd`, never
 * through a symlink and never onto another mount. Kernels before 5.6 lack it: ENOSYS.
 */
static int open_here(int dirfd, const char *name, int flags, mode_t mode)
{
	struct rf_open_how {
		unsigned long long flags, mode, resolve;
	} how = {(unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW), mode, 0x08 | 0x04 | 0x01 | 0x02};
	/* RESOLVE_BENEATH 0x08, RESOLVE_NO_SYMLINKS 0x04, RESOLVE_NO_XDEV 0x01, RESOLVE_NO_MAGICLINKS 0x02 */

	return (int)syscall(437 /* openat2, the same number on every arch */, dirfd, name, &how, sizeof(how));
}

/*
 * A volume's mount point under /tmp is made if missing: that /tmp is the job's own (a scratch dir
 * or a tmpfs), so this is how a host path under /tmp — a workdir, a project checked out there —
 * is shown at its own path inside. The walk goes one component at a time from the job's /tmp and
 * refuses a symlink (ELOOP) or another mount on the way (EXDEV: an earlier volume — making a
 * directory there would change that volume's host source), so nothing is ever made outside the
 * job's own /tmp. Returns an O_PATH fd of the mount point, to mount onto exactly what was checked;
 * -1 with errno 0 when the target is not under /tmp (it must exist: the host's own filesystem is
 * never changed). The harness refuses targets with `.`, `..` or `//`.
 */
static int tmp_mount_point(const char *dst, bool is_dir)
{
	char path[4096];
	char *comp, *next;
	int dirfd, fd;

	errno = 0;
	if (strncmp(dst, "/tmp/", 5) != 0)
		return -1;
	if (snprintf(path, sizeof(path), "%s", dst + 5) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dirfd = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	for (comp = path;; comp = next) {
		bool last;

		next = strchr(comp, '/');
		last = next == NULL;
		if (next)
			*next++ = '\0';
		if (*comp == '\0' || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			close(dirfd);
			errno = EINVAL;
			return -1;
		}
		if (last && !is_dir) {
			/* a file volume is bound onto a file */
			fd = open_here(dirfd, comp, O_CREAT | O_WRONLY, 0644);
			if (fd >= 0) {
				close(fd);
				fd = open_here(dirfd, comp, O_PATH, 0);
			}
		} else {
			/* mkdirat makes the entry in dirfd itself, on its mount; an existing one is checked next */
			int made = mkdirat(dirfd, comp, 0755);

			fd = made < 0 && errno != EEXIST ? -1 : open_here(dirfd, comp, O_PATH | O_DIRECTORY, 0);
		}
		{
			int saved = errno;

			close(dirfd);
			errno = saved;
		}
		if (fd < 0 || last)
			return fd;
		dirfd = fd;
	}
}

void binds_attach_volumes(struct options *o)
{
	for (size_t i = 0; i < o->n_volumes; i++) {
		struct volume *v = &o->volumes[i];
		struct stat st;
		int point = -1, err = 0;

		if (fstat(v->staged.fd, &st) < 0)
			err = errno;
		if (!err) {
			point = tmp_mount_point(v->dst, S_ISDIR(st.st_mode));
			if (point < 0 && errno)
				err = errno;
		}
		/* onto the very directory checked, not a path that could be swapped meanwhile */
		if (!err)
			err = attach_at(&v->staged, v->dst, point, o->read_only);
		if (point >= 0)
			close(point);

		/* an overlay volume whose overlay could not be made must not show its source writable */
		if (!err && (v->ro || (v->overlay && !v->overlaid)))
			err = tree_set_flags(v->dst, RF_MOUNT_ATTR_RDONLY, MS_RDONLY);
		if (err)
			die_step(err, "volume", v->dst);
	}
}

void binds_attach_tmp_dir(struct options *o)
{
	int err = attach_at(&o->tmp_dir_staged, "/tmp", -1, o->read_only);

	if (!err)
		err = tree_set_flags("/tmp", RF_MOUNT_ATTR_NOSUID | RF_MOUNT_ATTR_NODEV,
				     MS_NOSUID | MS_NODEV);
	if (err)
		die_step(err, "mount /tmp", NULL);
}

/*
 * --pin: a directory between a writable workdir and a path --protect makes read-only in it
 * (node_modules above node_modules/.bin), bound onto itself and left writable. A mount point cannot
 * be renamed or removed (EBUSY), so the job cannot move the read-only mount away with its parent
 * and make the path again beside it. A path the job cannot see (ENOENT) has nothing to pin.
 */
static void binds_pin(struct options *o)
{
	for (size_t i = 0; i < o->n_pin; i++) {
		const char *p = o->pin[i];

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 && errno != ENOENT)
			die_step(errno, "pin", p);
	}
}

/*
 * What the harness executes or loads from disk (its built output, the packages it loads, node) must
 * not be writable from a job: written there, it would run as the harness's user at the next start.
 * Each path is bound onto itself and made read-only recursively, last, over whatever volume or mode
 * showed it: a rename of it then fails with EBUSY, a write with EROFS. A path the job cannot see
 * (ENOENT: under the job's own /tmp, say) has nothing to protect. The harness passes real paths, and
 * no process of this job runs yet.
 */
void binds_protect(struct options *o)
{
	binds_pin(o);
	for (size_t i = 0; i < o->n_protect; i++) {
		const char *p = o->protect[i];
		int err = 0;

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			err = errno;
		if (err == ENOENT)
			continue;
		if (!err)
			err = tree_set_flags(p, RF_MOUNT_ATTR_RDONLY, MS_RDONLY);
		if (err)
			die_step(err, "protect", p);
	}
}
