/*
 * netns.c — a network namespace for a job under `--network allow:…`, and the harness's listening
 * socket inside it: the job's only way out (harness/net/).
 *
 * Why here and not in the launcher: the proxy lives in the harness, and so does its listening
 * socket. Made from the harness's thread (unshare or setns on this thread only, then setns back),
 * the socket is an fd of the harness's alone: nothing inside the job holds it, so the job cannot
 * kill, replace or reconfigure what listens, and there is no socket file to swap. The namespace has
 * `lo` and no other interface or route, so a connect() that does not go to 127.0.0.1 goes nowhere.
 *
 * The calling thread must come back to its own namespace: if that setns fails, carrying on would
 * open every later socket of this thread inside the job's namespace, so we abort instead.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns.h"

int netns_lo_up(void)
{
	struct ifreq ifr;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (sock < 0)
		return errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		err = errno;
	else {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
			err = errno;
	}
	close(sock);
	return err;
}

/* A listening TCP socket on 127.0.0.1:port (0: the kernel picks) of this thread's namespace. */
int netns_listen_loopback(int port, int *fd_out, int *port_out)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	socklen_t len = sizeof(addr);
	int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (sock < 0)
		return errno;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(sock, 128) < 0 ||
	    getsockname(sock, (struct sockaddr *)&addr, &len) < 0) {
		int err = errno;
		close(sock);
		return err;
	}
	*fd_out = sock;
	*port_out = ntohs(addr.sin_port);
	return 0;
}

/*
 * Into `net_fd`'s namespace, or (net_fd < 0) a new one with lo up, whose fd goes to *net_out; a
 * listener there; then back. Returns 0 or an errno; nothing is left open on failure.
 */
int rf_netns_listen(int net_fd, int port, int *net_out, int *listen_out, int *port_out)
{
	int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int made = -1, err = 0;

	*net_out = -1;
	*listen_out = -1;
	if (own < 0)
		return errno;
	if (net_fd >= 0 ? setns(net_fd, CLONE_NEWNET) < 0 : unshare(CLONE_NEWNET) < 0) {
		err = errno;
		close(own);
		return err;
	}
	if (net_fd < 0) {
		made = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		err = made < 0 ? errno : netns_lo_up();
	}
	if (err == 0)
		err = netns_listen_loopback(port, listen_out, port_out);
	if (setns(own, CLONE_NEWNET) < 0)
		abort();
	close(own);
	if (err != 0) {
		if (made >= 0)
			close(made);
		return err;
	}
	*net_out = made;
	return 0;
}
