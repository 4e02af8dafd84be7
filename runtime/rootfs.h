/* Building the container's filesystem view. Both phases run in the
 * container init, already inside its new mount namespace (and user
 * namespace, if any), as root of that namespace. */
#ifndef ZONE_RUNTIME_ROOTFS_H
#define ZONE_RUNTIME_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

#include "cgroups/cgroups.h"
#include "core/error.h"
#include "core/spec.h"

struct zrootfs_ctx {
    const struct zspec *spec;
    const char *bundle;        /* absolute bundle dir */
    const char *rootfs;        /* absolute, resolved (realpath) root.path */
    bool no_pivot;             /* --no-pivot: MS_MOVE the rootfs onto / and chroot */
    bool in_userns;            /* devices are bind-mounted from the host /dev */
    bool host_pidns;           /* the container shares zone's pid namespace */
    int console_slave_fd;      /* >= 0: bound onto /dev/console; -1: no terminal */
    /* hierarchies exposed by "cgroup"/"cgroup2" mounts; none (0) means a
     * fresh cgroup2 mount (cgroup namespace) */
    const struct zcg_mount_entry *cgroup_entries;
    size_t n_cgroup_entries;
};

/* Phase 1, before the createContainer hooks: "/" becomes rslave (or
 * linux.rootfsPropagation) so nothing leaks to the host, the overlay of
 * the run.zone.rootfs.* annotations is mounted onto the rootfs (see
 * runtime/rootfs_overlay.h), the rootfs is bind-mounted onto itself
 * (pivot_root needs a mount point), every config.json mount is done in
 * order inside it, then /dev is populated (unless /dev is a bind mount):
 * default and configured devices, /dev/ptmx,
 * the /proc/self/fd links, and /dev/console for a terminal. */
int zrootfs_mount_all(const struct zrootfs_ctx *ctx, struct zerr *e);

/* Phase 2, after the createContainer hooks: readonlyPaths and maskedPaths,
 * pivot_root (or MS_MOVE + chroot with no_pivot) with the old root detached,
 * chdir("/"), read-only root if root.readonly, and the final
 * rootfsPropagation. Afterwards "/" is the container root. */
int zrootfs_pivot_and_finish(const struct zrootfs_ctx *ctx, struct zerr *e);

#endif
