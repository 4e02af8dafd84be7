/* One config.json mount, runc-compatible: destination resolved (and
 * created) inside the rootfs, /proc and /sys guarded, then a bind, cgroup
 * or filesystem mount onto the resolved fd. */
#include "runtime/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"

/* Files under /proc that may be bind-mounted over (lxcfs and friends). */
static const char *const proc_allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
    "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
    "/proc/pressure/cpu", "/proc/pressure/io", "/proc/pressure/memory",
    "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

static bool source_fs_is(const char *src, long magic)
{
    struct statfs sf;
    return src && statfs(src, &sf) == 0 && (long)sf.f_type == magic;
}

/* The destination as the container will see it, after symlinks inside the
 * rootfs were followed: the fd's path with the rootfs prefix cut off. */
static char *container_path(int fd, const char *rootfs, const char *fallback)
{
    char link[32], host[PATH_MAX];
    size_t n = strlen(rootfs);
    ssize_t l;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    l = readlink(link, host, sizeof host - 1);
    if (l > 0) {
        host[l] = '\0';
        if (strncmp(host, rootfs, n) == 0 && (host[n] == '/' || host[n] == '\0'))
            return strdup(host[n] ? host + n : "/");
    }
    return strdup(fallback);
}

static int check_destination(const char *cpath, const struct zspec_mount *m,
                             bool bind, const char *src, struct zerr *e)
{
    const char *type = m->type ? m->type : "";
    if (zpath_has_prefix(cpath, "/proc")) {
        if (strcmp(cpath, "/proc") == 0) {
            if (strcmp(type, "proc") == 0 || (bind && source_fs_is(src, PROC_SUPER_MAGIC)))
                return 0;
            return zerr_set(e, EPERM, "%s cannot be mounted because it is not of type proc", cpath);
        }
        for (size_t i = 0; i < ZARRAY_SIZE(proc_allowed); i++)
            if (strcmp(cpath, proc_allowed[i]) == 0 && bind)
                return 0;
        return zerr_set(e, EPERM, "%s cannot be mounted because it is inside /proc", cpath);
    }
    if (strcmp(cpath, "/sys") == 0 && strcmp(type, "sysfs") != 0 &&
        !(bind && source_fs_is(src, SYSFS_MAGIC)))
        return zerr_set(e, EPERM, "%s cannot be mounted because it is not of type sysfs", cpath);
    return 0;
}

/* Flags that only make sense at creation of a new filesystem: recursive
 * attributes fold into plain ones, since a new mount has no children. */
static unsigned long fs_flags(const struct zmount_opts *o)
{
    unsigned long f = o->flags & ~(unsigned long)(MS_BIND | MS_REC);
    static const struct { uint64_t attr; unsigned long ms; } map[] = {
        { MOUNT_ATTR_RDONLY, MS_RDONLY }, { MOUNT_ATTR_NOSUID, MS_NOSUID },
        { MOUNT_ATTR_NODEV, MS_NODEV }, { MOUNT_ATTR_NOEXEC, MS_NOEXEC },
        { MOUNT_ATTR_NODIRATIME, MS_NODIRATIME }, { MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW },
    };
    for (size_t i = 0; i < ZARRAY_SIZE(map); i++) {
        if (o->rec_set & map[i].attr)
            f |= map[i].ms;
        else if (o->rec_clr & map[i].attr)
            f &= ~map[i].ms;
    }
    if (o->rec_clr & MOUNT_ATTR__ATIME) {
        f &= ~(unsigned long)(MS_NOATIME | MS_STRICTATIME | MS_RELATIME);
        uint64_t atime = o->rec_set & MOUNT_ATTR__ATIME;
        f |= atime == MOUNT_ATTR_NOATIME ? MS_NOATIME :
             atime == MOUNT_ATTR_STRICTATIME ? MS_STRICTATIME : MS_RELATIME;
    }
    return f;
}

/* The MS_* a bind should end up with; runc remounts only when the options
 * set some flag beyond bind/rbind/remount. */
static void bind_top_flags(const struct zmount_opts *o, struct zbind_req *r)
{
    unsigned long f = o->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT);
    r->set_top = f != 0;
    r->top_flags = f;
}

static int bind_path(const char *src, const struct zmount_target *t,
                     const struct zmount_opts *o, int userns_fd, struct zerr *e)
{
    struct zbind_req r = {
        .recursive = (o->flags & MS_REC) != 0,
        .rec_set = o->rec_set, .rec_clr = o->rec_clr,
        .userns_fd = userns_fd, .idmap_recursive = o->recursive_idmap,
        .propagation = o->propagation, .n_propagation = o->n_propagation,
    };
    bind_top_flags(o, &r);
    return zmount_bind(AT_FDCWD, src, src, t, &r, e);
}

/* ---------------------------------------------------------- cgroups */

static bool entry_name_ok(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static int mount_cgroup_v1(const struct zmount_env *env, const struct zmount_target *t,
                           const struct zmount_opts *o, struct zerr *e)
{
    unsigned long keep = o->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
    _cleanup_close_ int top = -1;
    struct zmount_target dir = { .root_fd = env->root_fd, .path = t->path };

    if (zmount_fs("tmpfs", "tmpfs", keep, "mode=755", t, e) < 0)
        return -1;
    top = zmount_reopen_top(t, e);
    if (top < 0)
        return -1;
    for (size_t i = 0; i < env->n_cgroup_entries; i++) {
        const struct zcg_mount_entry *c = &env->cgroup_entries[i];
        _cleanup_close_ int sub = -1;
        _cleanup_free_ char *subpath = NULL;
        struct zbind_req r = { .userns_fd = -1, .set_top = true,
                               .top_flags = keep | (o->flags & MS_RDONLY) };
        if (!entry_name_ok(c->name) || !c->host_path)
            return zerr_set(e, EINVAL, "cgroup hierarchy %zu has a bad name", i);
        if (mkdirat(top, c->name, 0755) < 0 && errno != EEXIST)
            return zerr_sys(e, "mkdir %s/%s", t->path, c->name);
        sub = openat(top, c->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return zerr_sys(e, "open %s/%s", t->path, c->name);
        if (asprintf(&subpath, "%s/%s", t->path, c->name) < 0)
            return zerr_set(e, ENOMEM, "out of memory");
        dir.path = subpath;
        dir.fd = sub;
        if (zmount_bind(AT_FDCWD, c->host_path, c->host_path, &dir, &r, e) < 0)
            return -1;
        for (char **s = c->symlinks; s && *s; s++) {
            if (!entry_name_ok(*s) || strcmp(*s, c->name) == 0)
                continue;
            if (symlinkat(c->name, top, *s) < 0 && errno != EEXIST)
                return zerr_sys(e, "symlink %s/%s", t->path, *s);
        }
    }
    if (o->flags & MS_RDONLY) {
        char p[32];
        snprintf(p, sizeof p, "/proc/self/fd/%d", top);
        if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0)
            return zerr_sys(e, "remount %s read-only", t->path);
    }
    return zmount_set_propagation(top, o->propagation, o->n_propagation, t->path, e);
}

static int mount_cgroup(const struct zmount_env *env, const struct zspec_mount *m,
                        const struct zmount_target *t, const struct zmount_opts *o,
                        struct zerr *e)
{
    const struct zcg_mount_entry *v2 = NULL;
    bool all_v2 = env->n_cgroup_entries > 0;

    for (size_t i = 0; i < env->n_cgroup_entries; i++) {
        const struct zcg_mount_entry *c = &env->cgroup_entries[i];
        if (c->v2 && !v2)
            v2 = c;
        all_v2 = all_v2 && c->v2;
    }
    if (env->n_cgroup_entries == 0) {
        /* No hierarchies given (cgroup namespace): a fresh cgroup2 mount
         * shows the namespaced view; in a user namespace that does not own
         * one, fall back to the host's tree like runc. In the initial
         * cgroup namespace the mount's flags become the hierarchy's, so
         * the host's (nsdelegate, memory_recursiveprot, ...) are repeated:
         * without them the kernel would clear them host-wide. */
        char host_flags[256], data[512];
        if (zcg_v2_host_root_flags(host_flags, sizeof host_flags, e) < 0)
            return -1;
        if (snprintf(data, sizeof data, "%s%s%s", o->data ? o->data : "",
                     o->data && *o->data && *host_flags ? "," : "", host_flags) >=
            (int)sizeof data)
            return zerr_set(e, ENAMETOOLONG, "cgroup2 mount options too long");
        if (zmount_fs("cgroup2", "cgroup2", fs_flags(o), *data ? data : NULL, t, e) == 0)
            return 0;
        if (e->code != EPERM && e->code != EBUSY)
            return -1;
        struct zbind_req r = { .recursive = true, .userns_fd = -1 };
        bind_top_flags(o, &r);
        return zmount_bind(AT_FDCWD, "/sys/fs/cgroup", "/sys/fs/cgroup", t, &r, e);
    }
    if (all_v2 || (m->type && strcmp(m->type, "cgroup2") == 0)) {
        if (!v2 || !v2->host_path)
            return zerr_set(e, ENOENT, "no cgroup v2 hierarchy to mount");
        return bind_path(v2->host_path, t, o, -1, e);
    }
    return mount_cgroup_v1(env, t, o, e);
}

/* ---------------------------------------------------------- one mount */

static int fs_mount_with_fallback(const struct zmount_env *env, const struct zspec_mount *m,
                                  const struct zmount_target *t, const struct zmount_opts *o,
                                  struct zerr *e)
{
    const char *type = m->type;
    const char *source = m->source ? m->source : (type ? type : "none");
    const char *host = NULL;

    if (zmount_fs(source, type, fs_flags(o), o->data, t, e) == 0)
        return 0;
    /* In a user namespace that does not own the network (sysfs) or IPC
     * (mqueue) namespace the kernel refuses a new instance: expose the
     * host's, as runc does. Same for proc when the container shares our
     * pid namespace (the host's /proc shows just that one). */
    if (env->in_userns && e->code == EPERM && type) {
        if (strcmp(type, "sysfs") == 0)
            host = "/sys";
        else if (strcmp(type, "mqueue") == 0)
            host = "/dev/mqueue";
        else if (strcmp(type, "proc") == 0 && env->host_pidns)
            host = "/proc";
    }
    if (!host) {
        if (env->in_userns && e->code == EPERM && type && strcmp(type, "proc") == 0)
            return zerr_prefix(e, "in a user namespace the kernel mounts proc only for a "
                               "pid namespace that user namespace owns, and only while "
                               "no part of the host's /proc is covered by another mount");
        return -1;
    }
    struct zmount_opts bind_opts = *o;
    bind_opts.flags |= MS_BIND | MS_REC;
    bind_opts.n_propagation = 0;
    return bind_path(host, t, &bind_opts, -1, e);
}

static int do_spec_mount(const struct zmount_env *env, const struct zspec_mount *m,
                         const struct zmount_opts *o, struct zerr *e)
{
    bool bind = zmount_is_bind(m, o);
    bool cgroup = m->type && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0);
    _cleanup_free_ char *dest = NULL, *src = NULL, *cpath = NULL;
    _cleanup_close_ int dest_fd = -1, top = -1, userns_fd = -1;
    struct zmount_target t = { .root_fd = env->root_fd };
    bool dir = true;

    if (!m->destination || !*m->destination)
        return zerr_set(e, EINVAL, "destination is empty");
    dest = zpath_join("/", m->destination);
    if (!dest)
        return zerr_set(e, ENOMEM, "out of memory");
    if (strcmp(dest, "/") == 0)
        return zerr_set(e, EINVAL, "mounting over the container root is not allowed");
    t.path = dest;

    if (bind) {
        struct stat st;
        if (!m->source || !*m->source)
            return zerr_set(e, EINVAL, "bind mount without a source");
        src = zpath_is_abs(m->source) ? strdup(m->source) : zpath_join(env->bundle, m->source);
        if (!src)
            return zerr_set(e, ENOMEM, "out of memory");
        if (stat(src, &st) < 0)
            return zerr_sys(e, "mount %s -> %s", src, dest);
        dir = S_ISDIR(st.st_mode);
    }
    dest_fd = dir ? zpath_mkdir_p_in_root(env->root_fd, dest, 0755, e)
                  : zpath_mkfile_in_root(env->root_fd, dest, 0644, e);
    if (dest_fd < 0)
        return zerr_prefix(e, "mount %s -> %s", src ? src : (m->source ? m->source : "none"),
                           dest);
    t.fd = dest_fd;
    cpath = container_path(dest_fd, env->rootfs, dest);
    if (!cpath)
        return zerr_set(e, ENOMEM, "out of memory");
    if (check_destination(cpath, m, bind, src, e) < 0)
        return -1;

    if (bind) {
        if (o->idmap) {
            userns_fd = zmount_idmap_userns(m->uid_mappings, m->n_uid_mappings,
                                            m->gid_mappings, m->n_gid_mappings, e);
            if (userns_fd < 0)
                return -1;
        }
        return bind_path(src, &t, o, userns_fd, e);
    }
    if (o->idmap)
        return zerr_set(e, EINVAL, "idmap is only supported on bind mounts");
    if (cgroup)
        return mount_cgroup(env, m, &t, o, e);
    if (o->tmpcopyup && (!m->type || strcmp(m->type, "tmpfs") != 0))
        return zerr_set(e, EINVAL, "tmpcopyup is only supported on tmpfs");
    if (fs_mount_with_fallback(env, m, &t, o, e) < 0)
        return -1;
    if (!o->tmpcopyup && !o->n_propagation)
        return 0;
    top = zmount_reopen_top(&t, e);
    if (top < 0)
        return -1;
    if (o->tmpcopyup && zmount_copy_tree(dest_fd, top, dest, e) < 0)
        return -1;
    return zmount_set_propagation(top, o->propagation, o->n_propagation, dest, e);
}

int zmount_spec_entry(const struct zmount_env *env, const struct zspec_mount *m,
                      size_t index, struct zerr *e)
{
    struct zmount_opts o;
    int r;
    if (zmount_parse_options(m->options, m->n_options, &o, e) < 0)
        return zerr_prefix(e, "mounts[%zu] (%s)", index, m->destination ? m->destination : "");
    r = do_spec_mount(env, m, &o, e);
    zmount_opts_free(&o);
    if (r < 0)
        return zerr_prefix(e, "mounts[%zu] (%s)", index, m->destination ? m->destination : "");
    return 0;
}
