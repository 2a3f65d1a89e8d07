/*
 * job.c — the last steps before the job's program runs, in the order that
 * keeps each step possible: privileges are dropped last but one, since
 * rlimits, fd closing and chdir may need them; no_new_privs goes right
 * before exec so nothing the job execs can gain privileges back, and the
 * seccomp filter right after it (installing one needs no_new_privs).
 */
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "caps.h"
#include "fds.h"
#include "proto.h"
#include "rlimits.h"
#include "seccomp.h"
#include "signals.h"
#include "util.h"

noreturn void job_exec(const struct options *o, const sigset_t *saved_mask, int fail_fd)
{
	proto_set_failure_fd(fail_fd);
	signals_reset(saved_mask);
	/*
	 * A session and process group of its own: kill(0, ...) from the job (`kill -9 0`) then reaches
	 * the job's own group, not the launcher and init beside it, whose end would read as ringfence
	 * failing to start the job. The launcher's setsid already left no controlling terminal.
	 */
	if (setsid() < 0)
		die_step(errno, "setsid", NULL);
	/* Undo the outer's -1000: the job is what the OOM killer should pick. */
	(void)write_file("/proc/self/oom_score_adj", "0");
	rlimits_apply(o);
	fds_close_others(o, fail_fd);
	if (o->workdir && chdir(o->workdir) < 0)
		die_step(errno, "chdir", o->workdir);
	caps_drop_and_switch_user(o);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die_step(errno, "no_new_privs", NULL);
	seccomp_apply();
	proto_trace("exec");
	execvp(o->argv[0], o->argv);
	die_step(errno, "exec", o->argv[0]);
}
