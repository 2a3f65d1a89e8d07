/*
 * options.h — the launcher's command line, parsed once in the outer process.
 *
 * Why a plain struct: the clone()d init and the forked job both read it
 * after fork, so it must be self-contained memory (pointers into argv only).
 */
#ifndef RINGFENCE_OPTIONS_H
#define RINGFENCE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Docker's convention: 125 means "the sandbox itself could not run the job". */
#define EXIT_LAUNCH_FAILED 125

/* A bind source captured early, before the root turns read-only (binds.c). */
struct staged_bind {
	int fd;        /* -1: not staged yet */
	bool detached; /* fd is an open_tree() clone; else an O_PATH fd of the source */
};

struct volume {
	const char *src;
	const char *dst;
	bool ro;
	/* SRC:DST:overlay (--overlay-dir only): seen through an overlay of its own, writes kept in a layer */
	bool overlay;
	bool overlaid; /* the overlay was made; else the staged bind is attached read-only */
	struct staged_bind staged;
};

/* NET_JOIN: the network namespace of --net-fd (a job's services share it: harness/services/run.ts) */
enum net_mode { NET_NONE, NET_HOST, NET_JOIN };

/*
 * --subids=UID:N:GID:N: the user's subordinate ranges (/etc/subuid, /etc/subgid), mapped to ids 1..N
 * inside by newuidmap/newgidmap, so a service may run as an unprivileged id there (userns.c).
 */
struct subids {
	unsigned long uid_start, uid_count, gid_start, gid_count; /* count 0: none */
};

struct options {
	/*
	 * No namespaces at all (a host or container that refuses them): the job runs as a plain child,
	 * leftovers are ended by the outer process as a child subreaper (main.c, options.c).
	 */
	bool no_namespaces;
	int gate_fd;   /* -1: no gate */
	int status_fd; /* -1: report to stderr instead */
	pid_t parent_pid; /* 0: not checked */
	pid_t parent_tid; /* the harness's thread that spawned us, whose exit PDEATHSIG follows; 0: not checked */
	const char *hostname;
	enum net_mode net;
	int net_fd; /* --net=join: an fd of the network namespace to join; -1 otherwise */
	bool trace; /* --trace: timestamps of each phase on the status pipe (proto_trace) */
	/* --ahead: a spare's; on 'P' at the gate, make the job's init before the job is known (ahead.c) */
	bool ahead;
	/*
	 * --ahead-joins: the next job most likely joins a network namespace (an allow-list's, services'):
	 * the init made ahead gets no network namespace of its own, which it would leave unused, and joins
	 * the job's when its config comes (init.c); in a user namespace of its own none is made ahead.
	 */
	bool ahead_joins;
	/*
	 * --cgroup-fd: the job's cgroup directory (cgroup v2): init is cloned straight into it
	 * (intocg.c) and this process stays out of it; -1: the harness moved this process in.
	 */
	int cgroup_fd;
	bool userns;
	/*
	 * --userns-fd (with --userns and --net=join): join that user namespace, a job's services' (made
	 * by the first of them), before its network namespace, instead of making one; -1 otherwise.
	 */
	int userns_fd;
	struct subids subids;
	bool cgroupns;
	const char *tmp_dir;
	unsigned long long tmp_size; /* 0: no tmpfs */
	bool read_only;
	/*
	 * --overlay-dir: the host's filesystems through overlays whose upper layers go in here
	 * (overlay.c); NULL: the host's tree as it is (or read-only, with read_only).
	 */
	const char *overlay_dir;
	/*
	 * --overlay-mount: a detached tmpfs the harness made (fsmount) and holds, named by its fd's path
	 * (/proc/<harness>/fd/N); moved onto overlay_dir inside the job's mount namespace, so the upper
	 * layers live there — charged to the job's memory, cheap to make, gone when the harness closes it.
	 */
	const char *overlay_mount;
	/*
	 * Not an option: overlay_mount opened (O_PATH) by the launcher while it is still in the host's
	 * user namespace, and handed to init (inherited, or sent to one made ahead): an init in a user
	 * namespace of its own may not open another process's /proc/<pid>/fd (the kernel's ptrace check
	 * wants the same user namespace), which a rootless job's is. -1 when none.
	 */
	int overlay_mount_fd;
	/*
	 * --overlay-volatile: the overlays are mounted `volatile` (no sync of the upper filesystem, at
	 * their unmount either): set when overlay_mount is a disk filesystem whose contents are thrown
	 * away with the job (the --disk cap), where each sync is a round trip through a loop device.
	 */
	bool overlay_volatile;
	/*
	 * Not an option: the attached layers tmpfs, held (O_PATH) by init once overlay_root attached it,
	 * for the inode count proto_layers reports after the last mount step; -1 when none.
	 */
	int layers_fd;
	struct volume *volumes;
	size_t n_volumes;
	const char **protect; /* bound read-only onto themselves after the volumes */
	size_t n_protect;
	const char **pin; /* bound writable onto themselves before them: renaming one fails (EBUSY) */
	size_t n_pin;
	struct staged_bind tmp_dir_staged;
	const char *workdir;
	long nofile; /* -1: leave as is */
	bool set_uid, set_gid;
	uid_t uid;
	gid_t gid;
	int *keep_fds;
	size_t n_keep_fds;
	char **argv; /* PROGRAM ARGS..., NULL-terminated */
};

/* Returns 0, or an errno value (EINVAL, EBADF) with *why set to a short text. */
int options_parse(int argc, char **argv, struct options *o, const char **why);

#endif
