/* Creating and joining Linux namespaces for a zone: which CLONE_NEW* flags a
 * config asks for, validation of linux.namespaces / id mappings / time
 * offsets before anything changes state, joining namespace files in a safe
 * order, writing uid/gid maps (directly or through newuidmap/newgidmap),
 * time namespace offsets, and entering a running container for `exec`.
 *
 * Only depends on core/. */
#ifndef ZONE_NAMESPACES_NAMESPACES_H
#define ZONE_NAMESPACES_NAMESPACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/spec.h"

/* Name of the namespace under /proc/<pid>/ns/ ("net", "mnt", "pid", ...),
 * or NULL for an out-of-range type. */
const char *zns_proc_name(enum zspec_ns_type t);
/* Its CLONE_NEW* flag, or 0 for an out-of-range type. */
int zns_type_flag(enum zspec_ns_type t);

/* CLONE_NEW* flags for the namespaces the config asks to CREATE (entries
 * without a path). 0 when the config has no linux section. */
int zns_clone_flags(const struct zspec *s);

/* Validation before anything changes state:
 *  - no namespace type appears twice, each path is absolute, exists and is a
 *    namespace of the entry's type (NS_GET_NSTYPE; fallback for kernels
 *    without it: the fs is nsfs and /proc/self/fd/N reads "<type>:[ino]"),
 *  - every namespace to create is supported by the kernel (/proc/self/ns/x),
 *  - a NEW user namespace has uid or gid mappings (as runc: one of the two
 *    suffices); mappings without any user namespace are an error; mapping
 *    entries are non-empty, do not wrap, do not overlap, at most 340 each,
 *  - time offsets only with a NEW time namespace.
 * Messages name the entry: "linux.namespaces[2] (network): path ...". */
int zns_validate(const struct zspec *s, struct zerr *e);

/* Opened namespace files of a config, in join order (see zns_setns_all). */
struct zns_join {
    enum zspec_ns_type type;
    int fd;
};

/* Opens every namespace `path` of the config (O_RDONLY|O_CLOEXEC) and
 * returns them ordered: user, ipc, uts, net, pid, cgroup, time, mnt.
 * *out is NULL and *n 0 when there is nothing to join. Free with
 * zns_close_joins. */
int zns_open_joins(const struct zspec *s, struct zns_join **out, size_t *n,
                   struct zerr *e);

/* setns() into each of j[0..n). Order matters because setns() into a
 * namespace needs CAP_SYS_ADMIN in the user namespace that owns it:
 *   1. every non-user namespace is tried first while we still hold our
 *      current (usually host) privileges — this covers namespaces owned by
 *      our own user namespace, e.g. a netns made by CNI, which we could no
 *      longer enter after switching to the container's user namespace;
 *   2. then the user namespace is joined, which grants full capabilities in
 *      it;
 *   3. then the ones that failed with EPERM in step 1 are retried (they are
 *      owned by the joined user namespace).
 * Within a pass the array order is kept (zns_open_joins puts mount last:
 * entering it changes our root and cwd).
 * Joining a pid namespace only affects children forked afterwards, so the
 * caller must fork after this to have a process inside it. Call this BEFORE
 * unsharing/cloning the namespaces to create, so that those are owned by the
 * joined user namespace. The calling process must be single-threaded. */
int zns_setns_all(const struct zns_join *j, size_t n, struct zerr *e);
void zns_close_joins(struct zns_join *j, size_t n);

/* How uid_map/gid_map get written. AUTO picks DIRECT when we hold
 * CAP_SETUID (resp. CAP_SETGID) or when the map is the single mapping of our
 * own effective id, and the newuidmap/newgidmap helper otherwise. */
enum zns_idmap_method { ZNS_IDMAP_AUTO, ZNS_IDMAP_DIRECT, ZNS_IDMAP_HELPER };

/* Writes the uid and gid maps of `pid`, a child that has just unshared or
 * been cloned into a new user namespace, using ZNS_IDMAP_AUTO. A direct
 * unprivileged write of a single own-gid mapping first writes "deny" to
 * /proc/<pid>/setgroups, as the kernel requires. An empty list is skipped.
 * The maps are written once and are immutable afterwards. */
int zns_write_id_maps(pid_t pid, const struct zspec_idmap *uid, size_t n_uid,
                      const struct zspec_idmap *gid, size_t n_gid,
                      struct zerr *e);
/* One map, with an explicit method. Errors name the file or helper command
 * line and the mapping. */
int zns_write_id_map(pid_t pid, bool is_gid, const struct zspec_idmap *m,
                     size_t n, enum zns_idmap_method how, struct zerr *e);
/* Full path of newuidmap (is_gid false) / newgidmap, looked up in $PATH then
 * /usr/bin, /bin, /usr/sbin, /sbin; NULL when not installed. Static buffer. */
const char *zns_idmap_helper_path(bool is_gid);

/* ---- unprivileged (rootless) use: namespaces/idmap.c, namespaces/subid.c */

#define ZNS_SUBUID_FILE "/etc/subuid"
#define ZNS_SUBGID_FILE "/etc/subgid"
/* At most this many subordinate ranges are read per user. */
#define ZNS_SUBID_RANGES_MAX 64

struct zns_id_range {
    uint32_t start, count;
};

/* Checks, before anything changes state, the settings an unprivileged
 * caller cannot have, naming the config field:
 *  - no user namespace (new or joined) while zone lacks CAP_SYS_ADMIN,
 *  - a new user namespace whose mappings leave container uid/gid 0
 *    unmapped (the init sets the container up as its root),
 *  - process.user.uid/gid/additionalGids not mapped,
 *  - mappings of host ids zone may not map: without CAP_SETUID/CAP_SETGID,
 *    anything but the own id that /etc/subuid (/etc/subgid) does not
 *    delegate to the user, or ranges needing newuidmap/newgidmap when they
 *    are not installed; with the capability, ids outside zone's own user
 *    namespace,
 *  - additionalGids when the gid map will be the own gid written without
 *    privilege (the kernel then denies setgroups). */
int zns_validate_unprivileged(const struct zspec *s, struct zerr *e);

/* Parses subuid/subgid text: the ranges of the lines whose owner is `name`
 * (may be NULL) or the decimal uid. Comments, blank and malformed lines are
 * skipped. -1 when more than max ranges match. */
int zns_subid_parse(const char *text, size_t len, const char *name, uid_t uid,
                    struct zns_id_range *out, size_t max, size_t *n);
/* The ranges /etc/subuid (is_gid false) or /etc/subgid delegates to the
 * user uid (matched by name or number); none when the file is missing. */
int zns_subid_ranges(bool is_gid, uid_t uid, struct zns_id_range *out, size_t max,
                     size_t *n, struct zerr *e);
/* The user name of uid into buf, or NULL when it has none. */
const char *zns_user_name(uid_t uid, char *buf, size_t size);

/* The mappings of `zone spec --rootless` for user uid/gid: the own id as
 * container id 0, then, when newuidmap/newgidmap are installed, each range
 * /etc/subuid (/etc/subgid) delegates to the user from container id 1 on.
 * Free both arrays with free(). */
int zns_rootless_mappings(uid_t uid, gid_t gid, struct zspec_idmap **uids, size_t *n_uids,
                          struct zspec_idmap **gids, size_t *n_gids, struct zerr *e);

/* Writes linux.timeOffsets to /proc/<pid>/timens_offsets (pid 0: self).
 * Nothing is written when neither offset is present.
 * How to use it: the kernel only accepts offsets for a time namespace that
 * no process has entered yet, so the namespace must be made with
 * unshare(CLONE_NEWTIME) — never clone(CLONE_NEWTIME), whose child is
 * already inside. unshare() only sets the namespace "for children"; the
 * unsharing process (or its parent, passing its pid) writes the offsets,
 * and only then does the process fork or execve — both move into the new
 * time namespace. */
int zns_write_time_offsets(pid_t pid, const struct zspec_linux *lx,
                           struct zerr *e);

/* "/proc/<pid>/ns/<name>" into buf. -1 when it does not fit or t is bad. */
int zns_pid_ns_path(pid_t pid, enum zspec_ns_type t, char *buf, size_t size,
                    struct zerr *e);

/* Enters all namespaces of the running process `pid` that differ from ours
 * (compared by device+inode of /proc/self/ns/x vs /proc/<pid>/ns/x), as
 * `exec` needs. With a pidfd (pidfd < 0: one is opened here; kernel >= 5.8)
 * this is one atomic setns(pidfd, flags); when the kernel refuses pidfds
 * for setns it falls back to zns_enter_pid_files. The caller must be
 * single-threaded and fork afterwards to be inside the pid namespace. */
int zns_enter_pid(pid_t pid, int pidfd, struct zerr *e);
/* The per-file variant: opens /proc/<pid>/ns/x for the differing types,
 * checks through pidfd (when >= 0) that pid was not recycled meanwhile, and
 * joins them in the zns_setns_all order. */
int zns_enter_pid_files(pid_t pid, int pidfd, struct zerr *e);

#endif
