/*
 * ahead.h — the job's init, made while a spare launcher still waits for its job.
 *
 * Why: clone() with the namespaces is the largest single step of a job start (the network
 * namespace most of it), and nothing in it depends on the job. A spare launcher told it is in
 * its cgroups ('P' on the gate) clones init then, with the namespaces a job of this harness usually
 * gets; init waits for the job's config on a socket. A job that wants other namespaces (the host's
 * network, a cgroup namespace, another user-namespace choice, a services' network) gets a fresh init
 * the usual way, and the one made ahead is killed. Nothing of the job runs before its gate, either way.
 */
#ifndef RINGFENCE_AHEAD_H
#define RINGFENCE_AHEAD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "options.h"

/* Clones init with `flags` now; on any failure there is simply none (the usual clone reports it). */
void ahead_make(const struct options *pending, unsigned long flags, char *argv0, const sigset_t *saved_mask);

/* A copy of the job's config blob, for the init made ahead (nothing when none was made). */
void ahead_keep_config(const char *buf, size_t len);

/*
 * The init made ahead, handed the job's config and released, when it was cloned with `flags` and
 * `fits` (no --net=join, namespaces at all); 0 otherwise, with any made ahead killed and reaped.
 * `layers_fd` (-1: none) goes with the config: the opened --overlay-mount (options.h).
 */
pid_t ahead_take(unsigned long flags, bool fits, int layers_fd);

/* The clone flags the init made ahead was made with; 0 when none was made. */
unsigned long ahead_flags(void);

/* Kills and reaps an init made ahead, if any (the harness gave up on this spare). */
void ahead_drop(void);

#endif
