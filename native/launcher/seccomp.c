/*
 * seccomp.c — the job may not create user namespaces, nor touch the kernel's
 * keyrings.
 *
 * Why: a job without CAP_SYS_ADMIN cannot mount, unless it makes a user
 * namespace of its own, where it holds every capability. There, with a
 * cgroup namespace of its own too, it can mount the cgroup v1 hierarchies,
 * rooted at its own job cgroup; a job running as host root (the default: no
 * --user, no --userns) maps uid 0 to itself and then owns that cgroup's
 * files: `echo -1 > memory.limit_in_bytes`, `echo max > pids.max` lifted
 * the caps the harness had set (test/adversarial/cgroup-escape.test.ts).
 * Docker's default profile refuses unshare/clone(CLONE_NEWUSER) for the
 * same family of reasons; so do we.
 *
 * Keyrings are not namespaced: a job that shares the host's user namespace
 * (the default) would add keys to, and read keys from, the host root's own
 * keyring, which outlives the job. add_key, request_key and keyctl get EPERM,
 * as in Docker's profile. Nothing else is filtered: this is not a general
 * syscall filter.
 *
 * clone3() takes its flags in a struct that a filter cannot read, so it gets
 * ENOSYS (as in Docker): glibc and every runtime then fall back to clone(),
 * whose flags are checked. A 32-bit binary enters through the compat
 * syscall table with other numbers, so that arch is filtered as well; any
 * other arch cannot occur and is killed rather than let through.
 */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "proto.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

/* syscall numbers: the native table from the headers, the compat table spelled out */
#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
/* x32 calls arrive as AUDIT_ARCH_X86_64 with this bit set; unshare, clone, clone3 share numbers */
#define NATIVE_NR_MASK (~0x40000000U)
#define COMPAT_ARCH AUDIT_ARCH_I386
#define COMPAT_UNSHARE 310
#define COMPAT_CLONE 120
#define COMPAT_CLONE3 435
#define COMPAT_ADD_KEY 286
#define COMPAT_REQUEST_KEY 287
#define COMPAT_KEYCTL 288
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define NATIVE_NR_MASK (~0U)
#define COMPAT_ARCH AUDIT_ARCH_ARM
#define COMPAT_UNSHARE 337
#define COMPAT_CLONE 120
#define COMPAT_CLONE3 435
#define COMPAT_ADD_KEY 309
#define COMPAT_REQUEST_KEY 310
#define COMPAT_KEYCTL 311
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#define NATIVE_NR_MASK (~0U)
#else
#error "seccomp.c: add this architecture's AUDIT_ARCH and its compat syscall numbers"
#endif

#ifndef __NR_clone3
#define __NR_clone3 435
#endif

/* The low 32 bits of the first argument (clone's and unshare's flags on every arch above). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LOW offsetof(struct seccomp_data, args[0])
#else
#define ARG0_LOW (offsetof(struct seccomp_data, args[0]) + 4)
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, field)
#define RET(value) BPF_STMT(BPF_RET | BPF_K, value)
/* if A == k, skip `t` instructions, else skip `f` */
#define IF_EQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, t, f)

/*
 * One syscall table, with the syscall number in A. Self-contained, TABLE_LEN instructions:
 *   0 clone3?              → 1, else 2
 *   1   ENOSYS
 *   2 add_key?             → 9, else 3
 *   3 request_key?         → 9, else 4
 *   4 keyctl?              → 9, else 5
 *   5 unshare?             → 7, else 6
 *   6 clone?               → 7, else 10
 *   7   load the flags (first argument)
 *   8   CLONE_NEWUSER set? → 9, else 10
 *   9 EPERM
 *  10 allow
 * (a jump's offsets count the instructions skipped after it)
 */
#define TABLE(unshare_nr, clone_nr, clone3_nr, add_key_nr, request_key_nr, keyctl_nr)             \
	IF_EQ(clone3_nr, 0, 1), RET(SECCOMP_RET_ERRNO | ENOSYS), IF_EQ(add_key_nr, 6, 0),            \
		IF_EQ(request_key_nr, 5, 0), IF_EQ(keyctl_nr, 4, 0), IF_EQ(unshare_nr, 1, 0),       \
		IF_EQ(clone_nr, 0, 3), LOAD(ARG0_LOW),                                             \
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),                         \
		RET(SECCOMP_RET_ERRNO | EPERM), RET(SECCOMP_RET_ALLOW)
#define TABLE_LEN 11

void seccomp_apply(void)
{
	struct sock_filter code[] = {
		LOAD(offsetof(struct seccomp_data, arch)),
		/* not native: past the native block (load, mask, table) */
		IF_EQ(NATIVE_ARCH, 0, 2 + TABLE_LEN),
		LOAD(offsetof(struct seccomp_data, nr)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, NATIVE_NR_MASK),
		TABLE(__NR_unshare, __NR_clone, __NR_clone3, __NR_add_key, __NR_request_key, __NR_keyctl),
#ifdef COMPAT_ARCH
		/* not compat either: past the compat block (load, table) */
		IF_EQ(COMPAT_ARCH, 0, 1 + TABLE_LEN),
		LOAD(offsetof(struct seccomp_data, nr)),
		TABLE(COMPAT_UNSHARE, COMPAT_CLONE, COMPAT_CLONE3, COMPAT_ADD_KEY, COMPAT_REQUEST_KEY,
		      COMPAT_KEYCTL),
#endif
		RET(SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {(unsigned short)(sizeof(code) / sizeof(code[0])), code};

	/* no_new_privs is already set: an unprivileged process may install a filter then */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die_step(errno, "seccomp", NULL);
}
