/*
 * options.c — parses the command line the harness builds.
 *
 * Why strict: a typo in a sandbox flag must stop the job (error "args"),
 * never run it with less isolation than asked. Parsing never stops at the
 * first problem, so a bad flag before --status-fd is still reported there.
 */
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_GATE_FD = 256,
	OPT_STATUS_FD,
	OPT_PARENT_PID,
	OPT_PARENT_TID,
	OPT_HOSTNAME,
	OPT_NET,
	OPT_USERNS,
	OPT_CGROUPNS,
	OPT_TMP_DIR,
	OPT_TMP_SIZE,
	OPT_READ_ONLY,
	OPT_VOLUME,
	OPT_WORKDIR,
	OPT_NOFILE,
	OPT_UID,
	OPT_GID,
	OPT_KEEP_FD,
	OPT_PROTECT,
	OPT_PIN,
	OPT_NO_NAMESPACES,
	OPT_OVERLAY_DIR,
	OPT_NET_FD,
	OPT_NET_PATH,
	OPT_TRACE,
	OPT_OVERLAY_MOUNT,
	OPT_OVERLAY_VOLATILE,
	OPT_AHEAD,
	OPT_AHEAD_JOINS,
	OPT_CGROUP_FD,
	OPT_USERNS_FD,
	OPT_USERNS_PATH,
	OPT_SUBIDS,
};

static const struct option long_opts[] = {
	{"gate-fd", required_argument, NULL, OPT_GATE_FD},
	{"status-fd", required_argument, NULL, OPT_STATUS_FD},
	{"parent-pid", required_argument, NULL, OPT_PARENT_PID},
	{"parent-tid", required_argument, NULL, OPT_PARENT_TID},
	{"hostname", required_argument, NULL, OPT_HOSTNAME},
	{"net", required_argument, NULL, OPT_NET},
	{"net-fd", required_argument, NULL, OPT_NET_FD},
	{"net-path", required_argument, NULL, OPT_NET_PATH},
	{"trace", no_argument, NULL, OPT_TRACE},
	{"ahead", no_argument, NULL, OPT_AHEAD},
	{"ahead-joins", no_argument, NULL, OPT_AHEAD_JOINS},
	{"cgroup-fd", required_argument, NULL, OPT_CGROUP_FD},
	{"overlay-mount", required_argument, NULL, OPT_OVERLAY_MOUNT},
	{"overlay-volatile", no_argument, NULL, OPT_OVERLAY_VOLATILE},
	{"userns", no_argument, NULL, OPT_USERNS},
	{"userns-fd", required_argument, NULL, OPT_USERNS_FD},
	{"userns-path", required_argument, NULL, OPT_USERNS_PATH},
	{"subids", required_argument, NULL, OPT_SUBIDS},
	{"cgroupns", no_argument, NULL, OPT_CGROUPNS},
	{"tmp-dir", required_argument, NULL, OPT_TMP_DIR},
	{"tmp-size", required_argument, NULL, OPT_TMP_SIZE},
	{"read-only", no_argument, NULL, OPT_READ_ONLY},
	{"volume", required_argument, NULL, OPT_VOLUME},
	{"workdir", required_argument, NULL, OPT_WORKDIR},
	{"nofile", required_argument, NULL, OPT_NOFILE},
	{"uid", required_argument, NULL, OPT_UID},
	{"gid", required_argument, NULL, OPT_GID},
	{"keep-fd", required_argument, NULL, OPT_KEEP_FD},
	{"protect", required_argument, NULL, OPT_PROTECT},
	{"pin", required_argument, NULL, OPT_PIN},
	{"no-namespaces", no_argument, NULL, OPT_NO_NAMESPACES},
	{"overlay-dir", required_argument, NULL, OPT_OVERLAY_DIR},
	{NULL, 0, NULL, 0},
};

struct parse_state {
	int err;
	const char *why;
	/* the first namespace-only option given: why --no-namespaces refuses it (NULL: none given) */
	const char *needs_namespaces;
};

/*
 * --no-namespaces: the job runs in the host's (or container's) namespaces, as a plain child of init,
 * which is a plain child of the outer process (a child subreaper). Accepted with it, and all the
 * harness may pass:
 *   --gate-fd=N --status-fd=N --parent-pid=PID --parent-tid=TID --workdir=DIR --nofile=N --uid=N --gid=N --keep-fd=N
 *   and --net=host, which is required: the job shares the host's network, and saying so is the
 *   harness's job (the default, --net=none, cannot be had without a network namespace).
 * Refused (error "args", EINVAL, the text naming the option), since each needs a namespace:
 *   --hostname --userns --userns-fd --userns-path --subids --cgroupns --tmp-dir --tmp-size --read-only --overlay-dir --volume --protect
 *   --pin
 *   --net=none
 */
static void needs_namespaces(struct parse_state *ps, const char *why)
{
	if (!ps->needs_namespaces)
		ps->needs_namespaces = why;
}

static void fail(struct parse_state *ps, int err, const char *why)
{
	if (!ps->err) {
		ps->err = err;
		ps->why = why;
	}
}

/* Decimal only, whole string, within [min, max]. */
static bool parse_num(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_fd(struct parse_state *ps, const char *s, const char *why)
{
	unsigned long long v;

	if (!parse_num(s, 0, INT_MAX, &v)) {
		fail(ps, EINVAL, why);
		return -1;
	}
	return (int)v;
}

/* A process or thread id (1..INT_MAX); 0, which means "not given", after a failure said why. */
static pid_t parse_id(struct parse_state *ps, const char *s, const char *why)
{
	unsigned long long v;

	if (!parse_num(s, 1, INT_MAX, &v)) {
		fail(ps, EINVAL, why);
		return 0;
	}
	return (pid_t)v;
}

/* UID:COUNT:GID:COUNT, each decimal, the counts 1..65536 (the ids inside are 1..COUNT). */
static bool parse_subids(const char *s, struct subids *out)
{
	unsigned long v[4];
	char *end;

	for (int i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9')
			return false;
		errno = 0;
		v[i] = strtoul(s, &end, 10);
		if (errno || (i < 3 && *end != ':') || (i == 3 && *end))
			return false;
		s = end + 1;
	}
	if (v[1] == 0 || v[1] > 65536 || v[3] == 0 || v[3] > 65536 || v[0] == 0 || v[2] == 0)
		return false;
	*out = (struct subids){v[0], v[1], v[2], v[3]};
	return true;
}

/* SRC:DST[:ro|:rw|:overlay]. Both absolute; the first ':' separates them, as in Docker. */
static void parse_volume(struct parse_state *ps, char *spec, struct volume *v)
{
	size_t len = strlen(spec);
	char *colon;

	v->ro = false;
	v->overlay = false;
	v->overlaid = false;
	v->staged.fd = -1;
	if (len > 8 && !strcmp(spec + len - 8, ":overlay")) {
		v->overlay = true;
		spec[len - 8] = '\0';
	} else if (len > 3 && (!strcmp(spec + len - 3, ":ro") || !strcmp(spec + len - 3, ":rw"))) {
		v->ro = spec[len - 2] == 'r' && spec[len - 1] == 'o';
		spec[len - 3] = '\0';
	}
	colon = strchr(spec, ':');
	if (!colon) {
		fail(ps, EINVAL, "--volume wants SRC:DST[:ro|:overlay]");
		return;
	}
	*colon = '\0';
	v->src = spec;
	v->dst = colon + 1;
	if (v->src[0] != '/' || v->dst[0] != '/')
		fail(ps, EINVAL, "--volume paths must be absolute");
}

static void parse_one(struct parse_state *ps, int opt, char *arg, struct options *o)
{
	unsigned long long v;

	switch (opt) {
	case OPT_GATE_FD:
		o->gate_fd = parse_fd(ps, arg, "--gate-fd wants a fd number");
		break;
	case OPT_STATUS_FD:
		o->status_fd = parse_fd(ps, arg, "--status-fd wants a fd number");
		break;
	case OPT_PARENT_PID:
		o->parent_pid = parse_id(ps, arg, "--parent-pid wants a pid");
		break;
	case OPT_PARENT_TID:
		o->parent_tid = parse_id(ps, arg, "--parent-tid wants a thread id");
		break;
	case OPT_HOSTNAME:
		needs_namespaces(ps, "--no-namespaces excludes --hostname (no UTS namespace)");
		o->hostname = arg;
		if (!*arg || strlen(arg) > HOST_NAME_MAX)
			fail(ps, EINVAL, "--hostname must be 1 to 64 bytes");
		break;
	case OPT_NET:
		if (!strcmp(arg, "none"))
			o->net = NET_NONE;
		else if (!strcmp(arg, "host"))
			o->net = NET_HOST;
		else if (!strcmp(arg, "join"))
			o->net = NET_JOIN;
		else
			fail(ps, EINVAL, "--net wants none, host or join");
		break;
	case OPT_OVERLAY_MOUNT:
		needs_namespaces(ps, "--no-namespaces excludes --overlay-mount (no mount namespace)");
		if (arg[0] != '/')
			fail(ps, EINVAL, "--overlay-mount wants an absolute path");
		o->overlay_mount = arg;
		break;
	case OPT_OVERLAY_VOLATILE:
		o->overlay_volatile = true;
		break;
	case OPT_TRACE:
		o->trace = true;
		break;
	case OPT_AHEAD:
		o->ahead = true;
		break;
	case OPT_AHEAD_JOINS:
		o->ahead_joins = true;
		break;
	case OPT_CGROUP_FD:
		o->cgroup_fd = parse_fd(ps, arg, "--cgroup-fd wants an fd number");
		break;
	case OPT_NET_FD:
		needs_namespaces(ps, "--no-namespaces excludes --net-fd (it joins a network namespace)");
		o->net_fd = parse_fd(ps, arg, "--net-fd wants a fd number");
		break;
	case OPT_NET_PATH:
		/*
		 * The namespace to join by the harness's /proc/PID/fd/N: a launcher started ahead got its fds
		 * before its job's namespace existed, and its config (this) comes through the gate.
		 */
		needs_namespaces(ps, "--no-namespaces excludes --net-path (it joins a network namespace)");
		if (o->net_fd >= 0 || arg[0] != '/')
			fail(ps, EINVAL, "--net-path wants an absolute path, and no --net-fd");
		o->net_fd = open(arg, O_RDONLY | O_CLOEXEC);
		if (o->net_fd < 0)
			fail(ps, errno, "--net-path cannot be opened");
		break;
	case OPT_USERNS:
		needs_namespaces(ps, "--no-namespaces excludes --userns");
		o->userns = true;
		break;
	case OPT_USERNS_FD:
		needs_namespaces(ps, "--no-namespaces excludes --userns-fd");
		o->userns_fd = parse_fd(ps, arg, "--userns-fd wants a fd number");
		break;
	case OPT_USERNS_PATH:
		/* as --net-path, for the user namespace that owns it: opened here, in the host's */
		needs_namespaces(ps, "--no-namespaces excludes --userns-path");
		if (o->userns_fd >= 0 || arg[0] != '/')
			fail(ps, EINVAL, "--userns-path wants an absolute path, and no --userns-fd");
		o->userns_fd = open(arg, O_RDONLY | O_CLOEXEC);
		if (o->userns_fd < 0)
			fail(ps, errno, "--userns-path cannot be opened");
		break;
	case OPT_SUBIDS:
		needs_namespaces(ps, "--no-namespaces excludes --subids");
		if (!parse_subids(arg, &o->subids))
			fail(ps, EINVAL, "--subids wants UID:COUNT:GID:COUNT");
		break;
	case OPT_CGROUPNS:
		needs_namespaces(ps, "--no-namespaces excludes --cgroupns");
		o->cgroupns = true;
		break;
	case OPT_TMP_DIR:
		needs_namespaces(ps, "--no-namespaces excludes --tmp-dir (no mount namespace)");
		o->tmp_dir = arg;
		if (arg[0] != '/')
			fail(ps, EINVAL, "--tmp-dir must be absolute");
		break;
	case OPT_TMP_SIZE:
		needs_namespaces(ps, "--no-namespaces excludes --tmp-size (no mount namespace)");
		if (!parse_num(arg, 1, ULLONG_MAX, &o->tmp_size))
			fail(ps, EINVAL, "--tmp-size wants a byte count");
		break;
	case OPT_READ_ONLY:
		needs_namespaces(ps, "--no-namespaces excludes --read-only (no mount namespace)");
		o->read_only = true;
		break;
	case OPT_OVERLAY_DIR:
		needs_namespaces(ps, "--no-namespaces excludes --overlay-dir (no mount namespace)");
		o->overlay_dir = arg;
		if (arg[0] != '/')
			fail(ps, EINVAL, "--overlay-dir must be absolute");
		break;
	case OPT_VOLUME:
		needs_namespaces(ps, "--no-namespaces excludes --volume (no mount namespace)");
		parse_volume(ps, arg, &o->volumes[o->n_volumes++]);
		break;
	case OPT_WORKDIR:
		o->workdir = arg;
		break;
	case OPT_NOFILE:
		if (parse_num(arg, 1, LONG_MAX, &v))
			o->nofile = (long)v;
		else
			fail(ps, EINVAL, "--nofile wants a positive number");
		break;
	case OPT_UID:
		if (parse_num(arg, 0, UINT_MAX - 1, &v)) {
			o->set_uid = true;
			o->uid = (uid_t)v;
		} else {
			fail(ps, EINVAL, "--uid wants a number");
		}
		break;
	case OPT_GID:
		if (parse_num(arg, 0, UINT_MAX - 1, &v)) {
			o->set_gid = true;
			o->gid = (gid_t)v;
		} else {
			fail(ps, EINVAL, "--gid wants a number");
		}
		break;
	case OPT_KEEP_FD:
		o->keep_fds[o->n_keep_fds] = parse_fd(ps, arg, "--keep-fd wants a fd number");
		if (o->keep_fds[o->n_keep_fds] >= 0)
			o->n_keep_fds++;
		break;
	case OPT_PROTECT:
		needs_namespaces(ps, "--no-namespaces excludes --protect (no mount namespace)");
		if (arg[0] != '/')
			fail(ps, EINVAL, "--protect wants an absolute path");
		else
			o->protect[o->n_protect++] = arg;
		break;
	case OPT_PIN:
		needs_namespaces(ps, "--no-namespaces excludes --pin (no mount namespace)");
		if (arg[0] != '/')
			fail(ps, EINVAL, "--pin wants an absolute path");
		else
			o->pin[o->n_pin++] = arg;
		break;
	case OPT_NO_NAMESPACES:
		o->no_namespaces = true;
		break;
	default:
		fail(ps, EINVAL, "unknown option or missing value");
	}
}

static bool fd_open(int fd) { return fd < 0 || fcntl(fd, F_GETFD) >= 0; }

static void check_combination(struct parse_state *ps, struct options *o)
{
	if (o->no_namespaces && ps->needs_namespaces)
		fail(ps, EINVAL, ps->needs_namespaces);
	/* --net=none, or no --net at all: a job without namespaces cannot be kept off the network */
	if (o->no_namespaces && o->net != NET_HOST)
		fail(ps, EINVAL, "--no-namespaces needs --net=host (the job shares the host's network)");
	if (o->read_only && o->overlay_dir)
		fail(ps, EINVAL, "--read-only and --overlay-dir exclude each other");
	if (o->overlay_mount && !o->overlay_dir)
		fail(ps, EINVAL, "--overlay-mount needs --overlay-dir");
	if (o->overlay_volatile && !o->overlay_mount)
		fail(ps, EINVAL, "--overlay-volatile needs --overlay-mount");
	for (size_t i = 0; i < o->n_volumes; i++)
		if (o->volumes[i].overlay && !o->overlay_dir)
			fail(ps, EINVAL, "--volume SRC:DST:overlay needs --overlay-dir");
	if (o->tmp_dir && o->tmp_size)
		fail(ps, EINVAL, "--tmp-dir and --tmp-size exclude each other");
	if (!fd_open(o->gate_fd) || !fd_open(o->status_fd))
		fail(ps, EBADF, "--gate-fd/--status-fd is not an open fd");
	for (size_t i = 0; i < o->n_keep_fds; i++)
		if (!fd_open(o->keep_fds[i]))
			fail(ps, EBADF, "--keep-fd is not an open fd");
	if ((o->net == NET_JOIN) != (o->net_fd >= 0))
		fail(ps, EINVAL, "--net=join and --net-fd (or --net-path) go together");
	else if (o->net_fd >= 0 && !fd_open(o->net_fd))
		fail(ps, EBADF, "--net-fd is not an open fd");
	if (o->userns_fd >= 0 && (!o->userns || o->net != NET_JOIN))
		fail(ps, EINVAL,
		     "--userns-fd (or --userns-path) needs --userns and --net=join (it joins the services' namespaces)");
	else if (o->userns_fd >= 0 && !fd_open(o->userns_fd))
		fail(ps, EBADF, "--userns-fd is not an open fd");
	if (o->subids.uid_count && (!o->userns || o->userns_fd >= 0))
		fail(ps, EINVAL, "--subids needs --userns, and a namespace of its own (no --userns-fd)");
	if (o->ahead_joins && !o->ahead)
		fail(ps, EINVAL, "--ahead-joins needs --ahead");
	if (o->cgroup_fd >= 0 && !fd_open(o->cgroup_fd))
		fail(ps, EBADF, "--cgroup-fd is not an open fd");
}

static void set_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->gate_fd = -1;
	o->status_fd = -1;
	o->hostname = "ringfence";
	o->net = NET_NONE;
	o->net_fd = -1;
	o->userns_fd = -1;
	o->cgroup_fd = -1;
	o->nofile = -1;
	o->tmp_dir_staged.fd = -1;
	o->layers_fd = -1;
	o->overlay_mount_fd = -1;
}

int options_parse(int argc, char **argv, struct options *o, const char **why)
{
	struct parse_state ps = {0, NULL, NULL};
	int opt;

	set_defaults(o);
	/* Each repeatable option takes at least one argv slot: argc bounds them. */
	o->volumes = calloc((size_t)argc, sizeof(*o->volumes));
	o->keep_fds = calloc((size_t)argc, sizeof(*o->keep_fds));
	o->protect = calloc((size_t)argc, sizeof(*o->protect));
	o->pin = calloc((size_t)argc, sizeof(*o->pin));
	if (!o->volumes || !o->keep_fds || !o->protect || !o->pin) {
		*why = "out of memory";
		return ENOMEM;
	}
	opterr = 0;
	/* '+': stop at PROGRAM, so the job's own flags are never ours. */
	while ((opt = getopt_long(argc, argv, "+", long_opts, NULL)) != -1)
		parse_one(&ps, opt, optarg, o);
	if (optind >= argc)
		fail(&ps, EINVAL, "missing -- PROGRAM");
	o->argv = argv + optind;
	check_combination(&ps, o);
	*why = ps.why;
	return ps.err;
}
