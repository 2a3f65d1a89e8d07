/*
 * netns.h — the two steps every way out's namespace takes (netns.c), shared with usernet.c, which
 * takes them in a child of its own: `lo` up, and the harness's listener on 127.0.0.1.
 */
#ifndef RF_NETNS_H
#define RF_NETNS_H

/* `lo` up in this thread's network namespace: 0 or an errno. */
__attribute__((visibility("hidden"))) int netns_lo_up(void);

/* A listening, non-blocking, close-on-exec TCP socket on 127.0.0.1:port (0: the kernel picks). */
__attribute__((visibility("hidden"))) int netns_listen_loopback(int port, int *fd_out, int *port_out);

#endif
