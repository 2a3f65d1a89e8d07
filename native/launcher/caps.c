/*
 * caps.c — reduces the job's capabilities to a fixed keep-set, then switches
 * uid/gid when asked. Raw capget/capset/prctl: no libcap dependency.
 *
 * The keep-set is Docker's default minus NET_RAW and MKNOD (as Podman does),
 * and minus SETFCAP and FSETID: enough for a root job to chown, bind low ports
 * and drop to another user, not enough to mount, load modules, trace or
 * raw-socket. Root's execve() recomputes permitted caps from the bounding set,
 * so the bounding set is what really limits a root job (root of a --userns
 * namespace too: the drop runs inside it); capset only covers the time until
 * exec.
 *
 * No file a job writes may carry privilege out (seccomp.c): without SETFCAP
 * neither setcap nor a security.capability xattr can be written (EPERM);
 * without FSETID a write into a set-uid or set-gid file the host left in the
 * workdir clears the bit, as it does for any user, instead of keeping it over
 * the job's new contents.
 *
 * Inheritable is set EMPTY, not to the keep-set: a non-empty inheritable set
 * lets a later non-root exec of a file with inheritable file caps gain them
 * (CVE-2022-24769, fixed the same way in Moby and runc).
 */
#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

#define CAP_BIT(c) (UINT64_C(1) << (c))

static const uint64_t keep_set =
	CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FOWNER) |
	CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETPCAP) |
	CAP_BIT(CAP_NET_BIND_SERVICE) | CAP_BIT(CAP_SYS_CHROOT) | CAP_BIT(CAP_KILL) |
	CAP_BIT(CAP_AUDIT_WRITE);

/* The running kernel may know more caps than our headers: ask it, not CAP_LAST_CAP. */
static void drop_bounding_set(void)
{
	for (int cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break; /* EINVAL: past the kernel's last cap */
		if (r == 1 && !(keep_set & CAP_BIT(cap)) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			die_step(errno, "drop capabilities", NULL);
	}
}

static void set_process_caps(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	uint64_t permitted;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		die_step(errno, "drop capabilities", NULL);
	/* Never ask for more than we have (an unprivileged launcher has nothing). */
	permitted = (((uint64_t)data[1].permitted << 32) | data[0].permitted) & keep_set;
	for (int i = 0; i < 2; i++) {
		data[i].permitted = (uint32_t)(permitted >> (32 * i));
		data[i].effective = data[i].permitted;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		die_step(errno, "drop capabilities", NULL);
}

/* Under an unprivileged --userns the outer had to write "deny" for setgroups. */
static bool setgroups_denied(void)
{
	char buf[16];

	return read_file("/proc/self/setgroups", buf, sizeof(buf)) > 0 && !strncmp(buf, "deny", 4);
}

/* setresuid away from 0 clears permitted and effective caps (no KEEP_CAPS). */
static void switch_user(const struct options *o)
{
	if (setgroups(0, NULL) < 0 && !(errno == EPERM && setgroups_denied()))
		die_step(errno, "setgroups", NULL);
	if (o->set_gid && setresgid(o->gid, o->gid, o->gid) < 0)
		die_step(errno, "setgid", NULL);
	if (o->set_uid && setresuid(o->uid, o->uid, o->uid) < 0)
		die_step(errno, "setuid", NULL);
}

void caps_drop_and_switch_user(const struct options *o)
{
	if (geteuid() == 0)
		drop_bounding_set();
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die_step(errno, "drop capabilities", NULL);
	set_process_caps();
	if (o->set_uid || o->set_gid)
		switch_user(o);
}
