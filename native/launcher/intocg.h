/*
 * intocg.h — the job's init born inside the job's cgroup.
 *
 * Why: moving a process into a cgroup (a write to cgroup.procs) waits for an RCU grace period the
 * first time in a while — the largest single cost of a one-off `ringfence run`. On cgroup v2,
 * clone3(CLONE_INTO_CGROUP) creates the child in the cgroup instead, with no move at all; the
 * launcher, which stays where the harness started it, does that for init when the harness hands it
 * the cgroup's directory (--cgroup-fd).
 */
#ifndef RINGFENCE_INTOCG_H
#define RINGFENCE_INTOCG_H

#include <sys/types.h>

/*
 * Clones a child with `flags` (namespace flags and the exit signal, as for clone(2)), with fork
 * semantics. cgroup_fd >= 0: the child is created in that cgroup; on a kernel without
 * CLONE_INTO_CGROUP (before 5.7) it is cloned here and moved in before this returns — it must wait
 * for its parent before it does anything (init does: its sync pipe). -1 with errno on failure.
 */
pid_t clone_child(unsigned long flags, int cgroup_fd);

#endif
