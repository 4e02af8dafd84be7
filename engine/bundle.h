/* engine/: the daemonless developer engine behind `zone run IMAGE`, `zone ps`,
 * `zone logs`... It sits between cli/ and {images, runtime}: it turns an
 * image plus the user's flags into an OCI bundle that runtime/ runs, and
 * keeps a record per developer container under <store>/containers/<id>/.
 *
 * Bundle layout (<store>/containers/<id>/):
 *   config.json   the generated spec
 *   rootfs/       empty mount point; the container's init mounts the
 *                 overlay there inside its own mount namespace (no host
 *                 mount to leak), from the annotations below
 *   upper/ work/  the overlay's upper and work dirs (the container's
 *                 changes; removed with the container)
 *
 * Overlay annotations, read by runtime/rootfs.c:
 *   run.zone.rootfs.lowerdirs  ':'-joined absolute layer dirs, topmost first
 *   run.zone.rootfs.upperdir   absolute path (omit for a read-only overlay)
 *   run.zone.rootfs.workdir    absolute path
 *   run.zone.rootfs.userxattr  "true" to mount with userxattr (rootless)
 */
#ifndef ZONE_ENGINE_BUNDLE_H
#define ZONE_ENGINE_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/spec.h"
#include "images/manifest.h"

#define ZANN_ROOTFS_LOWERDIRS "run.zone.rootfs.lowerdirs"
#define ZANN_ROOTFS_UPPERDIR  "run.zone.rootfs.upperdir"
#define ZANN_ROOTFS_WORKDIR   "run.zone.rootfs.workdir"
#define ZANN_ROOTFS_USERXATTR "run.zone.rootfs.userxattr"

enum znetwork_mode { ZNET_PRIVATE, ZNET_NONE, ZNET_HOST, ZNET_PASTA };

struct zvolume { char *source, *destination; bool read_only; };

/* The user's `zone run` flags, parsed by cli/ (env files already read). */
struct zrun_flags {
    char **cmd; size_t n_cmd;             /* after IMAGE; n_cmd 0 = image's */
    const char *entrypoint;               /* --entrypoint; NULL = image's;
                                             "" = none */
    char **env; size_t n_env;             /* KEY=VALUE or KEY (from host env) */
    struct zvolume *volumes; size_t n_volumes;
    const char *workdir, *user, *hostname, *name;
    enum znetwork_mode network;
    int64_t memory;                       /* bytes; 0 = unset */
    double cpus;                          /* 0 = unset */
    int64_t pids_limit;                   /* 0 = unset, -1 = unlimited */
    bool read_only, tty, interactive;
    char **cap_add; size_t n_cap_add;     /* "NET_ADMIN" or "CAP_NET_ADMIN", "ALL" */
    char **cap_drop; size_t n_cap_drop;
    const char *seccomp_profile;          /* FILE, "unconfined", NULL = default */
    bool no_new_privileges;
    bool vm;                              /* --vm (issue 5) */
    bool rootless;                        /* running without root */
};

/* Builds the spec for image + flags: podman's defaults (capabilities,
 * masked paths, the default seccomp profile), entrypoint/cmd, env (image
 * env, then -e), workdir, user (names resolved through the image's
 * /etc/passwd and /etc/group, read from the layers), volumes as rbind
 * mounts, the image's VOLUMEs as directories, labels as annotations,
 * stop signal as an annotation (org.opencontainers.image.stopSignal),
 * resources and namespaces. Writes <bundle_dir>/config.json and creates
 * rootfs/, upper/ and work/. lowerdirs are the image's unpacked layers
 * (zlayers_prepare), topmost first. */
int zengine_bundle_create(const struct zimage *im, char *const *lowerdirs, size_t n_lower,
                          const struct zrun_flags *f, const char *bundle_dir,
                          struct zerr *e);

/* The default seccomp profile, equal in effect to podman's (containers-
 * common seccomp.json) for this architecture, given the capabilities the
 * container will have. Caller frees with spec_seccomp_free (core/spec.h). */
struct zspec_seccomp *zengine_default_seccomp(char *const *caps, size_t n_caps,
                                              struct zerr *e);

#endif
