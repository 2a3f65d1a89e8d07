/*
 * net.h — the job's network and UTS identity.
 */
#ifndef RINGFENCE_NET_H
#define RINGFENCE_NET_H

void net_lo_up(void);
/* Joins the network namespace of net_fd and connects to 127.0.0.1:port: 0 when it accepted, else errno. */
int net_probe_tcp(int net_fd, unsigned port, int timeout_ms);
void uts_setup(const char *hostname);

#endif
