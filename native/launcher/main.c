/*
 * main.c — the outer process: the part of ringfence that stays in the host's
 * namespaces.
 *
 * Why it exists at all (instead of Node unsharing directly): only a process
 * that was already placed in the job's cgroups may create the job, and only
 * a parent can write a child's uid/gid maps. So the harness spawns this, puts
 * it in the cgroups, opens the gate; this clones init into fresh namespaces,
 * then just relays signals and mirrors init's exit status.
 *
 * Under --no-namespaces (a host or container that refuses namespaces) init
 * is a plain forked child instead, and this process a child subreaper: the
 * job's orphans reparent here, and once init has exited they are killed and
 * reaped (reaper.c), as a PID namespace's end would kill them. Either way the
 * last status line is the whole tree's rusage ("tree", proto.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <stdnoreturn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ahead.h"
#include "config.h"
#include "init.h"
#include "intocg.h"
#include "net.h"
#include "options.h"
#include "proto.h"
#include "reaper.h"
#include "selftest.h"
#include "signals.h"
#include "userns.h"
#include "util.h"

extern char **environ;

/*
 * The harness writes to the gate once our pid is in every cgroup.procs, then closes it. A lone "g"
 * means go with the command line we were started with; anything longer is the job's whole config
 * (a launcher started ahead of its job, while the previous one ran, learns what to run only now).
 * A spare started with --ahead may first be told 'P' ("placed": in the cgroups now, the job not yet
 * known), on which it makes the job's init ahead (ahead.c). Returns true when a config arrived. EOF
 * with nothing: the harness gave up on us.
 */
static void make_ahead(void *arg);

static bool wait_gate(struct options *o, char *argv0, int *argc, char ***argv)
{
	size_t len = 0;
	char *buf;

	if (o->gate_fd < 0)
		return false;
	buf = config_read_all(o->gate_fd, &len, o->ahead ? make_ahead : NULL, o);
	close(o->gate_fd);
	if (len == 0) {
		ahead_drop(); /* its init must not outlive us in the cgroup the harness will remove */
		_exit(EXIT_LAUNCH_FAILED); /* harness gave up on us: nothing to report */
	}
	if (len == 1 && buf[0] == 'g') {
		free(buf);
		return false;
	}
	config_apply(buf, len, argv0, argc, argv);
	ahead_keep_config(buf, len);
	return true;
}

/*
 * Bazel's pattern: arm PDEATHSIG, then make sure the parent did not die before. PDEATHSIG follows
 * the thread that spawned us, not the process: a Harness worker thread that ended between our spawn
 * and the prctl is caught by its thread id (tgkill with no signal), or we would wait at a gate no one
 * will open for as long as the harness lives.
 */
static void tie_to_parent(pid_t parent_pid, pid_t parent_tid)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (parent_pid && getppid() != parent_pid)
		die_step(ESRCH, "pdeathsig", NULL);
	if (parent_pid && parent_tid && syscall(SYS_tgkill, parent_pid, parent_tid, 0) < 0 && errno == ESRCH)
		die_step(ESRCH, "pdeathsig", "the spawning thread has ended");
}

static unsigned long clone_flags(const struct options *o)
{
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;

	if (o->net == NET_NONE)
		flags |= CLONE_NEWNET;
	if (o->userns && o->userns_fd < 0)
		flags |= CLONE_NEWUSER;
	if (o->cgroupns)
		flags |= CLONE_NEWCGROUP;
	return flags;
}

static noreturn void abort_child(pid_t child, int err, const char *step)
{
	proto_error(err, step, NULL);
	kill(child, SIGKILL);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(EXIT_LAUNCH_FAILED);
}

/*
 * All namespaces in one clone(): created together, they are all owned by the
 * new user namespace (when there is one), so init holds full capabilities
 * over each of them. clone_child (intocg.c) gives fork semantics, in the job's
 * cgroup when the harness handed it over.
 * --no-namespaces: a plain fork, with no maps to write; the sync byte
 * still goes through, so init starts the same way in both modes.
 */
static pid_t spawn_init(struct options *o, const sigset_t *saved_mask)
{
	const char *spawn_step = o->no_namespaces ? "fork" : "clone";
	int sync[2];
	pid_t child;

	if (pipe2(sync, O_CLOEXEC) < 0)
		die_step(errno, spawn_step, NULL);
	/*
	 * --net=join: into the services' network namespace before the clone, which then makes none, so
	 * init and the job are born in it. Only the network (and, with --userns-fd, the user namespace
	 * that owns it: rootless, one cannot join a network owned by a user namespace one has no caps
	 * in): every other namespace is the job's own. The user namespace first, as its owner (the same
	 * uid made it) — with all caps in it, then the network and the clone are allowed.
	 */
	if (o->userns_fd >= 0) {
		if (setns(o->userns_fd, CLONE_NEWUSER) < 0)
			die_step(errno, "join user namespace", NULL);
		close(o->userns_fd);
	}
	if (o->net == NET_JOIN) {
		if (setns(o->net_fd, CLONE_NEWNET) < 0)
			die_step(errno, "join network", NULL);
		close(o->net_fd);
		o->net_fd = -1; /* init is born in it: nothing for init to join (init.c) */
	}
	/* before the fork: an orphan of the job must never find us not yet its subreaper */
	if (o->no_namespaces && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		die_step(errno, "subreaper", NULL);
	/* --no-namespaces: a plain fork; either way into the job's cgroup when the harness gave it */
	child = clone_child(o->no_namespaces ? SIGCHLD : clone_flags(o), o->cgroup_fd);
	if (child < 0)
		die_step(errno, spawn_step, NULL);
	if (child == 0) {
		close(sync[1]);
		init_main(o, sync[0], saved_mask);
	}
	close(sync[0]);
	if (o->userns && o->userns_fd < 0) {
		const char *step = "uid_map";
		int err = userns_write_maps(child, &o->subids, &step);

		if (err)
			abort_child(child, err, step);
	}
	if (write(sync[1], "g", 1) != 1)
		abort_child(child, errno, spawn_step);
	close(sync[1]);
	proto_trace("clone");
	return child;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * Reaps every child that has ended; true once init is among them (its status in *init_status). With
 * namespaces init is our only child; as a subreaper (--no-namespaces) the job's orphans are ours too.
 */
static bool reap_children(pid_t init, int *init_status)
{
	bool init_done = false;

	for (;;) {
		int status;
		pid_t r = waitpid(-1, &status, WNOHANG | __WALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return init_done;
		if (r == init) {
			init_done = true;
			*init_status = status;
		}
	}
}

/*
 * The whole tree's rusage: every descendant has been reaped by now (by init, or by us), and the
 * kernel adds what a reaped child had gathered from its own reaped children to its parent's.
 */
static void report_tree(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		proto_tree(&ru);
}

/*
 * Relay signals to init until it exits; its status becomes ours. Only init's end ends the loop: the
 * orphans a subreaper reaps meanwhile (or the harness's SIGKILL to every process below us, init
 * included) do not, and whatever is left once init is gone is killed and reaped before we report.
 */
static int supervise(pid_t init, bool subreaper)
{
	sigset_t set;
	int status = 0;

	signals_forwarded(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig == SIGCHLD || sig < 0) {
			if (reap_children(init, &status))
				break;
			continue;
		}
		kill(init, sig);
	}
	proto_trace("reaped");
	if (subreaper)
		reaper_end_leftovers();
	report_tree();
	return exit_code_of(status);
}

/*
 * `--probe-tcp=PORT --net-fd=N [--userns-fd=M]`: whether something listens on 127.0.0.1:PORT in that
 * network namespace (a service's `ready: {tcp: PORT}`); exit 0 when it accepted a connection, 1 when
 * not. Rootless, the user namespace that owns the network is joined first (as spawn_init does).
 */
static int probe_main(int argc, char **argv)
{
	unsigned long port = 0, fd = 0;
	char *end;

	if ((argc != 3 && argc != 4) || strncmp(argv[2], "--net-fd=", 9))
		return 2;
	if (argc == 4) {
		unsigned long ufd;

		if (strncmp(argv[3], "--userns-fd=", 12))
			return 2;
		ufd = strtoul(argv[3] + 12, &end, 10);
		if (*end || end == argv[3] + 12 || ufd > 1 << 20)
			return 2;
		if (setns((int)ufd, CLONE_NEWUSER) < 0)
			return 1;
	}
	port = strtoul(argv[1] + strlen("--probe-tcp="), &end, 10);
	if (*end || port == 0 || port > 65535)
		return 2;
	fd = strtoul(argv[2] + 9, &end, 10);
	if (*end || fd > 1 << 20)
		return 2;
	return net_probe_tcp((int)fd, (unsigned)port, 200) ? 1 : 0;
}

/* What the outer process sets up before its first child: done once, before init (ahead or not). */
static sigset_t saved_mask;
static bool supervisor_ready;
static char *launcher_argv0;

static void prepare_supervisor(const struct options *o)
{
	if (supervisor_ready)
		return;
	supervisor_ready = true;
	tie_to_parent(o->parent_pid, o->parent_tid);
	/* Keep the OOM killer on the job, never on its supervisors (root only). */
	(void)write_file("/proc/self/oom_score_adj", "-1000");
	signals_block(&saved_mask);
}

/*
 * --overlay-mount, opened here, in the host's user namespace, for init to attach (options.h:
 * overlay_mount_fd): before any setns into a user namespace, and before init is made or handed over.
 */
static void open_layers_mount(struct options *o)
{
	if (!o->overlay_mount)
		return;
	o->overlay_mount_fd = open(o->overlay_mount, O_PATH | O_CLOEXEC);
	if (o->overlay_mount_fd < 0)
		die_step(errno, "overlay", "the layers' tmpfs");
}

/* 'P' on the gate of a spare started with --ahead: in its cgroups now, so init may be made. */
static void make_ahead(void *arg)
{
	const struct options *o = arg;

	unsigned long flags = clone_flags(o);

	if (o->no_namespaces || (o->ahead_joins && o->userns))
		return; /* a join in a user namespace of its own: init is born in the namespaces it joins */
	if (o->ahead_joins)
		flags &= ~(unsigned long)CLONE_NEWNET;
	prepare_supervisor(o);
	ahead_make(o, flags, launcher_argv0, &saved_mask);
}

int main(int argc, char **argv)
{
	struct options o;
	const char *why = NULL;
	pid_t init;
	int err;

	if (argc > 1 && !strncmp(argv[1], "--probe-tcp=", 12))
		return probe_main(argc, argv);
	if (argc == 2 && !strcmp(argv[1], "--self-test"))
		return selftest_main();
	launcher_argv0 = argv[0];
	err = options_parse(argc, argv, &o, &why);

	proto_init(o.status_fd);
	if (err)
		die_step(err, "args", why);
	/* armed before the gate: a spare waiting there goes with the thread that made it */
	tie_to_parent(o.parent_pid, o.parent_tid);
	if (wait_gate(&o, argv[0], &argc, &argv)) {
		optind = 0; /* glibc: a full re-initialisation of getopt */
		err = options_parse(argc, argv, &o, &why);
		if (err)
			die_step(err, "args", why);
	}
	if (o.trace) {
		proto_trace_enable();
		proto_trace("gate");
	}
	prepare_supervisor(&o);
	open_layers_mount(&o);
	/*
	 * For --net=join an init made ahead moves into the namespace to join itself (init.c), out of one
	 * of its own or (--ahead-joins) out of ours, which only an init that is root over that namespace
	 * can: not in a user namespace of its own. A job of any other network takes only an init made
	 * with exactly its flags: never one without a network namespace of its own.
	 */
	init = ahead_take(clone_flags(&o) | (o.net == NET_JOIN ? ahead_flags() & CLONE_NEWNET : 0),
			  !o.no_namespaces && (o.net != NET_JOIN || !o.userns), o.overlay_mount_fd);
	if (init)
		proto_trace("ahead");
	else
		init = spawn_init(&o, &saved_mask);
	if (o.overlay_mount_fd >= 0)
		close(o.overlay_mount_fd); /* init has its own copy now */
	proto_init_pid(init);
	return supervise(init, o.no_namespaces);
}
