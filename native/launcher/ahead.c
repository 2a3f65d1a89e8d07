/*
 * ahead.c — the job's init made ahead (ahead.h): cloned when the spare is placed, handed the job's
 * config when it arrives.
 */
#define _GNU_SOURCE
#include "ahead.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdnoreturn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "init.h"
#include "intocg.h"
#include "proto.h"
#include "userns.h"

static struct {
	pid_t pid; /* 0: none made */
	unsigned long flags;
	int sync_w;   /* the usual sync byte (init.c): maps written, go */
	int config_w; /* a socket: the layers' fd (recv_layers_fd), the job's config blob, then EOF */
	/*
	 * /proc/self/mountinfo, opened before the clone: poll() says POLLPRI once the host's mount table
	 * changed, and init's copy of it (taken at the clone) would then be stale — a volume's source
	 * mounted since would be missed where the host's mounts do not propagate. Such an init is dropped.
	 */
	int mounts_fd;
	char *blob; /* the job's config as it came through the gate (NULL: none yet) */
	size_t len;
} ahead = {0, 0, -1, -1, -1, NULL, 0};

static void close_pipes(void)
{
	if (ahead.sync_w >= 0)
		close(ahead.sync_w);
	if (ahead.config_w >= 0)
		close(ahead.config_w);
	if (ahead.mounts_fd >= 0)
		close(ahead.mounts_fd);
	ahead.sync_w = ahead.config_w = ahead.mounts_fd = -1;
	free(ahead.blob);
	ahead.blob = NULL;
}

/*
 * The first byte on the config socket: 'L' with the opened --overlay-mount attached (SCM_RIGHTS), or
 * 'N' with none. An init in a user namespace of its own could not open it itself (options.h).
 */
static int recv_layers_fd(int sock)
{
	char byte, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control)};
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		_exit(EXIT_LAUNCH_FAILED); /* the launcher is gone or gave up */
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if ((byte == 'L') != (fd >= 0))
		_exit(EXIT_LAUNCH_FAILED);
	return fd;
}

static bool send_layers_fd(int sock, int fd)
{
	char byte = fd >= 0 ? 'L' : 'N', control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1;
}

/*
 * Init's side: wait for the job's config (EOF with none: the launcher is gone or gave up), parse it as
 * the launcher did, then go on as any init. The launcher already refused a config that does not parse.
 */
static noreturn void ahead_init(int sync_fd, int config_fd, int gate_fd, char *argv0,
				const sigset_t *saved_mask)
{
	struct options o;
	const char *why = NULL;
	size_t len = 0;
	char *buf, **argv;
	int argc, err, layers_fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(ahead.mounts_fd);
	close(gate_fd); /* the launcher's to read; the harness's EOF on it must reach only the launcher */
	layers_fd = recv_layers_fd(config_fd);
	buf = config_read_all(config_fd, &len, NULL, NULL);
	close(config_fd);
	if (len == 0)
		_exit(EXIT_LAUNCH_FAILED);
	config_apply(buf, len, argv0, &argc, &argv);
	optind = 0; /* glibc: a full re-initialisation of getopt */
	err = options_parse(argc, argv, &o, &why);
	if (err)
		die_step(err, "args", why);
	o.overlay_mount_fd = layers_fd;
	if (o.trace)
		proto_trace_enable();
	init_main(&o, sync_fd, saved_mask);
}

void ahead_make(const struct options *pending, unsigned long flags, char *argv0, const sigset_t *saved_mask)
{
	int sync[2], config[2];
	pid_t child;

	if (ahead.pid)
		return;
	ahead.mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (ahead.mounts_fd < 0)
		return; /* no way to tell a stale mount table: no init ahead */
	if (pipe2(sync, O_CLOEXEC) < 0) {
		close_pipes();
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, config) < 0) {
		close(sync[0]);
		close(sync[1]);
		close_pipes();
		return;
	}
	child = clone_child(flags, pending->cgroup_fd);
	if (child == 0) {
		close(sync[1]);
		close(config[1]);
		ahead_init(sync[0], config[0], pending->gate_fd, argv0, saved_mask);
	}
	close(sync[0]);
	close(config[0]);
	ahead.sync_w = sync[1];
	ahead.config_w = config[1];
	if (child < 0) {
		close_pipes();
		return;
	}
	ahead.pid = child;
	ahead.flags = flags;
	if (flags & CLONE_NEWUSER) {
		const char *step = NULL;

		if (userns_write_maps(child, NULL, &step))
			ahead_drop();
	}
}

unsigned long ahead_flags(void)
{
	return ahead.pid ? ahead.flags : 0;
}

void ahead_keep_config(const char *buf, size_t len)
{
	char *copy;

	/* a copy: parsing splits --volume's SRC:DST in place, and init must parse the blob as it came */
	if (!ahead.pid || !(copy = malloc(len)))
		return;
	memcpy(copy, buf, len);
	ahead.blob = copy;
	ahead.len = len;
}

void ahead_drop(void)
{
	pid_t pid = ahead.pid;

	close_pipes();
	ahead.pid = 0;
	if (!pid)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* The whole blob down the socket (init reads as it comes, so a blob past its buffer is fine). */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Whether the host's mount table changed since the init was cloned (or cannot be told). */
static bool mounts_changed(void)
{
	struct pollfd p = {.fd = ahead.mounts_fd, .events = POLLPRI};

	return poll(&p, 1, 0) != 0;
}

/* Hands the job's config and the go to the init made ahead; false when it cannot take them. */
static bool hand_over(int layers_fd)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	bool ok;

	/* an init that died under us makes these writes EPIPE, not a SIGPIPE that ends the launcher */
	sigaction(SIGPIPE, &ign, &old);
	ok = send_layers_fd(ahead.config_w, layers_fd) && write_all(ahead.config_w, ahead.blob, ahead.len);
	close(ahead.config_w);
	ahead.config_w = -1;
	ok = ok && write(ahead.sync_w, "g", 1) == 1;
	sigaction(SIGPIPE, &old, NULL);
	return ok;
}

pid_t ahead_take(unsigned long flags, bool fits, int layers_fd)
{
	pid_t pid = ahead.pid;

	if (!pid)
		return 0;
	if (fits && flags == ahead.flags && ahead.blob && !mounts_changed()) {
		pid_t gone = waitpid(pid, NULL, WNOHANG | __WALL);

		if (gone == pid) {
			/* it died waiting (killed from outside): reaped now, so never signalled again by pid */
			ahead.pid = 0;
			close_pipes();
			return 0;
		}
		if (gone == 0 && hand_over(layers_fd)) {
			close_pipes();
			ahead.pid = 0;
			return pid;
		}
	}
	ahead_drop();
	return 0;
}
