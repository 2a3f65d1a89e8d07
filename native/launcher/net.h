/*
 * net.h — the job's network and UTS identity.
 */
#ifndef RINGFENCE_NET_H
#define RINGFENCE_NET_H

void net_lo_up(void);
void uts_setup(const char *hostname);

#endif
