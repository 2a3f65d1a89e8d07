/*
 * net.c — brings up loopback in a fresh network namespace.
 *
 * Why: a new netns starts with lo DOWN, and many test suites bind 127.0.0.1.
 * Two ioctls on a throwaway socket; no netlink needed for one flag.
 */
#include "net.h"

#include <errno.h>
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
