/* Joining existing namespaces: the paths of a config (create/run) and all
 * namespaces of a running container's init (exec). */
#include "namespaces/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"

/* Join order; see zns_setns_all in the header for why user comes first in
 * the list and mount last. */
static const enum zspec_ns_type join_order[ZNS__COUNT] = {
    ZNS_USER, ZNS_IPC, ZNS_UTS, ZNS_NETWORK, ZNS_PID, ZNS_CGROUP, ZNS_TIME,
    ZNS_MOUNT,
};

void zns_close_joins(struct zns_join *j, size_t n)
{
    if (!j)
        return;
    for (size_t i = 0; i < n; i++)
        if (j[i].fd >= 0)
            close(j[i].fd);
    free(j);
}

int zns_open_joins(const struct zspec *s, struct zns_join **out, size_t *n,
                   struct zerr *e)
{
    *out = NULL;
    *n = 0;
    const struct zspec_linux *lx = s ? s->linux_ : NULL;
    if (!lx || lx->n_namespaces == 0)
        return 0;

    struct zns_join *j = calloc(lx->n_namespaces, sizeof *j);
    if (!j)
        return zerr_sys(e, "allocating namespace joins");
    size_t count = 0;
    for (size_t o = 0; o < ZNS__COUNT; o++) {
        for (size_t i = 0; i < lx->n_namespaces; i++) {
            const struct zspec_namespace *ns = &lx->namespaces[i];
            if (ns->type != join_order[o] || !ns->path)
                continue;
            int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                zerr_sys(e, "linux.namespaces[%zu] (%s): opening \"%s\"", i,
                         zns_proc_name(ns->type), ns->path);
                zns_close_joins(j, count);
                return -1;
            }
            j[count].type = ns->type;
            j[count].fd = fd;
            count++;
        }
    }
    if (count == 0) {
        free(j);
        return 0;
    }
    *out = j;
    *n = count;
    return 0;
}

static int join_one(const struct zns_join *j, struct zerr *e)
{
    if (setns(j->fd, zns_type_flag(j->type)) < 0)
        return zerr_sys(e, "joining the %s namespace (setns)",
                        zns_proc_name(j->type));
    return 0;
}

int zns_setns_all(const struct zns_join *j, size_t n, struct zerr *e)
{
    bool has_user = false;
    for (size_t i = 0; i < n; i++)
        if (j[i].type == ZNS_USER)
            has_user = true;

    _cleanup_free_ bool *deferred = calloc(n ? n : 1, sizeof *deferred);
    if (!deferred)
        return zerr_sys(e, "allocating namespace join state");

    /* Pass 1: everything but user, with our current privileges. */
    for (size_t i = 0; i < n; i++) {
        if (j[i].type == ZNS_USER)
            continue;
        if (setns(j[i].fd, zns_type_flag(j[i].type)) == 0)
            continue;
        if (errno == EPERM && has_user) {
            deferred[i] = true;
            continue;
        }
        return zerr_sys(e, "joining the %s namespace (setns)",
                        zns_proc_name(j[i].type));
    }
    /* Pass 2: the user namespace. */
    for (size_t i = 0; i < n; i++)
        if (j[i].type == ZNS_USER && join_one(&j[i], e) < 0)
            return -1;
    /* Pass 3: those owned by the user namespace we just entered. */
    for (size_t i = 0; i < n; i++)
        if (deferred[i] && join_one(&j[i], e) < 0)
            return -1;
    return 0;
}

int zns_pid_ns_path(pid_t pid, enum zspec_ns_type t, char *buf, size_t size,
                    struct zerr *e)
{
    const char *name = zns_proc_name(t);
    if (!name)
        return zerr_set(e, EINVAL, "unknown namespace type %d", (int)t);
    int len = snprintf(buf, size, "/proc/%d/ns/%s", (int)pid, name);
    if (len < 0 || (size_t)len >= size)
        return zerr_set(e, ENAMETOOLONG, "namespace path of pid %d does not fit",
                        (int)pid);
    return 0;
}

/* Opens /proc/<pid>/ns/x for each type whose namespace differs from ours,
 * in join order. *flags gets the union of their CLONE_NEW* flags. */
static int open_differing(pid_t pid, struct zns_join **out, size_t *n,
                          int *flags, struct zerr *e)
{
    struct zns_join *j = calloc(ZNS__COUNT, sizeof *j);
    size_t count = 0;
    *flags = 0;
    if (!j)
        return zerr_sys(e, "allocating namespace joins");

    for (size_t o = 0; o < ZNS__COUNT; o++) {
        enum zspec_ns_type t = join_order[o];
        char self_path[64], path[64];
        struct stat self_st, st;
        snprintf(self_path, sizeof self_path, "/proc/self/ns/%s",
                 zns_proc_name(t));
        if (stat(self_path, &self_st) < 0) {
            if (errno == ENOENT)
                continue; /* the kernel lacks this namespace type */
            zerr_sys(e, "%s", self_path);
            goto fail;
        }
        if (zns_pid_ns_path(pid, t, path, sizeof path, e) < 0)
            goto fail;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                zerr_set(e, ESRCH, "%s: process %d is gone", path, (int)pid);
            else
                zerr_sys(e, "opening %s", path);
            goto fail;
        }
        if (fstat(fd, &st) < 0) {
            zerr_sys(e, "%s", path);
            close(fd);
            goto fail;
        }
        if (st.st_dev == self_st.st_dev && st.st_ino == self_st.st_ino) {
            close(fd);
            continue;
        }
        j[count].type = t;
        j[count].fd = fd;
        count++;
        *flags |= zns_type_flag(t);
    }
    *out = j;
    *n = count;
    return 0;
fail:
    zns_close_joins(j, count);
    return -1;
}

/* Confirms that the process behind pidfd still exists, so that the
 * /proc/<pid> files opened before belong to it and not to a recycled pid. */
static int check_alive(pid_t pid, int pidfd, struct zerr *e)
{
    if (pidfd < 0)
        return 0;
    if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0) {
        if (errno == ESRCH)
            return zerr_set(e, ESRCH, "process %d exited while entering its namespaces",
                            (int)pid);
        if (errno != ENOSYS)
            return zerr_sys(e, "checking process %d", (int)pid);
    }
    return 0;
}

static int open_pidfd(pid_t pid, int *fd, struct zerr *e)
{
    *fd = pidfd_open(pid, 0);
    if (*fd >= 0 || errno == ENOSYS)
        return 0;
    if (errno == ESRCH)
        return zerr_set(e, ESRCH, "process %d does not exist", (int)pid);
    return zerr_sys(e, "pidfd_open(%d)", (int)pid);
}

int zns_enter_pid_files(pid_t pid, int pidfd, struct zerr *e)
{
    _cleanup_close_ int own_pidfd = -1;
    if (pidfd < 0) {
        if (open_pidfd(pid, &own_pidfd, e) < 0)
            return -1;
        pidfd = own_pidfd;
    }
    struct zns_join *j = NULL;
    size_t n = 0;
    int flags = 0;
    if (open_differing(pid, &j, &n, &flags, e) < 0)
        return zerr_prefix(e, "entering the namespaces of process %d", (int)pid);
    int r = check_alive(pid, pidfd, e);
    if (r == 0)
        r = zns_setns_all(j, n, e);
    zns_close_joins(j, n);
    if (r < 0)
        return zerr_prefix(e, "entering the namespaces of process %d", (int)pid);
    return 0;
}

int zns_enter_pid(pid_t pid, int pidfd, struct zerr *e)
{
    _cleanup_close_ int own_pidfd = -1;
    if (pidfd < 0) {
        if (open_pidfd(pid, &own_pidfd, e) < 0)
            return zerr_prefix(e, "entering the namespaces of process %d", (int)pid);
        if (own_pidfd < 0) /* no pidfd support at all */
            return zns_enter_pid_files(pid, -1, e);
        pidfd = own_pidfd;
    }

    struct zns_join *j = NULL;
    size_t n = 0;
    int flags = 0;
    if (open_differing(pid, &j, &n, &flags, e) < 0)
        return zerr_prefix(e, "entering the namespaces of process %d", (int)pid);
    zns_close_joins(j, n);
    if (flags == 0)
        return 0;

    /* One atomic switch; the kernel orders the user namespace itself. */
    if (setns(pidfd, flags) == 0)
        return 0;
    if (errno == EINVAL) /* kernel < 5.8: setns() does not take pidfds */
        return zns_enter_pid_files(pid, pidfd, e);
    if (errno == ESRCH)
        return zerr_set(e, ESRCH, "entering the namespaces of process %d: it exited",
                        (int)pid);
    return zerr_sys(e, "entering the namespaces of process %d (setns with pidfd)",
                    (int)pid);
}
