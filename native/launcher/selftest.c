/*
 * selftest.c — what `--self-test` checks (selftest.h): the command-line parser the jobs use reads a
 * representative command line back correctly, and the process primitives every job needs work here:
 * a pipe, fork, a child's exit status through waitpid. No namespace or cgroup is touched: it must
 * pass under emulation (qemu-user) and as any user, and the harness's doctor checks the rest.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options.h"
#include "selftest.h"

static int failed(const char *what)
{
	fprintf(stderr, "ringfence-launcher: self-test failed: %s\n", what);
	return 1;
}

static int parser_reads_back(void)
{
	/* writable copies: the parser splits a volume's SRC:DST:ro in place, as it does in argv */
	static char line[][32] = {"ringfence-launcher", "--hostname=selftest", "--net=none",
				  "--userns",           "--volume=/src:/dst:ro", "--workdir=/work",
				  "--nofile=64",        "--",                    "/bin/true",
				  "arg"};
	char *argv[sizeof(line) / sizeof(line[0]) + 1];
	struct options o;
	const char *why = NULL;
	size_t i, n = sizeof(line) / sizeof(line[0]);

	for (i = 0; i < n; i++)
		argv[i] = line[i];
	argv[n] = NULL;
	if (options_parse((int)n, argv, &o, &why))
		return failed(why ? why : "the parser refused a valid command line");
	optind = 0; /* leave getopt as a later parse expects it */
	if (!o.hostname || strcmp(o.hostname, "selftest") || o.net != NET_NONE || !o.userns)
		return failed("the parser read the options back wrong");
	if (o.n_volumes != 1 || strcmp(o.volumes[0].src, "/src") || strcmp(o.volumes[0].dst, "/dst") ||
	    !o.volumes[0].ro || o.nofile != 64 || strcmp(o.workdir, "/work"))
		return failed("the parser read a volume, the workdir or nofile back wrong");
	if (!o.argv || strcmp(o.argv[0], "/bin/true") || strcmp(o.argv[1], "arg") || o.argv[2])
		return failed("the parser read the job's command back wrong");
	return 0;
}

static int child_status_comes_back(void)
{
	int fds[2], status = 0;
	char byte = 0;
	pid_t pid;

	if (pipe(fds))
		return failed("pipe()");
	pid = fork();
	if (pid < 0)
		return failed("fork()");
	if (pid == 0) {
		ssize_t n = write(fds[1], "k", 1);
		_exit(n == 1 ? 42 : 1);
	}
	close(fds[1]);
	if (read(fds[0], &byte, 1) != 1 || byte != 'k')
		return failed("a child's write through a pipe did not arrive");
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 42)
		return failed("a child's exit status did not come back through waitpid()");
	return 0;
}

int selftest_main(void)
{
	struct utsname u;

	if (parser_reads_back() || child_status_comes_back())
		return 1;
	if (uname(&u))
		return failed("uname()");
	printf("ringfence-launcher: self-test ok (%s)\n", u.machine);
	return 0;
}
