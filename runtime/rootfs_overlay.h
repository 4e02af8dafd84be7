/* An overlay rootfs described by config.json annotations (what engine/
 * writes for `zone run IMAGE`): the container's init mounts it onto the
 * bundle's rootfs inside its own mount namespace, so no host mount is ever
 * made and nothing can leak when the container dies.
 *
 *   run.zone.rootfs.lowerdirs  ':'-joined absolute dirs, topmost first
 *   run.zone.rootfs.upperdir   absolute dir; absent = read-only rootfs
 *   run.zone.rootfs.workdir    absolute dir; required with upperdir
 *   run.zone.rootfs.userxattr  "true": mount with userxattr (rootless)
 *
 * Without an upperdir, two or more lowers make a read-only overlay and a
 * single lower is bind-mounted read-only. */
#ifndef ZONE_RUNTIME_ROOTFS_OVERLAY_H
#define ZONE_RUNTIME_ROOTFS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/spec.h"

/* engine/bundle.h defines the same names; both headers must agree. */
#define ZANN_ROOTFS_LOWERDIRS "run.zone.rootfs.lowerdirs"
#define ZANN_ROOTFS_UPPERDIR  "run.zone.rootfs.upperdir"
#define ZANN_ROOTFS_WORKDIR   "run.zone.rootfs.workdir"
#define ZANN_ROOTFS_USERXATTR "run.zone.rootfs.userxattr"

/* Most layers accepted (the kernel's own limit is 500). */
#define ZOVERLAY_MAX_LOWER 500

struct zoverlay {
    char **lower;          /* topmost first */
    size_t n_lower;        /* 0: the config asks for no overlay */
    char *upper, *work;    /* NULL for a read-only rootfs */
    bool userxattr;
};

/* Reads and checks the annotations: absolute paths, existing directories,
 * no ',' or ':' inside a path (they would split the mount options), a
 * workdir with an upperdir. Errors name the annotation:
 * "config.json: annotations[\"run.zone.rootfs.upperdir\"]: ...".
 * out->n_lower == 0 when the config has no overlay. */
int zoverlay_from_spec(const struct zspec *s, struct zoverlay *out, struct zerr *e);
void zoverlay_free(struct zoverlay *o);

/* Check only (create, before any state changes). */
int zoverlay_validate(const struct zspec *s, struct zerr *e);

/* In the init, in its own mount namespace with private/slave propagation:
 * mounts the overlay (or the read-only bind of a single lower) onto
 * rootfs. Does nothing when the config has no overlay. */
int zoverlay_mount_rootfs(const struct zspec *s, const char *rootfs, struct zerr *e);

#endif
