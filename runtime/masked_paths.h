/* linux.maskedPaths and linux.readonlyPaths. Run before pivot_root, with
 * every path resolved inside the rootfs through root_fd. */
#ifndef ZONE_RUNTIME_MASKED_PATHS_H
#define ZONE_RUNTIME_MASKED_PATHS_H

#include <stddef.h>

#include "core/error.h"

/* Files are covered with a bind of /dev/null, directories with an empty
 * read-only tmpfs. The /dev/null used is the runtime's own (not the
 * container's, which the image or a previous process could have replaced),
 * opened once and verified to be the character device 1:3 before use.
 * Missing paths are skipped. */
int zrootfs_mask_paths(int root_fd, char *const *paths, size_t n,
                       struct zerr *e);

/* Bind each path onto itself and make the copy read-only (recursively when
 * the kernel has mount_setattr), keeping nosuid/nodev/noexec. Missing paths
 * are skipped. */
int zrootfs_readonly_paths(int root_fd, char *const *paths, size_t n,
                           struct zerr *e);

#endif
