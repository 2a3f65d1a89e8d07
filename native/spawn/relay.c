/*
 * relay.c — the byte path of an admitted connection of `--network allow:…` (harness/net/): once the
 * proxy has checked a CONNECT (and its TLS name) or rewritten a plain request's head, the client's
 * and the upstream's sockets are handed here and the bytes never reach JavaScript again.
 *
 * Why: through Node's event loop every byte crossed loopback TCP twice with copies into and out
 * of JavaScript buffers and a callback per chunk, which made a 100 MiB download several times
 * slower than a direct one. Here a detached thread moves them with recv()/send() through a buffer
 * each way (measured no slower than splice() through a pipe on loopback, and it needs no pipe
 * fds), counts them, and when both ways are done — or the job's stop pipe says so — closes its fds
 * and writes one fixed-size record to the report pipe, which the harness reads for the job's
 * network record. The thread is started by a synchronous call: no koffi async call is ever in
 * flight (native/spawn-lib/library.ts says why that matters on a worker thread).
 *
 * Every fd the thread uses is its own dup (close-on-exec), so the harness closes its copies at once
 * and nothing it does afterwards can make the thread touch a reused fd number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * pthread_create and pthread_attr_setstacksize at the versions they had before glibc 2.34 moved
 * them into libc under GLIBC_2.34: this library, prebuilt on a newer glibc, must load into a Node on
 * glibc 2.28 (Node 20's floor), where they are libpthread's (which Node links); 2.34 and later keep
 * the old versions for such callers.
 */
#if defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@GLIBC_2.2.5");
#elif defined(__GLIBC__) && defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@GLIBC_2.17");
#endif

/* Each way's buffer: large batches, little memory per connection. */
#define RELAY_BUFFER_BYTES (256 * 1024)

/* What the report pipe gets for each relay: at most PIPE_BUF bytes, so one write is atomic. */
struct relay_report {
	uint64_t id;
	uint64_t bytes_out; /* written to the upstream, the prefix included */
	uint64_t bytes_in;  /* read from the upstream */
	int32_t error;      /* 0, or the errno that ended it (ECANCELED: stopped) */
	int32_t pad;
};

/* One way: src → buf → dst; buf starts with the bytes the harness had already read. */
struct way {
	int src, dst;
	char *buf;
	size_t cap, len, off; /* buf[off, len) is still to be written to dst */
	int src_done; /* src said EOF */
	int done;     /* all of it written to dst and dst shut for writing */
	uint64_t read, written;
};

struct relay {
	uint64_t id;
	int stop, report;
	struct way up;   /* client → upstream */
	struct way down; /* upstream → client */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Moves all it can until an end would block; 0, or an errno that ends the connection. */
static int step(struct way *w)
{
	while (!w->done) {
		if (w->off < w->len) {
			ssize_t n = send(w->dst, w->buf + w->off, w->len - w->off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0)
				return errno == EAGAIN ? 0 : errno;
			w->off += (size_t)n;
			w->written += (uint64_t)n;
			continue;
		}
		if (w->src_done) {
			/* the half-close goes on to the other side, as a tunnel's must */
			shutdown(w->dst, SHUT_WR);
			w->done = 1;
			break;
		}
		if (w->cap < RELAY_BUFFER_BYTES) {
			char *bigger = realloc(w->buf, RELAY_BUFFER_BYTES);
			if (!bigger)
				return ENOMEM;
			w->buf = bigger;
			w->cap = RELAY_BUFFER_BYTES;
		}
		ssize_t n = recv(w->src, w->buf, w->cap, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN ? 0 : errno;
		w->off = 0;
		w->len = (size_t)n;
		w->read += (uint64_t)n;
		if (n == 0)
			w->src_done = 1;
	}
	return 0;
}

/* poll's interest in this way's ends: write while bytes wait, else read. */
static void interest(const struct way *w, short *src_events, short *dst_events)
{
	if (w->done)
		return;
	if (w->off < w->len)
		*dst_events |= POLLOUT;
	else
		*src_events |= POLLIN;
}

static int run(struct relay *r)
{
	/* the two sockets: [0] the client, [1] the upstream; [2] the stop pipe */
	struct pollfd fds[3] = {{.fd = r->up.src}, {.fd = r->down.src}, {.fd = r->stop, .events = POLLIN}};
	int err = 0;

	if ((err = step(&r->up)) || (err = step(&r->down)))
		return err;
	while (!(r->up.done && r->down.done)) {
		fds[0].events = fds[1].events = 0;
		interest(&r->up, &fds[0].events, &fds[1].events);
		interest(&r->down, &fds[1].events, &fds[0].events);
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (fds[2].revents)
			return ECANCELED;
		/* a reset end is reported at once: polled on, it would wake the loop forever */
		for (int i = 0; i < 2; i++)
			if (fds[i].revents & POLLERR) {
				int so_error = ECONNRESET;
				socklen_t len = sizeof(so_error);
				getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
				return so_error ? so_error : ECONNRESET;
			}
		/* both ways, whatever woke it: a call that would block costs little, a missed one a stall */
		err = step(&r->up);
		if (!err)
			err = step(&r->down);
		if (err)
			return err;
	}
	return 0;
}

static void free_way(struct way *w)
{
	free(w->buf);
	w->buf = NULL;
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	struct relay_report report = {.id = r->id};

	report.error = run(r);
	report.bytes_out = r->up.written;
	report.bytes_in = r->down.read;
	/* up.src is the client, down.src the upstream: the other two fields are the same fds */
	close_fd(&r->up.src);
	close_fd(&r->down.src);
	close_fd(&r->stop);
	free_way(&r->up);
	free_way(&r->down);
	/* the harness that reads it may be gone (a worker thread that ended): EPIPE is ignored then */
	while (write(r->report, &report, sizeof(report)) < 0 && errno == EINTR)
		;
	close_fd(&r->report);
	free(r);
	return NULL;
}

static int make_way(struct way *w, int src, int dst, const uint8_t *pre, int pre_len)
{
	w->src = src;
	w->dst = dst;
	if (pre_len > 0) {
		w->buf = malloc((size_t)pre_len);
		if (!w->buf)
			return ENOMEM;
		memcpy(w->buf, pre, (size_t)pre_len);
		w->cap = w->len = (size_t)pre_len;
	}
	return 0;
}

static int dup_fd(int fd, int *out)
{
	*out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return *out < 0 ? errno : 0;
}

/*
 * Relays between `client` and `upstream` (connected TCP sockets; dup'ed, the caller keeps its own)
 * on a detached thread, after writing `to_up` to the upstream and `to_client` to the client. It ends
 * when both ways are done, on an error, or once `stop` (a pipe's read end) is readable or hung up,
 * and then writes a struct relay_report with `id` to `report`. Returns 0 or an errno; on failure no
 * thread was started and nothing is left open.
 */
int rf_relay_start(int client, int upstream, int stop, int report, double id, const uint8_t *to_up,
		   int to_up_len, const uint8_t *to_client, int to_client_len)
{
	struct relay *r = calloc(1, sizeof(*r));
	int c = -1, u = -1, err;
	pthread_attr_t attr;
	pthread_t thread;

	if (!r)
		return ENOMEM;
	r->id = (uint64_t)id;
	r->stop = r->report = -1;
	err = dup_fd(client, &c);
	if (!err)
		err = dup_fd(upstream, &u);
	if (!err)
		err = dup_fd(stop, &r->stop);
	if (!err)
		err = dup_fd(report, &r->report);
	if (!err) {
		int flags = fcntl(c, F_GETFL);
		/* the dups share Node's file descriptions, already non-blocking; made sure of here */
		if (flags < 0 || fcntl(c, F_SETFL, flags | O_NONBLOCK) < 0 ||
		    (flags = fcntl(u, F_GETFL)) < 0 || fcntl(u, F_SETFL, flags | O_NONBLOCK) < 0)
			err = errno;
	}
	if (!err)
		err = make_way(&r->up, c, u, to_up, to_up_len);
	if (!err)
		err = make_way(&r->down, u, c, to_client, to_client_len);
	if (!err)
		err = pthread_attr_init(&attr);
	if (!err) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		/* the loop holds a few locals: a small stack, so thousands of relays cost little memory */
		pthread_attr_setstacksize(&attr, 64 * 1024);
		err = pthread_create(&thread, &attr, relay_thread, r);
		pthread_attr_destroy(&attr);
	}
	if (!err)
		return 0;
	close_fd(&c);
	close_fd(&u);
	close_fd(&r->stop);
	close_fd(&r->report);
	free_way(&r->up);
	free_way(&r->down);
	free(r);
	return err;
}
