/*
 * mountutil.h — the new mount API (open_tree, move_mount, mount_setattr)
 * by raw syscall, and the flag-preserving fallbacks for older kernels.
 */
#ifndef RINGFENCE_MOUNTUTIL_H
#define RINGFENCE_MOUNTUTIL_H

#include <stdint.h>

/* Ours, so the names never clash with <sys/mount.h> of glibc >= 2.36. */
#define RF_MOUNT_ATTR_RDONLY 0x1
#define RF_MOUNT_ATTR_NOSUID 0x2
#define RF_MOUNT_ATTR_NODEV 0x4
#define RF_MOUNT_ATTR_NOEXEC 0x8

/* Detached recursive copy of path (kernel >= 5.2); -1 with errno. */
int rf_open_tree(const char *path);
/* Attaches a tree from rf_open_tree at dst; -1 with errno. */
int rf_move_mount(int tree_fd, const char *dst);
/* the same onto the directory or file that target_fd (O_PATH) is */
int rf_move_mount_onto(int tree_fd, int target_fd);

/*
 * Adds attr (RF_MOUNT_ATTR_*) to every mount at or below path. mount_setattr
 * (>= 5.12) does it atomically; older kernels get one remount per mount
 * listed in /proc/self/mountinfo, with ms_flags (MS_*). 0 or errno.
 */
int tree_set_flags(const char *path, uint64_t attr, unsigned long ms_flags);

/* Undoes mountinfo's \ooo escapes (space, tab, newline, backslash) in place. */
void mountinfo_unescape(char *s);

/* Remount of the mount at path: keeps its current flags, adds set, removes clear. */
int remount_flags(const char *path, unsigned long set, unsigned long clear);

#endif
