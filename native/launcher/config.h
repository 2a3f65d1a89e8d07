/*
 * config.h — a job's whole command line and environment, as the harness hands them through the gate
 * to a launcher started ahead of its job (and the launcher to an init it made ahead: ahead.c).
 */
#ifndef RINGFENCE_CONFIG_H
#define RINGFENCE_CONFIG_H

#include <stddef.h>

/*
 * Reads fd to EOF into a new buffer; *len gets its length. When `marker` is non-NULL and the stream's
 * first byte is 'P', that byte is taken out and marker(arg) is called as soon as it arrives, before
 * the rest is waited for (the gate's "placed": see wait_gate in main.c). Dies on a read error.
 */
char *config_read_all(int fd, size_t *len, void (*marker)(void *), void *arg);

/*
 * Splits a config blob into a new argv (argv0 kept) and environ. The blob is NUL-terminated entries:
 * first the number of arguments N in decimal, then N arguments, then environment entries. A count
 * rather than a separator, because an argument may itself be empty. Dies (error "config") on a bad one.
 */
void config_apply(char *buf, size_t len, char *argv0, int *argc_out, char ***argv_out);

#endif
