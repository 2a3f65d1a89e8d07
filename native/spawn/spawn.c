/*
 * rf_spawn: start a program with a given set of fds as its 0..n-1, in a new session, from inside the
 * Node process, loaded through koffi.
 *
 * Why not child_process.spawn: libuv forks the whole Node process, and fork copies its page tables,
 * so the cost grows with the harness's heap, and a test runner's is large. glibc's
 * posix_spawn uses clone(CLONE_VM|CLONE_VFORK): constant and cheap, whatever the caller's size.
 * The caller reaps the child itself (waitpid on its own pid), so libuv never sees it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Splits `count` NUL-terminated strings packed back to back in `blob` into a NULL-terminated vector. */
static char **unpack(const char *blob, int count)
{
	char **vec = calloc((size_t)count + 1, sizeof(char *));
	if (!vec)
		return NULL;
	for (int i = 0; i < count; i++) {
		vec[i] = (char *)blob;
		blob += strlen(blob) + 1;
	}
	return vec;
}

/*
 * fds[i] becomes fd i in the child. The sources are first duplicated (close-on-exec) above every
 * target number, so a source that happens to sit at a low number is never overwritten by an earlier
 * dup2 of the file actions. Returns 0 or an errno value; *pid_out gets the child's pid.
 */
int rf_spawn(const char *path, const char *argv_blob, int argc, const char *env_blob, int envc, const int *fds,
	     int nfds, int *pid_out)
{
	int err = 0;
	int high[64];
	char **argv = NULL, **envp = NULL;
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, all;

	if (nfds < 0 || nfds > 64)
		return EINVAL;
	argv = unpack(argv_blob, argc);
	envp = unpack(env_blob, envc);
	if (!argv || !envp) {
		free(argv);
		free(envp);
		return ENOMEM;
	}
	int made = 0;
	for (; made < nfds; made++) {
		high[made] = fcntl(fds[made], F_DUPFD_CLOEXEC, nfds + 3);
		if (high[made] < 0) {
			err = errno;
			break;
		}
	}
	if (!err) {
		posix_spawn_file_actions_init(&actions);
		posix_spawnattr_init(&attr);
		for (int i = 0; i < nfds && !err; i++)
			err = posix_spawn_file_actions_adddup2(&actions, high[i], i);
		/* Node blocks and handles signals in its threads: the child starts clean. */
		sigemptyset(&none);
		sigfillset(&all);
		if (!err)
			err = posix_spawnattr_setsigmask(&attr, &none);
		if (!err)
			err = posix_spawnattr_setsigdefault(&attr, &all);
		/* its own session: a terminal's Ctrl-C reaches the harness only, which forwards it once */
		if (!err)
			err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
								    POSIX_SPAWN_SETSID);
		pid_t pid = 0;
		if (!err)
			err = posix_spawn(&pid, path, &actions, &attr, argv, envp);
		if (!err)
			*pid_out = pid;
		posix_spawn_file_actions_destroy(&actions);
		posix_spawnattr_destroy(&attr);
	}
	for (int i = 0; i < made; i++)
		close(high[i]);
	free(argv);
	free(envp);
	return err;
}

/* The calling thread's id: a launcher's PDEATHSIG follows the thread that spawned it (its --parent-tid). */
int rf_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

/*
 * Reaps the caller's own child without blocking. Returns 1 and the raw wait status once it has
 * exited, 0 while it runs, -errno on failure.
 */
int rf_reap(int pid, int *status_out)
{
	int status = 0;
	pid_t got = waitpid(pid, &status, WNOHANG);
	if (got < 0)
		return -errno;
	if (got == 0)
		return 0;
	*status_out = status;
	return 1;
}

/* A close-on-exec pipe: fds[0] read end, fds[1] write end. Returns 0 or an errno value. */
int rf_pipe(int *fds)
{
	return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}
