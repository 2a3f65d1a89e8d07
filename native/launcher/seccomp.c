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
 * other arch cannot occur and is killed rather than let through. The
 * program is built at run time from one list of rules (add_rules()) and the
 * syscall numbers of each table.
 */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "proto.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

/* A syscall this table does not have. */
#define NONE (-1)

/* One syscall table: its arch, and the number of each call a rule names there (NONE if absent). */
struct table {
	uint32_t arch;
	uint32_t nr_mask;
	int unshare, clone, clone3, add_key, request_key, keyctl;
};

/* the native table from the headers; clone3's number (435) is the same on every arch */
static const struct table native = {
#if defined(__x86_64__)
	.arch = AUDIT_ARCH_X86_64,
	/* x32 calls arrive as AUDIT_ARCH_X86_64 with this bit set; every call below has the same number */
	.nr_mask = ~0x40000000U,
#elif defined(__aarch64__)
	.arch = AUDIT_ARCH_AARCH64,
	.nr_mask = ~0U,
#elif defined(__riscv) && __riscv_xlen == 64
	.arch = AUDIT_ARCH_RISCV64,
	.nr_mask = ~0U,
#else
#error "seccomp.c: add this architecture's AUDIT_ARCH and its compat syscall table"
#endif
	.unshare = __NR_unshare,
	.clone = __NR_clone,
	.clone3 = 435,
	.add_key = __NR_add_key,
	.request_key = __NR_request_key,
	.keyctl = __NR_keyctl,
};

/* the compat table, spelled out: the headers only have the native one */
#if defined(__x86_64__)
#define HAVE_COMPAT 1
static const struct table compat = {
	.arch = AUDIT_ARCH_I386, .nr_mask = ~0U,
	.unshare = 310, .clone = 120, .clone3 = 435, .add_key = 286, .request_key = 287, .keyctl = 288,
};
#elif defined(__aarch64__)
#define HAVE_COMPAT 1
static const struct table compat = {
	.arch = AUDIT_ARCH_ARM, .nr_mask = ~0U,
	.unshare = 337, .clone = 120, .clone3 = 435, .add_key = 309, .request_key = 310, .keyctl = 311,
};
#endif

/* ---- a small assembler: the program grows in one array, forward jumps are patched ---- */

#define MAX_INSNS 512

struct prog {
	struct sock_filter insn[MAX_INSNS];
	unsigned len;
};

static unsigned emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->len == MAX_INSNS)
		die_step(E2BIG, "seccomp", NULL);
	p->insn[p->len] = (struct sock_filter){code, jt, jf, k};
	return p->len++;
}

static void ret(struct prog *p, uint32_t value)
{
	emit(p, BPF_RET | BPF_K, value, 0, 0);
}

static void ret_errno(struct prog *p, int err)
{
	ret(p, SECCOMP_RET_ERRNO | (uint32_t)err);
}

static void load(struct prog *p, uint32_t offset)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, offset, 0, 0);
}

/* The low 32 bits of argument `i`: every flag and mode checked here lives there, on every arch. */
static void load_arg(struct prog *p, unsigned i)
{
	uint32_t at = (uint32_t)offsetof(struct seccomp_data, args[i]);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	at += 4;
#endif
	load(p, at);
}

/* if A has any of `bits`, return -err; else go on */
static void refuse_if_any(struct prog *p, uint32_t bits, int err)
{
	emit(p, BPF_JMP | BPF_JSET | BPF_K, bits, 0, 1);
	ret_errno(p, err);
}

/*
 * A rule: when A (the syscall number) is `nr`, its body runs, and every path through a body returns;
 * otherwise the body is skipped, A still the number. begin() returns the jump to patch in end().
 */
static unsigned begin(struct prog *p, int nr)
{
	return emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 0);
}

static void end(struct prog *p, unsigned at)
{
	unsigned skip = p->len - at - 1;

	if (skip > 255) /* a conditional jump's offset is 8 bits: a rule's body is a few instructions */
		die_step(E2BIG, "seccomp", NULL);
	p->insn[at].jf = (uint8_t)skip;
}

/* nr always fails with err */
static void refuse(struct prog *p, int nr, int err)
{
	unsigned at;

	if (nr == NONE)
		return;
	at = begin(p, nr);
	ret_errno(p, err);
	end(p, at);
}

/* nr fails with EPERM when its argument `arg` has any of `bits` */
static void refuse_bits(struct prog *p, int nr, unsigned arg, uint32_t bits)
{
	unsigned at;

	if (nr == NONE)
		return;
	at = begin(p, nr);
	load_arg(p, arg);
	refuse_if_any(p, bits, EPERM);
	ret(p, SECCOMP_RET_ALLOW);
	end(p, at);
}

/* The whole policy, for one table (see the file comment); A holds the syscall number. */
static void add_rules(struct prog *p, const struct table *t)
{
	refuse(p, t->clone3, ENOSYS);
	refuse_bits(p, t->unshare, 0, CLONE_NEWUSER);
	refuse_bits(p, t->clone, 0, CLONE_NEWUSER);
	refuse(p, t->add_key, EPERM);
	refuse(p, t->request_key, EPERM);
	refuse(p, t->keyctl, EPERM);
}

/* A holds the arch: when it is the table's, run its rules and allow the rest; else skip past them. */
static void add_table(struct prog *p, const struct table *t)
{
	unsigned skip;

	emit(p, BPF_JMP | BPF_JEQ | BPF_K, t->arch, 1, 0);
	skip = emit(p, BPF_JMP | BPF_JA, 0, 0, 0); /* k: 32 bits, however long the table grows */
	load(p, offsetof(struct seccomp_data, nr));
	if (t->nr_mask != ~0U)
		emit(p, BPF_ALU | BPF_AND | BPF_K, t->nr_mask, 0, 0);
	add_rules(p, t);
	ret(p, SECCOMP_RET_ALLOW);
	p->insn[skip].k = p->len - skip - 1;
}

void seccomp_apply(void)
{
	struct prog p = {.len = 0};
	struct sock_fprog prog;

	load(&p, offsetof(struct seccomp_data, arch));
	add_table(&p, &native);
#ifdef HAVE_COMPAT
	add_table(&p, &compat);
#endif
	ret(&p, SECCOMP_RET_KILL_PROCESS);
	prog.len = (unsigned short)p.len;
	prog.filter = p.insn;
	/* no_new_privs is already set: an unprivileged process may install a filter then */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die_step(errno, "seccomp", NULL);
}
