/*
 * init.c — PID 1 inside the sandbox: builds the environment, forks the job,
 * reaps, relays signals, reports the job's result.
 *
 * Why a separate PID 1 (not exec the job as PID 1): a job's PID 1 would have
 * to reap orphans and would ignore SIGTERM it did not install a handler for.
 * Ours exits as soon as the job's main process is reaped, and the kernel then
 * kills whatever else is left in the namespace — daemonized leftovers die
 * with the job, as in Docker.
 *
 * Under --no-namespaces this is no PID 1, only the job's parent: nothing is
 * built, the job is forked and reported on the same way, and the orphans go
 * to the outer process (a child subreaper), which ends them after us.
 */
#define _GNU_SOURCE
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "mounts.h"
#include "net.h"
#include "proto.h"
#include "signals.h"
#include "userns.h"
#include "util.h"

struct job_state {
	pid_t pid;
	bool setup_failed; /* the job child already wrote an error line */
	bool done;
	int status;
	struct rusage ru;
};

/*
 * "layers\t<inodes in use>" of the layers tmpfs, once every mount step is done and before the job
 * exists: from here on only the job adds to it, and anything it leaves in an upper layer (a file, a
 * copied-up parent, a whiteout) is at least one inode more. The harness compares after the job and
 * walks the layers only when the count grew (harness/fs/pollution.ts). A tmpfs counts inodes only
 * with a limit, which a tmpfs mounted without nr_inodes=0 has.
 */
static void layers_report(const struct options *o)
{
	struct statfs st;

	if (o->layers_fd < 0 || fstatfs(o->layers_fd, &st) < 0 || st.f_files == 0)
		return;
	proto_layers((unsigned long long)(st.f_files - st.f_ffree));
}

static void build_sandbox(struct options *o)
{
	mounts_setup(o);
	uts_setup(o->hostname);
	if (o->net == NET_NONE)
		net_lo_up();
	/* an init made ahead (ahead.c) opened the namespace to join from its config: into it now */
	else if (o->net == NET_JOIN && o->net_fd >= 0) {
		if (setns(o->net_fd, CLONE_NEWNET) < 0)
			die_step(errno, "join network", NULL);
		close(o->net_fd);
		o->net_fd = -1;
	}
}

/*
 * The job reports its own setup failures (it knows the step). A CLOEXEC pipe
 * tells init whether it did: a byte means "failed", EOF means exec happened.
 */
static void spawn_job(struct options *o, const sigset_t *saved_mask, struct job_state *js)
{
	int fail_pipe[2];

	if (pipe2(fail_pipe, O_CLOEXEC) < 0)
		die_step(errno, "fork", NULL);
	js->pid = fork();
	if (js->pid < 0)
		die_step(errno, "fork", NULL);
	if (js->pid == 0) {
		close(fail_pipe[0]);
		job_exec(o, saved_mask, fail_pipe[1]);
	}
	close(fail_pipe[1]);
	js->setup_failed = read_byte(fail_pipe[0]) == 1;
	close(fail_pipe[0]);
}

/* PID 1 inherits every orphan: reap them all, note the job's own status. */
static void reap(struct job_state *js)
{
	for (;;) {
		int status;
		struct rusage ru;
		pid_t pid = wait4(-1, &status, WNOHANG, &ru);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		if (pid == js->pid) {
			js->done = true;
			js->status = status;
			js->ru = ru;
		}
	}
}

/*
 * The whole job's I/O: once the job is reaped, init's own task counters hold it (the kernel adds a
 * reaped child's counters, and all it had gathered from its own children, to its parent's). The
 * cgroup's block-I/O counters can read 0 for the same writes (v1 blkio counts only I/O that passes a
 * throttle rule or BFQ), so this is the figure reported; it works the same on v1, v2 and rootless.
 */
static void read_io(struct io_counters *io)
{
	static const char *keys[] = {"rchar: ", "wchar: ", "read_bytes: ", "write_bytes: "};
	unsigned long long *vals[] = {&io->rchar, &io->wchar, &io->read_bytes, &io->write_bytes};
	char buf[512];
	int found = 0;

	io->valid = 0;
	if (read_file("/proc/self/io", buf, sizeof(buf)) <= 0)
		return;
	for (size_t i = 0; i < 4; i++) {
		char *at = strstr(buf, keys[i]);

		/* whole-line matches only: "write_bytes: " also ends "cancelled_write_bytes: " */
		if (at && (at == buf || at[-1] == '\n')) {
			*vals[i] = strtoull(at + strlen(keys[i]), NULL, 10);
			found++;
		}
	}
	io->valid = found == 4;
}

static noreturn void finish(const struct job_state *js)
{
	struct io_counters io;

	if (js->setup_failed)
		_exit(EXIT_LAUNCH_FAILED);
	proto_trace("job-exit");
	read_io(&io);
	if (WIFSIGNALED(js->status)) {
		proto_signal(WTERMSIG(js->status), &js->ru, &io);
		_exit(128 + WTERMSIG(js->status));
	}
	proto_exit(WEXITSTATUS(js->status), &js->ru, &io);
	_exit(WEXITSTATUS(js->status));
}

static noreturn void supervise_job(struct job_state *js)
{
	sigset_t set;

	signals_forwarded(&set);
	sigaddset(&set, SIGCHLD);
	reap(js); /* the job may have died before we got here */
	while (!js->done) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig == SIGCHLD)
			reap(js);
		else if (sig > 0)
			kill(js->pid, sig);
	}
	finish(js);
}

noreturn void init_main(struct options *o, int sync_fd, const sigset_t *saved_mask)
{
	struct job_state js = {0};

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the cgroup's directory was for our clone: nothing in the job may hold it (its caps are there) */
	if (o->cgroup_fd >= 0)
		close(o->cgroup_fd);
	/* EOF: the outer process died before (or while) writing our maps. */
	if (read_byte(sync_fd) != 1)
		_exit(EXIT_LAUNCH_FAILED);
	close(sync_fd);
	proto_trace("init");
	if (!o->no_namespaces) {
		if (o->userns)
			userns_become_root();
		build_sandbox(o);
	}
	proto_trace("mounts");
	layers_report(o);
	spawn_job(o, saved_mask, &js);
	supervise_job(&js);
}
