/*
 * overlay.h — --overlay-dir: the host's filesystems seen through overlays private to the job.
 */
#ifndef RINGFENCE_OVERLAY_H
#define RINGFENCE_OVERLAY_H

#include <stdbool.h>

#include "options.h"

/*
 * Rebuilds the job's mount tree under DIR/root, one overlay per writable host filesystem (upper and
 * work layers in DIR/N), and makes it the root (pivot_root; the host's tree is detached). Run in
 * the job's mount namespace after binds_stage() and before /proc, /sys, /dev, /tmp and the volumes
 * are set up, which then work on the new tree as they did on the host's. Dies with the step on a
 * failure it cannot fall back from. Returns false, having built nothing, where the volumes could
 * not be staged with open_tree (kernels before 5.2): the caller makes the root read-only instead.
 */
bool overlay_root(struct options *o);

#endif
