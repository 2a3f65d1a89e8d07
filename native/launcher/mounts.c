/*
 * mounts.c — the mount namespace, built in one fixed order.
 *
 * Why this order: mounts become private first, so nothing below leaks to the
 * host (or arrives from it). Volume sources are cloned before the root turns
 * read-only or is rebuilt from overlays (--overlay-dir, overlay.c), which
 * pivots into a new root and detaches the host's tree (see binds.c). /proc, /sys, /dev and /tmp come after --read-only,
 * so each keeps its own mode; /proc precedes /dev because devfs.c binds host
 * nodes through /proc/self/fd. Volumes are attached last, like Docker's user
 * mounts: a DST under /tmp or /dev then lands in the sandbox's own /tmp or
 * /dev instead of being hidden by it (binds.c makes a DST's mount point
 * inside the sandbox's /tmp when it is missing, and nowhere else). What the
 * harness itself runs from is made read-only after everything else
 * (--protect), so no volume or mode can show it writable again.
 */
#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mount.h>

#include "mountutil.h"
#include "overlay.h"
#include "proto.h"

#define PROC_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static void make_private(void)
{
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_step(errno, "make mounts private", NULL);
}

static void read_only_root(void)
{
	int err = tree_set_flags("/", RF_MOUNT_ATTR_RDONLY, MS_RDONLY);

	if (err)
		die_step(err, "read-only root", NULL);
}

/*
 * Kernel tunables and the magic SysRq key must stay out of reach, even for
 * root. A kernel without CONFIG_MAGIC_SYSRQ has no sysrq-trigger to protect.
 */
static void read_only_self_bind(const char *path, bool may_be_absent)
{
	int err = 0;

	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		err = errno;
	if (err == ENOENT && may_be_absent)
		return;
	if (!err)
		err = remount_flags(path, MS_RDONLY | PROC_FLAGS, 0);
	if (err)
		die_step(err, "read-only /proc/sys", NULL);
}

/* A fresh proc shows only this PID namespace's processes. */
static void mount_proc(void)
{
	if (mount("proc", "/proc", "proc", PROC_FLAGS, NULL) < 0)
		die_step(errno, "mount /proc", NULL);
	read_only_self_bind("/proc/sys", false);
	read_only_self_bind("/proc/sysrq-trigger", true);
}

/*
 * A fresh sysfs shows only this network namespace's interfaces, and nothing
 * is mounted under its /sys/fs/cgroup. Read-only per mount, by a remount:
 * asking MS_RDONLY at mount time would fail with EBUSY under --net host,
 * where the kernel hands back the host's (read-write) sysfs superblock. That
 * superblock may not be mounted twice on the same spot either (EBUSY), so
 * the inherited /sys is detached first: its cgroup submounts go with it.
 * The kernel refuses a fresh sysfs (EPERM) when the user namespace does not
 * own the network namespace (--userns --net host); then the host's /sys is
 * bound, read-only down to every submount, so the cgroup filesystems in it
 * cannot be written either.
 */
static int fresh_sysfs(void)
{
	if (mount("sysfs", "/sys", "sysfs", PROC_FLAGS, NULL) < 0)
		return errno;
	return remount_flags("/sys", MS_RDONLY | PROC_FLAGS, 0);
}

static int host_sysfs_read_only(void)
{
	if (mount("/sys", "/sys", NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno;
	return tree_set_flags("/sys",
			      RF_MOUNT_ATTR_RDONLY | RF_MOUNT_ATTR_NOSUID | RF_MOUNT_ATTR_NODEV |
				      RF_MOUNT_ATTR_NOEXEC,
			      MS_RDONLY | PROC_FLAGS);
}

static void mount_sys(void)
{
	int err = fresh_sysfs();

	if (err == EBUSY && umount2("/sys", MNT_DETACH) == 0)
		err = fresh_sysfs();
	if (err == EPERM)
		err = host_sysfs_read_only();
	if (err)
		die_step(err, "mount /sys", NULL);
}

static void mount_tmp(struct options *o)
{
	char data[64];

	if (o->tmp_dir) {
		binds_attach_tmp_dir(o);
		return;
	}
	if (!o->tmp_size)
		return;
	snprintf(data, sizeof(data), "size=%llu,mode=1777", o->tmp_size);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
		die_step(errno, "mount /tmp", NULL);
}

void mounts_setup(struct options *o)
{
	make_private();
	binds_stage(o);
	proto_trace("staged");
	if (o->overlay_dir && !overlay_root(o))
		o->read_only = true;
	if (o->read_only)
		read_only_root();
	proto_trace("root");
	mount_proc();
	mount_sys();
	devfs_setup();
	mount_tmp(o);
	proto_trace("proc-dev-tmp");
	binds_attach_volumes(o);
	binds_protect(o);
}
