/*
 * net.c — brings up loopback in a fresh network namespace, and probes a port in a job's.
 *
 * Why: a new netns starts with lo DOWN, and many test suites bind 127.0.0.1.
 * Two ioctls on a throwaway socket; no netlink needed for one flag.
 * The probe is how a service's `ready: {tcp: PORT}` is seen from outside its network namespace: the
 * harness cannot connect there itself (harness/services/run.ts).
 */
#include "net.h"

#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

void net_lo_up(void)
{
	struct ifreq ifr;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sock < 0)
		die_step(errno, "lo up", NULL);
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		die_step(errno, "lo up", NULL);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		die_step(errno, "lo up", NULL);
	close(sock);
}

int net_probe_tcp(int net_fd, unsigned port, int timeout_ms)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	struct pollfd pfd;
	int sock, err = 0;
	socklen_t len = sizeof(err);

	if (setns(net_fd, CLONE_NEWNET) < 0)
		return errno;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		err = errno;
		close(sock);
		return err;
	}
	pfd.fd = sock;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		err = ETIMEDOUT;
	else if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	close(sock);
	return err;
}
