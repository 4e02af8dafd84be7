/* Namespace types, the flags a config asks for, and validation of
 * linux.namespaces / linux.{uid,gid}Mappings / linux.timeOffsets before any
 * state changes. */
#include "namespaces/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* The kernel limit on lines in uid_map/gid_map since Linux 4.15. */
#define ZNS_MAX_ID_EXTENTS 340

struct ns_info {
    const char *proc;   /* name under /proc/<pid>/ns */
    const char *spec;   /* name in config.json */
    int flag;
};

static const struct ns_info ns_table[ZNS__COUNT] = {
    [ZNS_PID] = { "pid", "pid", CLONE_NEWPID },
    [ZNS_NETWORK] = { "net", "network", CLONE_NEWNET },
    [ZNS_MOUNT] = { "mnt", "mount", CLONE_NEWNS },
    [ZNS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
    [ZNS_UTS] = { "uts", "uts", CLONE_NEWUTS },
    [ZNS_USER] = { "user", "user", CLONE_NEWUSER },
    [ZNS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
    [ZNS_TIME] = { "time", "time", CLONE_NEWTIME },
};

static bool type_ok(enum zspec_ns_type t)
{
    return (unsigned)t < ZNS__COUNT;
}

const char *zns_proc_name(enum zspec_ns_type t)
{
    return type_ok(t) ? ns_table[t].proc : NULL;
}

int zns_type_flag(enum zspec_ns_type t)
{
    return type_ok(t) ? ns_table[t].flag : 0;
}

static const char *spec_name(enum zspec_ns_type t)
{
    return type_ok(t) ? ns_table[t].spec : "?";
}

int zns_clone_flags(const struct zspec *s)
{
    int flags = 0;
    if (!s || !s->linux_)
        return 0;
    for (size_t i = 0; i < s->linux_->n_namespaces; i++) {
        const struct zspec_namespace *ns = &s->linux_->namespaces[i];
        if (!ns->path)
            flags |= zns_type_flag(ns->type);
    }
    return flags;
}

/* Which namespace type an open nsfs file is: 0 with *flag set, or -1 with
 * errno (ENOTTY/EINVAL: not a namespace file). */
static int ns_fd_type(int fd, int *flag)
{
    int r = ioctl(fd, NS_GET_NSTYPE);
    if (r >= 0) {
        *flag = r;
        return 0;
    }
    if (errno != ENOTTY && errno != EINVAL)
        return -1;

    /* Kernels before 4.11 lack NS_GET_NSTYPE: the file must live on nsfs
     * (or on proc for very old ones) and its link text names the type. */
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0)
        return -1;
    if (sfs.f_type != NSFS_MAGIC && sfs.f_type != PROC_SUPER_MAGIC) {
        errno = ENOTTY;
        return -1;
    }
    char link[64], target[128];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len < 0)
        return -1;
    target[len] = '\0';
    char *colon = strchr(target, ':');
    if (!colon) {
        errno = ENOTTY;
        return -1;
    }
    *colon = '\0';
    for (int t = 0; t < ZNS__COUNT; t++) {
        if (strcmp(target, ns_table[t].proc) == 0) {
            *flag = ns_table[t].flag;
            return 0;
        }
    }
    errno = ENOTTY;
    return -1;
}

static const char *flag_name(int flag)
{
    for (int t = 0; t < ZNS__COUNT; t++)
        if (ns_table[t].flag == flag)
            return ns_table[t].spec;
    return "unknown";
}

static int validate_path(const struct zspec_namespace *ns, size_t i,
                         struct zerr *e)
{
    const char *what = spec_name(ns->type);
    if (ns->path[0] != '/')
        return zerr_set(e, EINVAL,
                        "linux.namespaces[%zu] (%s): path \"%s\" is not absolute",
                        i, what, ns->path);
    _cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "linux.namespaces[%zu] (%s): path \"%s\"", i, what,
                        ns->path);
    int flag = 0;
    if (ns_fd_type(fd, &flag) < 0) {
        if (errno == ENOTTY || errno == EINVAL)
            return zerr_set(e, EINVAL,
                            "linux.namespaces[%zu] (%s): path \"%s\" is not a namespace file",
                            i, what, ns->path);
        return zerr_sys(e, "linux.namespaces[%zu] (%s): path \"%s\"", i, what,
                        ns->path);
    }
    if (flag != ns_table[ns->type].flag)
        return zerr_set(e, EINVAL,
                        "linux.namespaces[%zu] (%s): path \"%s\" is a %s namespace, not a %s namespace",
                        i, what, ns->path, flag_name(flag), what);
    return 0;
}

static int validate_new(const struct zspec_namespace *ns, size_t i,
                        struct zerr *e)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", ns_table[ns->type].proc);
    if (access(path, F_OK) == 0)
        return 0;
    if (errno == ENOENT)
        return zerr_set(e, EOPNOTSUPP,
                        "linux.namespaces[%zu] (%s): the kernel does not support %s namespaces (%s is missing)",
                        i, spec_name(ns->type), spec_name(ns->type), path);
    return zerr_sys(e, "linux.namespaces[%zu] (%s): %s", i,
                    spec_name(ns->type), path);
}

static bool ranges_overlap(uint32_t a, uint32_t na, uint32_t b, uint32_t nb)
{
    return (uint64_t)a < (uint64_t)b + nb && (uint64_t)b < (uint64_t)a + na;
}

static int validate_idmaps(const struct zspec_idmap *m, size_t n,
                           const char *field, struct zerr *e)
{
    if (n > ZNS_MAX_ID_EXTENTS)
        return zerr_set(e, EINVAL, "%s: %zu entries, the kernel allows at most %d",
                        field, n, ZNS_MAX_ID_EXTENTS);
    for (size_t i = 0; i < n; i++) {
        if (m[i].size == 0)
            return zerr_set(e, EINVAL, "%s[%zu]: size must be greater than 0",
                            field, i);
        /* The kernel refuses ranges reaching id 4294967295 (it is (uid_t)-1). */
        if ((uint64_t)m[i].container_id + m[i].size > UINT32_MAX ||
            (uint64_t)m[i].host_id + m[i].size > UINT32_MAX)
            return zerr_set(e, EINVAL,
                            "%s[%zu]: range %u..+%u / %u..+%u goes past the largest id",
                            field, i, m[i].container_id, m[i].size,
                            m[i].host_id, m[i].size);
        for (size_t j = 0; j < i; j++) {
            if (ranges_overlap(m[i].container_id, m[i].size,
                               m[j].container_id, m[j].size))
                return zerr_set(e, EINVAL,
                                "%s[%zu]: containerID range overlaps %s[%zu]",
                                field, i, field, j);
            if (ranges_overlap(m[i].host_id, m[i].size, m[j].host_id,
                               m[j].size))
                return zerr_set(e, EINVAL,
                                "%s[%zu]: hostID range overlaps %s[%zu]",
                                field, i, field, j);
        }
    }
    return 0;
}

static int validate_time_offset(const struct zspec_time_offset *t,
                                const char *name, struct zerr *e)
{
    if (t->present && t->nanosecs >= 1000000000u)
        return zerr_set(e, EINVAL,
                        "linux.timeOffsets.%s.nanosecs: %u is not below 1000000000",
                        name, t->nanosecs);
    return 0;
}

int zns_validate(const struct zspec *s, struct zerr *e)
{
    const struct zspec_linux *lx = s ? s->linux_ : NULL;
    if (!lx)
        return 0;

    ssize_t seen[ZNS__COUNT];
    for (int t = 0; t < ZNS__COUNT; t++)
        seen[t] = -1;

    for (size_t i = 0; i < lx->n_namespaces; i++) {
        const struct zspec_namespace *ns = &lx->namespaces[i];
        if (!type_ok(ns->type))
            return zerr_set(e, EINVAL, "linux.namespaces[%zu]: unknown type %d",
                            i, (int)ns->type);
        if (seen[ns->type] >= 0)
            return zerr_set(e, EINVAL,
                            "linux.namespaces[%zu] (%s): duplicate of linux.namespaces[%zd]",
                            i, spec_name(ns->type), seen[ns->type]);
        seen[ns->type] = (ssize_t)i;
        if (ns->path ? validate_path(ns, i, e) : validate_new(ns, i, e))
            return -1;
    }

    bool has_maps = lx->n_uid_mappings > 0 || lx->n_gid_mappings > 0;
    ssize_t user = seen[ZNS_USER];
    if (user < 0 && has_maps)
        return zerr_set(e, EINVAL,
                        "linux.uidMappings/gidMappings: id mappings require a user namespace in linux.namespaces");
    if (user >= 0 && !lx->namespaces[user].path && !has_maps)
        return zerr_set(e, EINVAL,
                        "linux.namespaces[%zd] (user): a new user namespace needs linux.uidMappings or linux.gidMappings",
                        user);
    if (validate_idmaps(lx->uid_mappings, lx->n_uid_mappings,
                        "linux.uidMappings", e) < 0 ||
        validate_idmaps(lx->gid_mappings, lx->n_gid_mappings,
                        "linux.gidMappings", e) < 0)
        return -1;

    bool has_offsets = lx->time_monotonic.present || lx->time_boottime.present;
    if (has_offsets) {
        ssize_t tns = seen[ZNS_TIME];
        if (tns < 0)
            return zerr_set(e, EINVAL,
                            "linux.timeOffsets: needs a new time namespace in linux.namespaces");
        if (lx->namespaces[tns].path)
            return zerr_set(e, EINVAL,
                            "linux.timeOffsets: linux.namespaces[%zd] (time) joins an existing namespace; offsets can only be set on a new one",
                            tns);
        if (validate_time_offset(&lx->time_monotonic, "monotonic", e) < 0 ||
            validate_time_offset(&lx->time_boottime, "boottime", e) < 0)
            return -1;
    }
    return zns_validate_unprivileged(s, e);
}
