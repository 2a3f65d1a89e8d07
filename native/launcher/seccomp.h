/*
 * seccomp.h — the one syscall filter the job runs under (see seccomp.c).
 */
#ifndef RINGFENCE_SECCOMP_H
#define RINGFENCE_SECCOMP_H

/*
 * Refuses new user namespaces, the keyring syscalls and privileged files (EPERM), and clone3, openat2
 * and io_uring_setup (ENOSYS). Needs no_new_privs set first.
 */
void seccomp_apply(void);

#endif
