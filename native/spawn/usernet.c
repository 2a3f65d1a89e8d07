/*
 * usernet.c — the way out's namespace for a rootless harness: a fresh user namespace that maps only
 * the caller's own uid and gid to 0 (as the launcher maps its own rootless jobs: userns.c), a
 * network namespace owned by it with `lo` up, and the harness's listener on 127.0.0.1 inside.
 *
 * Why a child: rootless, a network namespace the harness could make in its own user namespace
 * (netns.c) is one the job's launcher, in a user namespace of its own, may not join. So the harness
 * makes the user namespace too, and the launcher joins both (--userns-fd, --net-fd), as services'
 * sandboxes join theirs. A multithreaded process cannot unshare a user namespace, so a short-lived
 * child is cloned into both namespaces; it writes its own maps, brings `lo` up, listens, opens its
 * /proc/self/ns/{user,net}, and exits, and we reap it by its pid.
 *
 * The child is cloned and reaped by rf_userchild_run (userchild.h): the fds it opens land in our
 * table, its results in our memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "userchild.h"
#include "netns.h"

struct usernet {
	unsigned uid, gid; /* ours, read before the clone: inside, unmapped, they read as the overflow id */
	int err;	   /* 0, or the errno of the step that failed */
	int user_fd, net_fd, listen_fd, port;
};

static int child_main(void *arg)
{
	struct usernet *u = arg;
	int err;

	if ((err = rf_userns_map_self(u->uid, u->gid)))
		goto out;
	if ((err = netns_lo_up()))
		goto out;
	if ((err = netns_listen_loopback(0, &u->listen_fd, &u->port)))
		goto out;
	u->user_fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (u->user_fd < 0) {
		err = errno;
		goto out;
	}
	u->net_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (u->net_fd < 0)
		err = errno;
out:
	/* a half-made set is closed here: the table is ours too, and nothing of it may stay in it */
	if (err) {
		if (u->listen_fd >= 0)
			close(u->listen_fd);
		if (u->user_fd >= 0)
			close(u->user_fd);
		u->listen_fd = u->user_fd = u->net_fd = -1;
	}
	u->err = err;
	_exit(0);
}

/*
 * A new user namespace (our ids as 0) owning a new network namespace (`lo` up), their fds in
 * *user_out and *net_out, and a listener on 127.0.0.1 there in *listen_out (its port in *port_out).
 * Returns 0 or an errno; nothing is left open on failure.
 */
int rf_usernet_listen(int *user_out, int *net_out, int *listen_out, int *port_out)
{
	struct usernet u = {.uid = (unsigned)geteuid(), .gid = (unsigned)getegid(), .err = EIO,
			    .user_fd = -1, .net_fd = -1, .listen_fd = -1, .port = 0};
	int err = rf_userchild_run(child_main, &u, CLONE_NEWNET);

	*user_out = *net_out = *listen_out = -1;
	*port_out = 0;
	if (err == 0)
		err = u.err;
	if (err != 0) {
		/* the child closes what it opened before a failed step; a lost child, what it reported */
		if (u.err == 0) {
			close(u.listen_fd);
			close(u.user_fd);
			close(u.net_fd);
		}
		return err;
	}
	*user_out = u.user_fd;
	*net_out = u.net_fd;
	*listen_out = u.listen_fd;
	*port_out = u.port;
	return 0;
}
