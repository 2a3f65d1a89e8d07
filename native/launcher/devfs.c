/*
 * devfs.c — a minimal /dev: six host device nodes, private shm and pts.
 *
 * Why bind host nodes instead of mknod: mknod is refused inside a user
 * namespace, and a tmpfs mounted there is implicitly nodev anyway; a bind
 * of the host's node works in both cases.
 * Ordering: the host nodes are opened with O_PATH BEFORE the tmpfs hides the
 * host's /dev, then bound from /proc/self/fd/N (the fresh /proc is already
 * mounted) onto empty files in the new tmpfs. No staging directory needed,
 * nothing is ever created on the host's filesystem.
 */
#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"

static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
#define N_NODES (sizeof(nodes) / sizeof(nodes[0]))

static const struct {
	const char *target, *link;
} links[] = {
	{"pts/ptmx", "/dev/ptmx"},	     {"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},   {"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
};

static void open_host_nodes(int fds[N_NODES])
{
	char path[64];

	for (size_t i = 0; i < N_NODES; i++) {
		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		fds[i] = open(path, O_PATH | O_CLOEXEC);
		if (fds[i] < 0)
			die_step(errno, "mount", path);
	}
}

static void bind_node(const char *name, int host_fd)
{
	char path[64], src[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", name);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", host_fd);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		die_step(errno, "mount", path);
	close(fd);
	if (mount(src, path, NULL, MS_BIND, NULL) < 0)
		die_step(errno, "mount", path);
	close(host_fd);
}

static void mount_sub(const char *path, const char *type, unsigned long flags, const char *data)
{
	if (mkdir(path, 0755) < 0 || mount(type, path, type, flags, data) < 0)
		die_step(errno, "mount", path);
}

void devfs_setup(void)
{
	int host_fds[N_NODES];

	open_host_nodes(host_fds);
	/* Not nodev: the bound nodes must work. noexec: nothing to run here. */
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m") < 0)
		die_step(errno, "mount /dev", NULL);
	for (size_t i = 0; i < N_NODES; i++)
		bind_node(nodes[i], host_fds[i]);
	mount_sub("/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	/* newinstance: the job's ptys are its own, invisible to the host. */
	mount_sub("/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i].target, links[i].link) < 0)
			die_step(errno, "mount", links[i].link);
}
