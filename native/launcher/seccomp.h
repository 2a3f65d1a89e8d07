/*
 * seccomp.h — the one syscall filter the job runs under (see seccomp.c).
 */
#ifndef RINGFENCE_SECCOMP_H
#define RINGFENCE_SECCOMP_H

/* Refuses new user namespaces and the keyring syscalls (EPERM), and clone3 (ENOSYS). Needs no_new_privs set first. */
void seccomp_apply(void);

#endif
