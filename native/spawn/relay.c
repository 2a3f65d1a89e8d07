/*
 * relay.c — the byte path of an admitted connection of `--network allow:…` (harness/net/): once the
 * proxy has checked a CONNECT (and its TLS name) or rewritten a plain request's head, the client's
 * and the upstream's sockets are handed here and the bytes never reach JavaScript again.
 *
 * Why: through Node's event loop every byte crossed loopback TCP twice with two copies into and out
 * of JS buffers, which made a 100 MiB download several times slower than a direct one. Here a
 * detached thread moves them with splice() through a pipe each way (the pages are moved, not
 * copied), counts them, and when both ways are done — or the job's stop pipe says so — closes its
 * fds and writes one fixed-size record to the report pipe, which the harness reads for the job's
 * network record. The thread is started by a synchronous call: no koffi async call is ever in flight
 * (native/spawn.ts says why that matters on a worker thread).
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

/* A pipe this big keeps a splice's batch large without pinning much memory per connection. */
#define RELAY_PIPE_BYTES (256 * 1024)

/* What the report pipe gets for each relay: at most PIPE_BUF bytes, so one write is atomic. */
struct relay_report {
	uint64_t id;
	uint64_t bytes_out; /* written to the upstream, the prefix included */
	uint64_t bytes_in;  /* read from the upstream */
	int32_t error;      /* 0, or the errno that ended it (ECANCELED: stopped) */
	int32_t pad;
};

/* One way: src → pipe → dst, after the bytes the harness had already read (pre). */
struct way {
	int src, dst;
	int pipe_r, pipe_w;
	size_t in_pipe; /* bytes in the pipe, not yet written to dst */
	char *pre;
	size_t pre_len, pre_off;
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

/* Moves all it can until both ends would block; 0, or an errno that ends the connection. */
static int step(struct way *w)
{
	int progress = 1;

	while (progress && !w->done) {
		progress = 0;
		if (w->pre_off < w->pre_len) {
			ssize_t n = send(w->dst, w->pre + w->pre_off, w->pre_len - w->pre_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0)
				return errno == EAGAIN ? 0 : errno;
			w->pre_off += (size_t)n;
			w->written += (uint64_t)n;
			progress = 1;
			continue;
		}
		if (!w->src_done && w->in_pipe < RELAY_PIPE_BYTES) {
			ssize_t n = splice(w->src, NULL, w->pipe_w, NULL, RELAY_PIPE_BYTES - w->in_pipe,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n == 0)
				w->src_done = 1;
			else if (n > 0) {
				w->in_pipe += (size_t)n;
				w->read += (uint64_t)n;
				progress = 1;
			} else if (errno != EAGAIN)
				return errno;
		}
		if (w->in_pipe > 0) {
			ssize_t n = splice(w->pipe_r, NULL, w->dst, NULL, w->in_pipe,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				w->in_pipe -= (size_t)n;
				w->written += (uint64_t)n;
				progress = 1;
			} else if (n < 0 && errno != EAGAIN)
				return errno;
		}
		if (w->src_done && w->in_pipe == 0) {
			/* the half-close goes on to the other side, as a tunnel's must */
			shutdown(w->dst, SHUT_WR);
			w->done = 1;
		}
	}
	return 0;
}

/* poll's interest in this way's ends: read while the pipe has room, write while bytes wait. */
static void interest(const struct way *w, short *src_events, short *dst_events)
{
	if (w->done)
		return;
	if (w->pre_off < w->pre_len || w->in_pipe > 0)
		*dst_events |= POLLOUT;
	if (!w->src_done && w->pre_off == w->pre_len && w->in_pipe < RELAY_PIPE_BYTES)
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
		/* both ways, whatever woke it: a splice that would block costs little, a missed one a stall */
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
	close_fd(&w->pipe_r);
	close_fd(&w->pipe_w);
	free(w->pre);
	w->pre = NULL;
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
	int p[2];

	w->src = src;
	w->dst = dst;
	w->pipe_r = w->pipe_w = -1;
	if (pre_len > 0) {
		w->pre = malloc((size_t)pre_len);
		if (!w->pre)
			return ENOMEM;
		memcpy(w->pre, pre, (size_t)pre_len);
		w->pre_len = (size_t)pre_len;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return errno;
	w->pipe_r = p[0];
	w->pipe_w = p[1];
	/* a smaller pipe only means smaller batches: a failure here is not one of the relay's */
	fcntl(w->pipe_w, F_SETPIPE_SZ, RELAY_PIPE_BYTES);
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
	r->up.pipe_r = r->up.pipe_w = r->down.pipe_r = r->down.pipe_w = -1;
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
