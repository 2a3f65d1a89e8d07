/*
 * usertmpfs.c — a rootless harness's tmpfs for a job's overlay layers: made in a user namespace of
 * its own (our uid and gid as 0) and mounted nowhere (fsopen + fsmount), as root's is made in ours
 * (detachedTmpfs in native/libc/mount.ts).
 *
 * Why: without one, a rootless job's upper and work directories go on the disk beside its scratch,
 * and overlayfs probes a journalled disk at each mount (a temp file, a rename, a whiteout: ~0.5 ms
 * on ext4 here), which a rootless job pays once per top-level directory of the host's root, since
 * its root is overlaid one directory at a time (native/launcher/overlay.c, split()). The launcher
 * attaches this tmpfs in its job's mount namespace just as it attaches root's (--overlay-mount).
 *
 * Only where the tmpfs keeps user.* extended attributes (Linux 6.6+): in a user namespace overlayfs
 * keeps its own (an opaque directory, a redirect) as user.overlay.*, and on a tmpfs without them a
 * job could not replace a directory it removed. The child checks on a file of its own and refuses
 * (EOPNOTSUPP); the layers then stay on disk. The same check is rf_keeps_user_xattrs, for the tmpfs
 * root makes for a job in a user namespace (harness/job/scratch.ts).
 *
 * The child is usernet.c's kind (userchild.h): the mount's fd lands in our table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "userchild.h"

#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x1
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#define FSMOUNT_CLOEXEC 0x1
#endif

struct usertmpfs {
	unsigned uid, gid; /* ours, read before the clone */
	int err;
	int mount_fd;
};

/* 0 where a file on the tmpfs keeps a user.* attribute; the probe file is removed either way. */
int rf_keeps_user_xattrs(int root)
{
	static const char probe[] = ".ringfence-xattr-probe";
	int fd = openat(root, probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return errno;
	if (fsetxattr(fd, "user.ringfence", "1", 1, 0) < 0)
		err = errno == ENOTSUP ? EOPNOTSUPP : errno;
	close(fd);
	if (unlinkat(root, probe, 0) < 0 && !err)
		err = errno;
	return err;
}

static int child_main(void *arg)
{
	struct usertmpfs *t = arg;
	int fs = -1, mnt = -1, err;

	if ((err = rf_userns_map_self(t->uid, t->gid)))
		goto out;
	fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0700", NULL, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		err = errno;
		goto out;
	}
	mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0) {
		err = errno;
		goto out;
	}
	err = rf_keeps_user_xattrs(mnt);
out:
	/* the table is ours too: nothing of a refused tmpfs may stay in it */
	if (fs >= 0)
		close(fs);
	if (err && mnt >= 0)
		close(mnt);
	t->mount_fd = err ? -1 : mnt;
	t->err = err;
	_exit(0);
}

/* A detached tmpfs (mode 0700) owned by a new user namespace, its fd in *out; 0 or an errno. */
int rf_userns_tmpfs(int *out)
{
	struct usertmpfs t = {.uid = (unsigned)geteuid(), .gid = (unsigned)getegid(), .err = EIO, .mount_fd = -1};
	int err = rf_userchild_run(child_main, &t, CLONE_NEWNS);

	*out = -1;
	if (err == 0)
		err = t.err;
	if (err != 0) {
		if (t.err == 0 && t.mount_fd >= 0)
			close(t.mount_fd); /* a lost child: what it reported */
		return err;
	}
	*out = t.mount_fd;
	return 0;
}
