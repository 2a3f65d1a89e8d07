/*
 * signals.h — which signals ringfence forwards, and how they are kept
 * blocked from the outer process all the way into init.
 */
#ifndef RINGFENCE_SIGNALS_H
#define RINGFENCE_SIGNALS_H

#include <signal.h>

/* SIGTERM SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 */
void signals_forwarded(sigset_t *set);
/* Blocks the forwarded signals and SIGCHLD; *saved gets the mask to restore. */
void signals_block(sigset_t *saved);
/* For the job: default dispositions and the launcher's original mask. */
void signals_reset(const sigset_t *saved);

#endif
