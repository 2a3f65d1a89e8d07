/*
 * mounts.h — the job's mount namespace: what it sees of the host's files.
 */
#ifndef RINGFENCE_MOUNTS_H
#define RINGFENCE_MOUNTS_H

#include "options.h"

/* mounts.c: the whole sequence, in order; dies with the failing step. */
void mounts_setup(struct options *o);

/* binds.c: --volume, --tmp-dir and --protect. */
void binds_stage(struct options *o);
void binds_attach_volumes(struct options *o);
void binds_attach_tmp_dir(struct options *o);
void binds_protect(struct options *o);

/* devfs.c: a minimal /dev. */
void devfs_setup(void);

#endif
