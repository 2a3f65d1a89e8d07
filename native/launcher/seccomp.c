/*
 * seccomp.c — the job's one syscall filter: no user namespaces of its own, no kernel keyrings, and
 * no file that carries privilege (a set-uid or set-gid bit, a device node).
 *
 * User namespaces. A job without CAP_SYS_ADMIN cannot mount, unless it makes a user namespace of
 * its own, where it holds every capability. There, with a cgroup namespace of its own too, it can
 * mount the cgroup v1 hierarchies, rooted at its own job cgroup; a job running as host root (the
 * default: no --user, no --userns) maps uid 0 to itself and then owns that cgroup's files:
 * `echo -1 > memory.limit_in_bytes`, `echo max > pids.max` lifted the caps the harness had set
 * (test/adversarial/cgroup-escape.test.ts). Docker's default profile refuses
 * unshare/clone(CLONE_NEWUSER) for the same family of reasons; so do we. clone3() takes its flags in a struct
 * that a filter cannot read, so it gets ENOSYS (as in Docker): libc and every runtime then fall back
 * to clone(), whose flags are checked.
 *
 * Keyrings are not namespaced: a job that shares the host's user namespace (the default) would add
 * keys to, and read keys from, the host root's own keyring, which outlives the job. add_key,
 * request_key and keyctl get EPERM, as in Docker's profile.
 *
 * Privileged files. The workdir and the volumes are the host's own directories: a set-uid root
 * shell, or a device node, that a job leaves there is a way to root for whoever finds it later
 * (test/adversarial/privileged-files.test.ts). A filter cannot tell which path a call names, so these
 * calls fail everywhere, the job's /tmp and overlay included; no_new_privs already makes such a bit
 * worthless inside the job, so it loses nothing it could use. EPERM for:
 *   - chmod, fchmod, fchmodat, fchmodat2 with S_ISUID or S_ISGID in the mode;
 *   - open, openat with O_CREAT or O_TMPFILE, and creat, with either bit in the new file's mode (the
 *     mode of an open that creates nothing is not even read: it is whatever the register held);
 *   - mknod, mknodat with either bit (mknod makes regular files too, with no capability), or of a
 *     character or block device (the 0/0 "whiteout" device needs no CAP_MKNOD since Linux 5.8);
 *   - renameat2 with RENAME_WHITEOUT, which leaves that 0/0 device in place of the source.
 * Two calls carry a mode where a filter cannot read it, so they answer ENOSYS, as on a kernel
 * without them (their users, libuv's io_uring among them, fall back to the calls above): openat2,
 * whose mode is in a struct, and io_uring_setup, whose IORING_OP_OPENAT names its mode in shared
 * memory (Docker's profile refuses io_uring too). File capabilities need CAP_SETFCAP: caps.c drops it.
 *
 * A 32-bit binary enters through the compat syscall table with other numbers, so that table is
 * filtered as well; any other arch cannot occur and is killed rather than let through. The program
 * is built at run time from one list of rules (add_rules()) and the syscall numbers of each table.
 */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "proto.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

/* The kernel's own bit, not glibc's O_TMPFILE (which adds O_DIRECTORY: a plain opendir would match). */
#define KERNEL_O_TMPFILE 020000000U
#define RENAME_WHITEOUT_FLAG (1U << 2)
#define PRIVILEGE_BITS ((uint32_t)(S_ISUID | S_ISGID))

/* A syscall this table does not have. */
#define NONE (-1)

/* One syscall table: its arch, and the number of each call a rule names there (NONE if absent). */
struct table {
	uint32_t arch;
	uint32_t nr_mask;
	int unshare, clone, clone3, add_key, request_key, keyctl;
	int chmod, fchmod, fchmodat, fchmodat2;
	int open, creat, openat, openat2;
	int mknod, mknodat, renameat2, io_uring_setup;
};

#ifdef __NR_open
#define NATIVE_OLD(nr) (nr) /* the calls the newer ports (arm64, riscv) only have as *at forms */
#else
#define NATIVE_OLD(nr) NONE
#endif

/* the native table from the headers; the unified numbers (>= 424) are the same on every arch */
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
	.chmod = NATIVE_OLD(__NR_chmod),
	.fchmod = __NR_fchmod,
	.fchmodat = __NR_fchmodat,
	.fchmodat2 = 452,
	.open = NATIVE_OLD(__NR_open),
	.creat = NATIVE_OLD(__NR_creat),
	.openat = __NR_openat,
	.openat2 = 437,
	.mknod = NATIVE_OLD(__NR_mknod),
	.mknodat = __NR_mknodat,
	.renameat2 = __NR_renameat2,
	.io_uring_setup = 425,
};

/* the compat table, spelled out: the headers only have the native one */
#if defined(__x86_64__)
#define HAVE_COMPAT 1
static const struct table compat = {
	.arch = AUDIT_ARCH_I386, .nr_mask = ~0U,
	.unshare = 310, .clone = 120, .clone3 = 435, .add_key = 286, .request_key = 287, .keyctl = 288,
	.chmod = 15, .fchmod = 94, .fchmodat = 306, .fchmodat2 = 452,
	.open = 5, .creat = 8, .openat = 295, .openat2 = 437,
	.mknod = 14, .mknodat = 297, .renameat2 = 353, .io_uring_setup = 425,
};
#elif defined(__aarch64__)
#define HAVE_COMPAT 1
static const struct table compat = {
	.arch = AUDIT_ARCH_ARM, .nr_mask = ~0U,
	.unshare = 337, .clone = 120, .clone3 = 435, .add_key = 309, .request_key = 310, .keyctl = 311,
	.chmod = 15, .fchmod = 94, .fchmodat = 333, .fchmodat2 = 452,
	.open = 5, .creat = 8, .openat = 322, .openat2 = 437,
	.mknod = 14, .mknodat = 324, .renameat2 = 382, .io_uring_setup = 425,
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

/* if A == k, return -err; else go on */
static void refuse_if_eq(struct prog *p, uint32_t k, int err)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1);
	ret_errno(p, err);
}

/* if A has none of `bits`, allow; else go on */
static void allow_unless_any(struct prog *p, uint32_t bits)
{
	emit(p, BPF_JMP | BPF_JSET | BPF_K, bits, 1, 0);
	ret(p, SECCOMP_RET_ALLOW);
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

/* an open that creates (flags in `flags_arg`) fails with EPERM when its mode asks for a privilege bit */
static void refuse_privileged_create(struct prog *p, int nr, unsigned flags_arg, unsigned mode_arg)
{
	unsigned at;

	if (nr == NONE)
		return;
	at = begin(p, nr);
	load_arg(p, flags_arg);
	allow_unless_any(p, O_CREAT | KERNEL_O_TMPFILE);
	load_arg(p, mode_arg);
	refuse_if_any(p, PRIVILEGE_BITS, EPERM);
	ret(p, SECCOMP_RET_ALLOW);
	end(p, at);
}

/* mknod fails with EPERM for a privilege bit or a device; FIFOs, sockets and plain files pass */
static void refuse_privileged_node(struct prog *p, int nr, unsigned mode_arg)
{
	unsigned at;

	if (nr == NONE)
		return;
	at = begin(p, nr);
	load_arg(p, mode_arg);
	refuse_if_any(p, PRIVILEGE_BITS, EPERM);
	emit(p, BPF_ALU | BPF_AND | BPF_K, S_IFMT, 0, 0);
	refuse_if_eq(p, S_IFCHR, EPERM);
	refuse_if_eq(p, S_IFBLK, EPERM);
	ret(p, SECCOMP_RET_ALLOW);
	end(p, at);
}

/* The whole policy, for one table (see the file comment); A holds the syscall number. */
static void add_rules(struct prog *p, const struct table *t)
{
	/* namespaces and keyrings */
	refuse(p, t->clone3, ENOSYS);
	refuse_bits(p, t->unshare, 0, CLONE_NEWUSER);
	refuse_bits(p, t->clone, 0, CLONE_NEWUSER);
	refuse(p, t->add_key, EPERM);
	refuse(p, t->request_key, EPERM);
	refuse(p, t->keyctl, EPERM);
	/* privileged files: (syscall, argument holding the flags, argument holding the mode) */
	refuse_bits(p, t->chmod, 1, PRIVILEGE_BITS);
	refuse_bits(p, t->fchmod, 1, PRIVILEGE_BITS);
	refuse_bits(p, t->fchmodat, 2, PRIVILEGE_BITS);
	refuse_bits(p, t->fchmodat2, 2, PRIVILEGE_BITS);
	refuse_privileged_create(p, t->open, 1, 2);
	refuse_privileged_create(p, t->openat, 2, 3);
	refuse_bits(p, t->creat, 1, PRIVILEGE_BITS);
	refuse_privileged_node(p, t->mknod, 1);
	refuse_privileged_node(p, t->mknodat, 2);
	refuse_bits(p, t->renameat2, 4, RENAME_WHITEOUT_FLAG);
	refuse(p, t->openat2, ENOSYS);
	refuse(p, t->io_uring_setup, ENOSYS);
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
