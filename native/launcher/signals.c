/*
 * signals.c — signal plumbing without handlers.
 *
 * Why block instead of handle: the outer process and init both sit in
 * sigwaitinfo(). Blocking before clone() means a SIGTERM that arrives while
 * the namespaces are being built is queued, not lost. It also matters for
 * init: the kernel drops a signal sent to a PID-namespace init whose
 * disposition is SIG_DFL, unless that signal is blocked (then it queues).
 */
#include "signals.h"

#include <stddef.h>

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void signals_forwarded(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
}

void signals_block(sigset_t *saved)
{
	sigset_t set;
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	/* An inherited SIG_IGN for SIGCHLD would auto-reap and hide exit codes. */
	sigaction(SIGCHLD, &dfl, NULL);
	signals_forwarded(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, saved);
}

void signals_reset(const sigset_t *saved)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	/* SIG_IGN survives exec; the job should start as if spawned plainly. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, saved, NULL);
}
