/*
 * proto.h — the status-fd protocol, the launcher's only channel to the harness.
 *
 * Why a fd and not stderr: stderr belongs to the job. Every line is one
 * write() of less than PIPE_BUF bytes, so lines from the outer process, init
 * and the job never interleave.
 */
#ifndef RINGFENCE_PROTO_H
#define RINGFENCE_PROTO_H

#include <stdnoreturn.h>
#include <sys/resource.h>
#include <sys/types.h>

void proto_init(int status_fd);
int proto_status_fd(void);

/*
 * The job child also pokes this fd (a CLOEXEC pipe to init) when it reports
 * a setup error, so init knows not to write an "exit" line for it as well.
 */
void proto_set_failure_fd(int fd);

/* "error\t<step>[ <detail>]\t<errno>" */
void proto_error(int err, const char *step, const char *detail);
/* proto_error, then _exit(125): every setup failure ends the same way. */
noreturn void die_step(int err, const char *step, const char *detail);

/*
 * The job tree's I/O from the kernel's task counters (init's /proc/self/io once it has reaped the
 * job: a reaped child's counters are added to its parent's, so they cover every process init or a
 * descendant reaped). valid is false where the kernel keeps none (no CONFIG_TASK_IO_ACCOUNTING).
 */
struct io_counters {
	int valid;
	unsigned long long rchar, wchar, read_bytes, write_bytes;
};

/* "exit|signal\t<n>\t<maxrss KiB>\t<user us>\t<sys us>[\t<rchar>\t<wchar>\t<read_bytes>\t<write_bytes>]" */
void proto_exit(int code, const struct rusage *ru, const struct io_counters *io);
void proto_signal(int signo, const struct rusage *ru, const struct io_counters *io);

/*
 * "tree\t<maxrss KiB>\t<user us>\t<sys us>": the outer process's RUSAGE_CHILDREN once every child is
 * reaped, so the whole job tree: init, the job, and every descendant reaped by either (orphans too,
 * whichever of init or the outer subreaper reaped them). maxrss is the largest of any one of them.
 * Written last, by the outer process, and only to a status fd.
 */
void proto_tree(const struct rusage *ru);
/*
 * --trace: "trace\t<phase>\t<CLOCK_MONOTONIC ns>" (the clock Node's process.hrtime reads), so the
 * harness can lay the launcher's phases beside its own. Nothing is written unless enabled.
 */
void proto_trace_enable(void);
void proto_trace(const char *phase);

/*
 * The filesystem the job sees (overlay.c). A mount point is written with mountinfo's octal escapes
 * (\ooo for a space, tab, newline, backslash or any other control byte), so it never breaks a line.
 * "overlay\t<n>\t<mount point>": the mount point is an overlay whose upper layer is OVERLAY_DIR/<n>/upper.
 * "fs-ro\t<errno>\t<mount point>": overlayfs refused it (errno); it is bound read-only instead.
 */
void proto_overlay(unsigned n, const char *mount_point);
void proto_fs_ro(int err, const char *mount_point);
/*
 * "fs-split\t<errno>\t<mount point>": refused (in a user namespace, for its locked submounts): bound
 * read-only, and each directory in it overlaid on its own (their "overlay" lines come first); sent
 * only once the split held, else it is "fs-ro".
 */
void proto_fs_split(int err, const char *mount_point);
/*
 * "init\t<pid>": the job's init, as the host sees its pid, once it is the launcher's one child (an
 * init made ahead and dropped is reaped by then). Written by the outer process as the job starts.
 */
void proto_init_pid(pid_t pid);
/* "layers\t<n>": inodes in use on the layers tmpfs right before the job starts (init.c). */
void proto_layers(unsigned long long inodes);
/* Whether a mount point fits in such a line once escaped. */
int proto_path_fits(const char *mount_point);

#endif
