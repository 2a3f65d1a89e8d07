/*
 * overlay.c — --overlay-dir=DIR: the job's root is the host's, with every writable host filesystem
 * seen through an overlay whose upper layer belongs to the job. A write outside the workdir and the
 * volumes succeeds inside, lands in DIR/N/upper, and never reaches the host; the harness reads the
 * upper layers after the job (the pollution report) and removes them with the scratch.
 *
 * How (BenchExec's container mode, one overlay per mount point): every mount the job would see —
 * /proc/self/mountinfo, each entry checked with statx(STATX_MNT_ID) to be the one visible at its
 * path, not one covered by a later mount (mounttable.c) — is rebuilt under DIR/root, parents first:
 *   - a writable filesystem: an overlay, lower = that mount, upper and work = DIR/N/{upper,work};
 *     the upper root takes the lower root's owner and mode (the merged root shows the upper's), and
 *     the overlay keeps the host mount's nosuid/nodev/noexec;
 *   - a read-only one, a pseudo filesystem (nsfs, autofs, bpf …) or a mount point that is a file:
 *     bound read-only, as the host has it (a write fails there as it would on the host);
 *   - what overlayfs refuses as a lower layer (overlay on overlay, FUSE, a kernel before 5.11 in a
 *     user namespace …): bound read-only instead, and said on the status pipe. In a user namespace
 *     a mount with submounts is refused too (they are locked): it is bound read-only and each
 *     directory in it that holds no mount point becomes an overlay of its own (split());
 *   - /proc, /sys and /dev: bound as far as the steps after this one need them (bind_special()),
 *     which replace them as they did on the host's tree;
 *   - /tmp, the volumes' targets (the workdir is one in this mode) and what lies below them: left
 *     out, since what is attached there later covers it.
 * A volume SRC:DST:overlay (the workdir when the harness writes back only a job's outputs) gets an
 * overlay of its own, lower = SRC, made at DIR/N/mnt while the host's tree is still there, cloned
 * (open_tree) and detached again: binds.c attaches the clone at DST like any volume, under /tmp
 * too. Where overlayfs refuses it, the plain bind is attached read-only (and said, as fs-ro).
 * Then DIR/root becomes the root (pivot_root) and the host's tree is detached: no path, /proc/self/
 * root included, leads back to it.
 *
 * The status pipe gets "overlay\t<N>\t<path>" per overlay (the harness maps DIR/N/upper to the job's
 * paths with it), "fs-ro\t<errno>\t<mount point>" per fallback and "fs-split\t<errno>\t<mount
 * point>" per split; a path is written with mountinfo's octal escapes, so no tab or newline can
 * break a line.
 */
#define _GNU_SOURCE
#include "overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mounttable.h"
#include "mountutil.h"
#include "proto.h"
#include "util.h"

/* Filesystems that hold no files of anyone's: bound read-only where they are, never overlaid. */
static const char *const pseudo_fs[] = {
	"proc",	     "sysfs",	   "devtmpfs",	"devpts",     "cgroup",	   "cgroup2",	  "securityfs",
	"debugfs",   "tracefs",	   "bpf",	"mqueue",     "hugetlbfs", "pstore",	  "configfs",
	"fusectl",   "binfmt_misc", "autofs",	"efivarfs",   "nsfs",	   "selinuxfs",	  "rpc_pipefs",
	"nfsd",	     NULL,
};

/* The job's own /proc, /sys and /dev replace these after this step; /tmp is the job's own too. */
static const char *const special_dirs[] = {"/proc", "/sys", "/dev", NULL};

static bool path_under(const char *p, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return true;
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	return strncmp(p, prefix, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static bool is_pseudo(const char *fstype)
{
	for (size_t i = 0; pseudo_fs[i]; i++)
		if (!strcmp(fstype, pseudo_fs[i]))
			return true;
	return false;
}

/* Left out of the rebuilt tree: replaced or covered by a later step. */
static bool left_out(const struct options *o, const char *mp)
{
	if (!strcmp(mp, "/"))
		return false;
	for (size_t i = 0; special_dirs[i]; i++)
		if (path_under(mp, special_dirs[i]))
			return true;
	if (path_under(mp, "/tmp") || path_under(mp, o->overlay_dir))
		return true;
	if (o->tmp_dir && path_under(mp, o->tmp_dir))
		return true;
	for (size_t i = 0; i < o->n_volumes; i++)
		if (path_under(mp, o->volumes[i].dst))
			return true;
	return false;
}

/* mount_table()'s question: is the mount at `mp` one the job's tree rebuilds? */
static bool wanted(const char *mp, const void *ctx)
{
	return !left_out(ctx, mp);
}

/* The current flags of the mount at `path` that an overlay over it must keep. */
static unsigned long kept_flags(const char *path, bool *read_only)
{
	struct statvfs st;
	unsigned long ms = 0;

	*read_only = false;
	if (statvfs(path, &st) < 0)
		return 0;
	*read_only = st.f_flag & ST_RDONLY;
	if (st.f_flag & ST_NOSUID)
		ms |= MS_NOSUID;
	if (st.f_flag & ST_NODEV)
		ms |= MS_NODEV;
	if (st.f_flag & ST_NOEXEC)
		ms |= MS_NOEXEC;
	if (st.f_flag & ST_NOATIME)
		ms |= MS_NOATIME;
	if (st.f_flag & ST_NODIRATIME)
		ms |= MS_NODIRATIME;
	if (st.f_flag & ST_RELATIME)
		ms |= MS_RELATIME;
	return ms;
}

/* DIR/N/{upper,work}, the upper root owned and moded as the lower root; O_PATH fds of both. */
static int make_layer(int ov, unsigned n, const struct stat *lower, int *upper, int *work)
{
	char name[16];
	int dir, err = 0;

	snprintf(name, sizeof(name), "%u", n);
	if (mkdirat(ov, name, 0700) < 0)
		return errno;
	dir = openat(ov, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return errno;
	if (mkdirat(dir, "upper", 0700) < 0 || mkdirat(dir, "work", 0700) < 0)
		err = errno;
	if (!err) {
		/* an owner this namespace cannot map (EINVAL) stays ours: the lower shows it unmapped anyway */
		(void)fchownat(dir, "upper", lower->st_uid, lower->st_gid, AT_SYMLINK_NOFOLLOW);
		if (fchmodat(dir, "upper", lower->st_mode & 07777, 0) < 0)
			err = errno;
	}
	*upper = err ? -1 : openat(dir, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	*work = err ? -1 : openat(dir, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!err && (*upper < 0 || *work < 0))
		err = errno;
	close(dir);
	return err;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Mounts the overlay; the options go by /proc/self/fd/N (the host's /proc is still there), so no
 * path needs overlayfs's escaping. In a user namespace the layer's own xattrs go in user.overlay.*
 * (`userxattr`, 5.11+). `volatile` (5.10+) only with --overlay-volatile: on a tmpfs there is no
 * sync to spare, and it costs two more directories at mount and removal; a kernel without it
 * refuses it (EINVAL), and the overlay is mounted without.
 */
static int mount_overlay(const char *target, int lower, int upper, int work, unsigned long flags,
			 const struct options *o)
{
	char data[256];
	bool volatile_ = o->overlay_volatile;

	for (;;) {
		snprintf(data, sizeof(data),
			 "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d%s%s", lower,
			 upper, work, o->userns ? ",userxattr" : "", volatile_ ? ",volatile" : "");
		if (mount("overlay", target, "overlay", flags, data) == 0)
			return 0;
		if (errno != EINVAL || !volatile_)
			return errno;
		volatile_ = false;
	}
}

static int bind_read_only(const char *mp, const char *target)
{
	if (mount(mp, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno;
	return tree_set_flags(target, RF_MOUNT_ATTR_RDONLY, MS_RDONLY);
}

struct build {
	const struct options *o;
	int ov;         /* DIR */
	char root[PATH_MAX]; /* DIR/root */
	unsigned next;  /* the next layer's N */
	const struct mnt *mounts; /* every mount, parents first */
	size_t n_mounts;
	bool split_failed; /* an overlay of a directory was refused: split no further */
};

/* An overlay of `path` (a mount's root, or a directory in one) at `target`; 0 or errno. */
static int try_overlay(struct build *b, const char *path, const char *target, unsigned long flags)
{
	struct stat st;
	int lower, upper = -1, work = -1, err;

	lower = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	err = lower < 0 ? errno : 0;
	if (!err && !proto_path_fits(path))
		err = ENAMETOOLONG; /* the harness could not be told where this layer belongs */
	if (!err && fstat(lower, &st) < 0)
		err = errno;
	if (!err)
		err = make_layer(b->ov, b->next, &st, &upper, &work);
	if (!err)
		err = mount_overlay(target, lower, upper, work, flags, b->o);
	if (lower >= 0)
		close(lower);
	close_fd(&upper);
	close_fd(&work);
	if (!err)
		proto_overlay(b->next, path);
	b->next++;
	return err;
}

/* MOUNT_AT: a visible mount exactly at `path`; MOUNT_BELOW: some strictly below it. */
enum { MOUNT_AT = 1, MOUNT_BELOW = 2 };

static int mounts_at(const struct build *b, const char *path)
{
	int found = 0;

	for (size_t i = 0; i < b->n_mounts; i++) {
		if (!path_under(b->mounts[i].mp, path))
			continue;
		found |= strcmp(b->mounts[i].mp, path) ? MOUNT_BELOW : MOUNT_AT;
	}
	return found;
}

#define SPLIT_DEPTH 8

/*
 * Whether `dir` holds a world-writable sticky `tmp` (/var/tmp). In a user namespace a write below a
 * layer's root copies up each directory on the way, which fails (EOVERFLOW) for one owned by an id
 * the namespace does not map — host root's /var/tmp, which every user may write on the host. Split
 * there, so that such a tmp is a layer's root: its upper root is the job's own.
 */
static bool holds_shared_tmp(const char *dir)
{
	char tmp[PATH_MAX];
	struct stat st;

	if (snprintf(tmp, sizeof(tmp), "%s/tmp", dir) >= (int)sizeof(tmp) || lstat(tmp, &st) < 0)
		return false;
	return S_ISDIR(st.st_mode) && (st.st_mode & 01777) == 01777;
}

/*
 * In a user namespace, overlayfs refuses a lower layer with submounts (EINVAL: they are locked, and
 * an overlay of the mount alone would show what they cover). The mount is then bound read-only, and
 * each directory in it that holds no mount point becomes an overlay of its own; one that holds some
 * is split the same way, a few levels deep, and so is one that holds a shared tmp (/var: see
 * holds_shared_tmp()). Only the entries right in a split directory (files in "/", say) stay
 * read-only.
 */
static void split(struct build *b, const char *dir, unsigned long flags, int depth)
{
	char child[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while (!b->split_failed && (e = readdir(d))) {
		struct stat st;
		int where;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name) >=
			    (int)sizeof(child) ||
		    snprintf(target, sizeof(target), "%s%s", b->root, child) >= (int)sizeof(target))
			continue;
		if (left_out(b->o, child) || lstat(child, &st) < 0 || !S_ISDIR(st.st_mode))
			continue; /* a file or symlink stays as the read-only bind shows it */
		where = mounts_at(b, child);
		if (where & MOUNT_AT)
			continue; /* a mount of its own: rebuilt on its own */
		if ((where & MOUNT_BELOW) || holds_shared_tmp(child)) {
			if (depth < SPLIT_DEPTH)
				split(b, child, flags, depth + 1);
			continue;
		}
		if (try_overlay(b, child, target, flags))
			b->split_failed = true; /* no overlay at all here (a kernel before 5.11): stay read-only */
	}
	closedir(d);
}

/* Rebuilds one visible mount at the same path under the new root. */
static void rebuild(struct build *b, const struct mnt *m)
{
	char target[PATH_MAX];
	bool read_only;
	unsigned long flags;
	int err;
	bool root = !strcmp(m->mp, "/");

	if (snprintf(target, sizeof(target), "%s%s", b->root, root ? "" : m->mp) >= (int)sizeof(target))
		return; /* deeper than any path the job could use */
	flags = kept_flags(m->mp, &read_only);
	if (read_only || is_pseudo(m->fstype)) {
		err = bind_read_only(m->mp, target);
		if (err && root)
			die_step(err, "overlay", "/");
		return; /* as the host has it; a mount point gone meanwhile (ENOENT) is simply not there */
	}
	err = try_overlay(b, m->mp, target, flags);
	if (!err)
		return;
	/* a file mount point (ENOTDIR), or overlayfs refused it: the host's, read-only, and said */
	if (bind_read_only(m->mp, target)) {
		if (root)
			die_step(err, "overlay", "/");
		return;
	}
	if (err == EINVAL && b->o->userns && (mounts_at(b, m->mp) & MOUNT_BELOW) && !b->split_failed) {
		split(b, m->mp, flags, 0);
		/* said as split (the expected layout, quiet) only once the split held: a kernel that
		 * overlays nothing here leaves it read-only, which the user must hear */
		if (b->split_failed)
			proto_fs_ro(err, m->mp);
		else
			proto_fs_split(err, m->mp);
	} else {
		proto_fs_ro(err, m->mp);
	}
}

/* One SRC:DST:overlay volume: its staged bind is replaced by a detached overlay of SRC. */
static void overlay_volume(struct build *b, struct volume *v)
{
	char mnt[PATH_MAX];
	struct stat st;
	bool read_only;
	unsigned long flags = kept_flags(v->src, &read_only);
	int lower, upper = -1, work = -1, tree = -1, err = 0;
	unsigned n = b->next++;

	lower = open(v->src, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lower < 0 || fstat(lower, &st) < 0)
		err = errno;
	if (!err && (!proto_path_fits(v->dst) ||
		     snprintf(mnt, sizeof(mnt), "%s/%u/mnt", b->o->overlay_dir, n) >= (int)sizeof(mnt)))
		err = ENAMETOOLONG;
	if (!err)
		err = make_layer(b->ov, n, &st, &upper, &work);
	if (!err && mkdir(mnt, 0700) < 0)
		err = errno;
	if (!err)
		err = mount_overlay(mnt, lower, upper, work, flags, b->o);
	if (!err) {
		tree = rf_open_tree(mnt);
		if (tree < 0)
			err = errno;
		if (umount2(mnt, MNT_DETACH) < 0 && !err)
			err = errno;
	}
	if (lower >= 0)
		close(lower);
	close_fd(&upper);
	close_fd(&work);
	if (err) {
		if (tree >= 0)
			close(tree);
		proto_fs_ro(err, v->dst); /* binds.c attaches the plain bind read-only */
		return;
	}
	close(v->staged.fd);
	v->staged.fd = tree;
	v->staged.detached = true;
	v->overlaid = true;
	proto_overlay(n, v->dst);
}

/*
 * What the steps after this one need of the host's /proc, /sys and /dev, bound into the new tree:
 * devfs.c opens the host's /dev/null & co. before it covers /dev; and in a user namespace the
 * kernel mounts a fresh proc or sysfs only where one is already fully visible (and binds there must
 * be recursive: the submounts are locked). Bound no more than that: each extra mount is paid for
 * again when the namespace ends.
 */
static void bind_special(const struct build *b)
{
	char target[PATH_MAX];

	for (size_t i = 0; special_dirs[i]; i++) {
		bool dev = !strcmp(special_dirs[i], "/dev");

		if (!dev && !b->o->userns)
			continue;
		if (snprintf(target, sizeof(target), "%s%s", b->root, special_dirs[i]) >= (int)sizeof(target))
			die_step(ENAMETOOLONG, "overlay", special_dirs[i]);
		if (mount(special_dirs[i], target, NULL, MS_BIND | (b->o->userns ? MS_REC : 0), NULL) < 0 &&
		    errno != ENOENT)
			die_step(errno, "overlay", special_dirs[i]);
	}
}

/*
 * --overlay-mount: the harness's detached tmpfs, attached at overlay_dir in this (private) mount
 * namespace only, through the fd the launcher opened (options.h: overlay_mount_fd); move_mount takes
 * a detached mount's root.
 */
static void attach_layers_tmpfs(struct options *o)
{
	int fd = o->overlay_mount_fd;

	o->overlay_mount_fd = -1;
	if (fd < 0)
		die_step(EBADF, "overlay", "the layers' tmpfs");
	if (rf_move_mount(fd, o->overlay_dir) < 0)
		die_step(errno, "overlay", "attach the layers' tmpfs");
	o->layers_fd = fd; /* kept for layers_report(); close-on-exec, so the job never has it */
}

/* pivot_root(".", "."): the old root ends up on top of the new one, and is detached right away. */
static void enter(const char *root)
{
	if (chdir(root) < 0)
		die_step(errno, "overlay", "chdir");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die_step(errno, "pivot_root", NULL);
	proto_trace("pivot");
	if (umount2(".", MNT_DETACH) < 0)
		die_step(errno, "overlay", "detach the host's tree");
	if (chdir("/") < 0)
		die_step(errno, "overlay", "chdir");
}

bool overlay_root(struct options *o)
{
	struct build b = {.o = o};
	struct mnt *mounts;
	size_t n, i;
	char *info;

	/*
	 * Without open_tree (kernels before 5.2) the volumes and /tmp are held by O_PATH fds, which
	 * cannot be bound once the host's tree is detached: the root is then made read-only instead
	 * (--read-only's effect), and that is said.
	 */
	for (size_t v = 0; v < o->n_volumes; v++)
		if (!o->volumes[v].staged.detached)
			return proto_fs_ro(ENOSYS, "/"), false;
	if (o->tmp_dir && !o->tmp_dir_staged.detached)
		return proto_fs_ro(ENOSYS, "/"), false;
	if (snprintf(b.root, sizeof(b.root), "%s/root", o->overlay_dir) >= (int)sizeof(b.root))
		die_step(ENAMETOOLONG, "overlay", o->overlay_dir);
	if (o->overlay_mount)
		attach_layers_tmpfs(o);
	b.ov = open(o->overlay_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (b.ov < 0)
		die_step(errno, "overlay", o->overlay_dir);
	/* made here, never found: nothing the harness did not make may stand in for it */
	if (mkdirat(b.ov, "root", 0700) < 0)
		die_step(errno, "overlay", b.root);

	mounts = mount_table(wanted, o, &info, &n);
	proto_trace("mountinfo");
	for (i = 0; i < n && (strcmp(mounts[i].mp, "/") || !mounts[i].marked); i++)
		;
	if (i == n)
		die_step(ENOENT, "overlay", "no root in mountinfo");
	b.mounts = mounts;
	b.n_mounts = n;
	for (i = 0; i < n; i++)
		if (mounts[i].marked)
			rebuild(&b, &mounts[i]);
	free(mounts);
	free(info);
	for (i = 0; i < o->n_volumes; i++)
		if (o->volumes[i].overlay)
			overlay_volume(&b, &o->volumes[i]);
	proto_trace("overlays");
	bind_special(&b);
	close(b.ov);
	enter(b.root);
	return true;
}
