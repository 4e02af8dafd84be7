/* Mounts inside a container root: OCI mount option parsing, the safe
 * bind/filesystem mount primitives (always onto an fd resolved inside the
 * root, never a path the container could redirect), and one spec mount. */
#ifndef ZONE_RUNTIME_MOUNTS_H
#define ZONE_RUNTIME_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroups/cgroups.h"
#include "core/error.h"
#include "core/spec.h"

#define ZMOUNT_MAX_PROPAGATION 8

/* ---------------------------------------------------------- options */

struct zmount_opts {
    unsigned long flags;      /* MS_* set: ro, nosuid, ..., MS_BIND, MS_REC */
    unsigned long cleared;    /* MS_* explicitly cleared: rw, suid, dev ... */
    /* propagation changes in order: MS_SHARED|MS_SLAVE|MS_PRIVATE|
     * MS_UNBINDABLE, each possibly with MS_REC */
    unsigned long propagation[ZMOUNT_MAX_PROPAGATION];
    size_t n_propagation;
    uint64_t rec_set, rec_clr;   /* MOUNT_ATTR_* applied with AT_RECURSIVE */
    bool idmap, recursive_idmap; /* "idmap" / "ridmap" */
    bool tmpcopyup;
    char *data;               /* remaining options joined with ',' or NULL */
};

/* Splits OCI mount options into flags, recursive attributes, propagation
 * and filesystem data ("mode=755,size=65536k"). */
int zmount_parse_options(char *const *options, size_t n, struct zmount_opts *o,
                         struct zerr *e);
void zmount_opts_free(struct zmount_opts *o);

/* "rprivate" -> MS_PRIVATE|MS_REC ...; -1 (EINVAL) for unknown names. */
int zmount_propagation_flags(const char *name, unsigned long *flags,
                             struct zerr *e);

/* True for type "bind" or a bind/rbind option. */
bool zmount_is_bind(const struct zspec_mount *m, const struct zmount_opts *o);

/* ---------------------------------------------------------- primitives */

/* Where a mount goes: fd is an O_PATH fd of the destination, resolved
 * inside root_fd; path is the same destination relative to the root (used
 * in messages, and to find the new mount again on kernels without the new
 * mount API). */
struct zmount_target {
    int root_fd;
    const char *path;
    int fd;
};

struct zbind_req {
    bool recursive;               /* rbind */
    bool set_top;                 /* replace the top mount's flags ... */
    unsigned long top_flags;      /* ... with these MS_* per-mount flags */
    uint64_t rec_set, rec_clr;    /* MOUNT_ATTR_* on the whole tree */
    int userns_fd;                /* >= 0: idmapped through this userns */
    bool idmap_recursive;
    const unsigned long *propagation;
    size_t n_propagation;
};

/* Bind-mounts src (src_dirfd + src_path; src_path "" binds the object
 * src_dirfd refers to) onto t. `what` names the source in messages. When a
 * flag change fails with EPERM (flags locked by a less privileged user
 * namespace), retries keeping the flags the source mount already has. */
int zmount_bind(int src_dirfd, const char *src_path, const char *what,
                const struct zmount_target *t, const struct zbind_req *r,
                struct zerr *e);

/* Mounts a new filesystem onto t with mount(2) through /proc/self/fd. */
int zmount_fs(const char *source, const char *type, unsigned long flags,
              const char *data, const struct zmount_target *t, struct zerr *e);

/* Opens the mount now on top of t (after a mount onto t->fd); checks it is
 * a different mount from the one t->fd is in. */
int zmount_reopen_top(const struct zmount_target *t, struct zerr *e);

/* Applies propagation changes (MS_SHARED..., maybe |MS_REC) to the mount
 * whose root fd refers to. */
int zmount_set_propagation(int fd, const unsigned long *prop, size_t n,
                           const char *what, struct zerr *e);

/* The per-mount MS_* flags of the mount fd is on (from fstatvfs). */
unsigned long zmount_fd_flags(int fd);

/* True when open_tree/move_mount/mount_setattr work (Linux >= 5.12). */
bool zmount_have_new_api(void);
/* Tests only: act as on a kernel without the new mount API. */
void zmount_force_legacy(bool on);

/* A user namespace fd with the given mappings, for idmapped mounts. */
int zmount_idmap_userns(const struct zspec_idmap *uids, size_t n_uids,
                        const struct zspec_idmap *gids, size_t n_gids,
                        struct zerr *e);

/* Recursively copies the directory under_fd into the directory top_fd
 * (tmpcopyup), keeping modes, owners and symlinks. */
int zmount_copy_tree(int under_fd, int top_fd, const char *what,
                     struct zerr *e);

/* ---------------------------------------------------------- spec mounts */

struct zmount_env {
    int root_fd;              /* O_PATH fd of the rootfs (a mount root) */
    const char *rootfs;       /* its absolute, resolved path */
    const char *bundle;       /* base for relative bind sources */
    bool in_userns;           /* no mknod, no new sysfs/mqueue/proc maybe */
    bool host_pidns;          /* the container shares zone's pid namespace */
    const struct zcg_mount_entry *cgroup_entries;
    size_t n_cgroup_entries;
};

/* Performs spec mount m (mounts[index]). Errors read
 * "mounts[3] (/data): mount /var/lib/x -> /data: No such file or directory". */
int zmount_spec_entry(const struct zmount_env *env, const struct zspec_mount *m,
                      size_t index, struct zerr *e);

#endif
