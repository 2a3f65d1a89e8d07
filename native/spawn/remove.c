/*
 * rf_remove_tree: removes a directory tree a job left behind (its scratch dir), at any depth, without
 * following a symlink and without leaving the filesystem it starts on.
 *
 * Why here and not rm(1): after a job ran, the harness must execute nothing from the host's
 * filesystem — a job that could write there (a writable host root, a volume) could have replaced
 * /bin/rm, and the harness runs as root. Why not fs.rm alone: it walks by full path, so a tree
 * nested past PATH_MAX fails with ENAMETOOLONG (and fs.rmSync overflows the stack on it).
 *
 * The walk holds one directory fd at a time: it descends with openat(O_NOFOLLOW) and climbs back
 * through "..", checking that ".." is the directory it came from (device and inode), so its depth is
 * bounded by memory for the names, not by the fd limit or the stack. Everything the job made is gone
 * by then (its processes are dead), so nothing moves under the walk; the checks are there in case.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * fstatat through the system call itself: glibc 2.33 turned fstat/fstatat into versioned symbols
 * (GLIBC_2.33), and this library, prebuilt on a newer glibc, must load into a Node on glibc 2.28
 * (Node 20's floor: RHEL 8, Debian 10). The kernel's struct stat is glibc's on x86-64 and arm64.
 */
static int stat_at(int dirfd, const char *name, struct stat *st, int flags)
{
	return (int)syscall(SYS_newfstatat, dirfd, name, st, flags);
}

struct level {
	char *name;  /* this directory's name in its parent */
	dev_t dev;   /* the parent's identity, to recognise it through ".." */
	ino_t ino;
};

/*
 * A directory of ours that we may not read (EACCES): made readable and writable by us, then opened
 * again. overlayfs leaves its work/work at mode 000 with a whiteout in it after some removals; root
 * never notices, a rootless harness with its layers on disk could not remove them otherwise. The
 * chmod goes through an O_PATH fd, so a symlink is never followed.
 */
static int open_unreadable_dir(int dirfd, const char *name)
{
	char proc[64];
	int path = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd = -1;

	if (path < 0)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path);
	if (chmod(proc, 0700) == 0)
		fd = openat(path, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(path);
	errno = fd < 0 ? EACCES : 0;
	return fd;
}

static int open_dir_at(int dirfd, const char *name, dev_t dev)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == EACCES)
		fd = open_unreadable_dir(dirfd, name);
	if (fd < 0)
		return -errno;
	if (stat_at(fd, "", &st, AT_EMPTY_PATH) < 0 || st.st_dev != dev) {
		/* another filesystem mounted in the tree: never descend into it */
		close(fd);
		return -EXDEV;
	}
	return fd;
}

/*
 * Unlinks every entry of `dirfd` it can. Returns 0 when the directory is now empty, 1 with *sub set to
 * the name of a subdirectory to empty first (malloc'd), or -errno.
 */
static int empty_dir(int dirfd, char **sub)
{
	int listfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir;
	struct dirent *e;
	int rc = 0;

	if (listfd < 0)
		return -errno;
	dir = fdopendir(listfd);
	if (!dir) {
		rc = -errno;
		close(listfd);
		return rc;
	}
	while ((errno = 0, e = readdir(dir)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno == EISDIR || errno == EPERM) {
			/* Linux says EISDIR for a directory (EPERM on some filesystems): empty it, then rmdir */
			struct stat st;

			if (stat_at(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
				*sub = strdup(e->d_name);
				rc = *sub ? 1 : -ENOMEM;
				break;
			}
		}
		rc = -errno;
		break;
	}
	if (rc == 0 && errno != 0)
		rc = -errno;
	closedir(dir);
	return rc;
}

int rf_remove_tree(const char *path)
{
	char parent_path[PATH_MAX], *slash, *base;
	struct level *stack = NULL;
	size_t depth = 0, cap = 0;
	struct stat top;
	int parent, cur, rc = 0;

	if (strlen(path) >= sizeof(parent_path))
		return ENAMETOOLONG;
	strcpy(parent_path, path);
	slash = strrchr(parent_path, '/');
	if (!slash || slash[1] == '\0')
		return EINVAL;
	base = slash + 1;
	if (!strcmp(base, ".") || !strcmp(base, ".."))
		return EINVAL;
	*slash = '\0';
	parent = open(slash == parent_path ? "/" : parent_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return errno;
	/* a plain file or a symlink is just unlinked */
	if (unlinkat(parent, base, 0) == 0 || errno == ENOENT) {
		close(parent);
		return 0;
	}
	if (stat_at(parent, base, &top, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = errno;
		close(parent);
		return rc;
	}
	cur = open_dir_at(parent, base, top.st_dev);
	if (cur < 0) {
		close(parent);
		return -cur;
	}
	for (;;) {
		char *sub = NULL;
		int r = empty_dir(cur, &sub);

		if (r < 0) {
			rc = -r;
			break;
		}
		if (r == 1) {
			struct stat here;
			int next;

			if (depth == cap) {
				struct level *bigger = realloc(stack, (cap = cap ? cap * 2 : 64) * sizeof(*stack));

				if (!bigger) {
					free(sub);
					rc = ENOMEM;
					break;
				}
				stack = bigger;
			}
			if (stat_at(cur, "", &here, AT_EMPTY_PATH) < 0) {
				free(sub);
				rc = errno;
				break;
			}
			next = open_dir_at(cur, sub, top.st_dev);
			if (next < 0) {
				free(sub);
				rc = -next;
				break;
			}
			stack[depth++] = (struct level){sub, here.st_dev, here.st_ino};
			close(cur);
			cur = next;
			continue;
		}
		/* empty: climb to the parent and remove it there */
		if (depth == 0) {
			close(cur);
			cur = -1;
			if (unlinkat(parent, base, AT_REMOVEDIR) < 0 && errno != ENOENT)
				rc = errno;
			break;
		}
		{
			struct level *lv = &stack[--depth];
			struct stat st;
			int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			close(cur);
			cur = up;
			if (up < 0 || stat_at(up, "", &st, AT_EMPTY_PATH) < 0 || st.st_dev != lv->dev || st.st_ino != lv->ino) {
				rc = up < 0 ? errno : EXDEV; /* the tree moved under the walk: stop */
				free(lv->name);
				break;
			}
			if (unlinkat(up, lv->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
				rc = errno;
				free(lv->name);
				break;
			}
			free(lv->name);
		}
	}
	while (depth > 0)
		free(stack[--depth].name);
	free(stack);
	if (cur >= 0)
		close(cur);
	close(parent);
	return rc;
}
