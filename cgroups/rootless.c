/* Cgroups when zone runs without root.
 *
 * An unprivileged user can only manage cgroups somebody delegated to it:
 * on cgroup v2 that is a subtree whose cgroup.procs and
 * cgroup.subtree_control belong to the user (systemd's Delegate=yes, or an
 * administrator's chown). The container then gets a child of the caller's
 * own cgroup. Without delegation zone runs the container without a cgroup
 * and refuses configs whose resource limits would silently be ignored.
 *
 * cgroup v1 and hybrid hosts are never treated as delegated: v1 controllers
 * cannot be handed to a user safely, and crun and runc do the same. */
#include "cgroups/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/userns.h"

bool zcg_rootless(int setting)
{
    if (setting >= 0)
        return setting != 0;
    return geteuid() != 0 || !zuserns_is_initial();
}

/* The catch-all rule of default configs: deny every device all access. */
static bool is_deny_all(const struct zspec_device_cgroup *d)
{
    return !d->allow && (!d->type || strcmp(d->type, "a") == 0) &&
           (!d->has_major || d->major < 0) && (!d->has_minor || d->minor < 0);
}

static bool cpu_requested(const struct zspec_cpu *c)
{
    return c && (c->has_shares || c->has_quota || c->has_period ||
                 c->has_burst || c->has_realtime_runtime ||
                 c->has_realtime_period || c->has_idle ||
                 (c->cpus && *c->cpus) || (c->mems && *c->mems));
}

/* Device rules restrict only through deny rules: a user namespace already
 * forbids mknod, and a rootless container sees just the device nodes its
 * config bind-mounts, so allow rules and the catch-all deny add nothing. */
static bool devices_restricted(const struct zspec_resources *r)
{
    for (size_t i = 0; i < r->n_devices; i++)
        if (!r->devices[i].allow && !is_deny_all(&r->devices[i]))
            return true;
    return false;
}

bool zcg_limits_requested(const struct zspec_resources *r)
{
    if (!r)
        return false;
    return zcg_memory_requested(r->memory) || cpu_requested(r->cpu) ||
           (r->pids && r->pids->has_limit) || zcg_blkio_requested(r->block_io) ||
           r->n_hugepage_limits ||
           (r->network && (r->network->has_class_id ||
                           r->network->n_priorities)) ||
           r->n_rdma || r->n_unified || devices_restricted(r);
}

/* Whether `dir` (a v2 cgroup directory) is delegated to us. */
static bool delegated_to_us(const char *dir, char *why, size_t why_size)
{
    static const char *const files[] = {"cgroup.procs", "cgroup.subtree_control"};
    char path[PATH_MAX];
    struct stat st;
    uid_t me = geteuid();

    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, files[i]) >=
            sizeof path) {
            snprintf(why, why_size, "cgroup path too long");
            return false;
        }
        if (stat(path, &st) < 0) {
            snprintf(why, why_size, "%s: %s", path, strerror(errno));
            return false;
        }
        if (st.st_uid != me) {
            snprintf(why, why_size, "%s belongs to uid %u, not to uid %u", path,
                     (unsigned)st.st_uid, (unsigned)me);
            return false;
        }
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(why, why_size, "%s: %s", dir, strerror(errno));
        return false;
    }
    return true;
}

/* Enables the available controllers of `dir` for its children. Not while
 * `dir` holds processes: the "no internal processes" rule refuses domain
 * controllers there, and threaded ones (cpu, pids, cpuset) alone would be
 * accepted, turning `dir` into a thread root whose new children cannot
 * take processes (EOPNOTSUPP). The container then has no controllers. */
static void enable_controllers(const char *dir)
{
    char avail[1024], procs[32], want[1024];
    char *save = NULL;
    size_t len = 0;
    struct zerr err;

    if (zcg_read(dir, "cgroup.procs", procs, sizeof procs, &err) < 0 ||
        zcg_read(dir, "cgroup.controllers", avail, sizeof avail, &err) < 0) {
        zdebug("rootless cgroup: %s", err.msg);
        return;
    }
    if (procs[0] != '\0' && procs[0] != '\n') {
        zdebug("rootless cgroup: %s holds processes; its children get no "
               "controllers", dir);
        return;
    }
    want[0] = '\0';
    for (char *c = strtok_r(avail, " \n", &save); c;
         c = strtok_r(NULL, " \n", &save)) {
        int w;
        if (zcg_file_has_word(dir, "cgroup.subtree_control", c))
            continue;
        w = snprintf(want + len, sizeof want - len, "%s+%s", len ? " " : "", c);
        if (w < 0 || (size_t)w >= sizeof want - len)
            return;
        len += (size_t)w;
    }
    if (!len || zcg_write(dir, "cgroup.subtree_control", want, &err) == 0)
        return;
    /* Some controllers stay root-only (cpuset answers EIO to a user): take
     * the others. Safe one by one here, as `dir` holds no processes. */
    zdebug("rootless cgroup: %s; enabling controllers one by one", err.msg);
    save = NULL;
    for (char *c = strtok_r(want, " ", &save); c; c = strtok_r(NULL, " ", &save))
        if (zcg_write(dir, "cgroup.subtree_control", c, &err) < 0)
            zdebug("rootless cgroup: %s", err.msg);
}

/* Whether the cgroup `own` (below mountpoint mp) holds processes and its
 * parent is delegated to us: a container placed below `own` could get no
 * controllers (the "no internal processes" rule), one placed beside it can. */
static bool beside_own(const char *mp, const char *own)
{
    char dir[PATH_MAX], procs[32], why[256];
    const char *slash = strrchr(own, '/');
    struct zerr ignored;

    if (!slash || slash == own)
        return false;   /* own is the root or a top-level cgroup */
    if ((size_t)snprintf(dir, sizeof dir, "%s%s", mp, own) >= sizeof dir ||
        zcg_read(dir, "cgroup.procs", procs, sizeof procs, &ignored) < 0 ||
        procs[0] == '\0' || procs[0] == '\n')
        return false;
    if ((size_t)snprintf(dir, sizeof dir, "%s%.*s", mp, (int)(slash - own), own) >= sizeof dir)
        return false;
    return delegated_to_us(dir, why, sizeof why);
}

/* The container's path: an absolute cgroupsPath as is, a relative one
 * below the caller's cgroup `own`, none as <own>/zone-<id>, or as a sibling
 * of `own` when that is where limits can apply (see beside_own). */
static char *container_path(const char *mp, const char *own, const char *cgroups_path,
                            const char *id, struct zerr *e)
{
    _cleanup_free_ char *joined = NULL;
    const char *base = strcmp(own, "/") == 0 ? "" : own;
    int rc;

    if (cgroups_path && cgroups_path[0] == '/')
        return zcg_normalize_path(cgroups_path, e);
    if (cgroups_path && *cgroups_path)
        rc = asprintf(&joined, "%s/%s", base, cgroups_path);
    else if (beside_own(mp, own))
        rc = asprintf(&joined, "%.*s/zone-%s", (int)(strrchr(own, '/') - own), own, id);
    else
        rc = asprintf(&joined, "%s/zone-%s", base, id);
    if (rc < 0) {
        joined = NULL;
        zerr_sys(e, "rootless cgroup");
        return NULL;
    }
    return zcg_normalize_path(joined, e);
}

/* Length of the deepest existing directory above the leaf of `path`, never
 * shorter than the hierarchy's mountpoint (mp_len). */
static size_t existing_parent_len(const char *path, size_t mp_len)
{
    char buf[PATH_MAX];
    struct stat st;
    size_t len = strlen(path);

    memcpy(buf, path, len + 1);
    while (len > mp_len) {
        while (len > mp_len && buf[len - 1] != '/')
            len--;
        if (len > mp_len)
            len--; /* drop the slash */
        buf[len] = '\0';
        if (len <= mp_len || (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)))
            break;
    }
    return len < mp_len ? mp_len : len;
}

int zcg_create_rootless(const char *cgroups_path, const char *id,
                        struct zcgroup **out, char *why, size_t why_size,
                        struct zerr *e)
{
    _cleanup_free_ char *text = NULL, *own = NULL, *rel = NULL;
    _cleanup_free_ char *serialized = NULL;
    char base[PATH_MAX], path[PATH_MAX];
    const struct zcg_layout *l;
    const char *mp;
    size_t base_len, first_made = 0;
    struct zcgroup *cg;

    *out = NULL;
    if (!(l = zcg_host_layout(e)))
        return -1;
    if (l->mode != ZCG_V2 || l->n != 1) {
        snprintf(why, why_size, "this host uses cgroup %s; only cgroup v2 can "
                 "be delegated", zcg_mode_name(l->mode));
        return 0;
    }
    mp = strcmp(l->h[0].mountpoint, "/") == 0 ? "" : l->h[0].mountpoint;
    if (!(text = zcg_read_all("/proc/self/cgroup", e)) ||
        !(own = zcg_own_path(text, &l->h[0], e)) ||
        !(rel = container_path(mp, own, cgroups_path, id, e)))
        return -1;
    if ((size_t)snprintf(path, sizeof path, "%s%s", mp, rel) >= sizeof path)
        return zerr_set(e, ENAMETOOLONG, "rootless cgroup: path too long: %s", rel);
    base_len = existing_parent_len(path, strlen(mp));
    snprintf(base, sizeof base, "%.*s", (int)base_len, path);
    if (!delegated_to_us(base, why, why_size))
        return 0;

    /* Create each missing level below the delegated one, passing the
     * controllers down the way. */
    for (size_t i = base_len + 1, prev = base_len; i <= strlen(path); i++) {
        char saved = path[i];
        if (saved != '/' && saved != '\0')
            continue;
        path[prev] = '\0';
        enable_controllers(path);
        path[prev] = '/';
        path[i] = '\0';
        if (mkdir(path, 0755) == 0) {
            if (!first_made)
                first_made = i;
        } else if (errno != EEXIST) {
            zerr_sys(e, "rootless cgroup: mkdir %s", path);
            path[i] = saved;
            goto fail;
        }
        path[i] = saved;
        prev = i;
    }
    if (asprintf(&serialized, "%s %s", zcg_mode_name(l->mode), rel) < 0) {
        serialized = NULL;
        zerr_sys(e, "rootless cgroup");
        goto fail;
    }
    if (!(cg = zcg_open_in(l, serialized, e)))
        goto fail;
    zdebug("rootless cgroup: using %s (delegated %s)", rel, base);
    *out = cg;
    return 0;
fail:
    if (first_made) {
        struct zerr ignored;
        path[first_made] = '\0';
        if (zcg_rmdir_tree(path, &ignored) < 0)
            zwarn("%s", ignored.msg);
    }
    return -1;
}

int zcg_rootless_setup(const char *cgroups_path, const char *id,
                       const struct zspec_resources *r, struct zcgroup **out,
                       struct zerr *e)
{
    char why[PATH_MAX + 128] = "";

    if (zcg_create_rootless(cgroups_path, id, out, why, sizeof why, e) < 0)
        return -1;
    if (*out)
        return 0;
    if (zcg_limits_requested(r))
        return zerr_set(e, EPERM, "%s: %s", ZCG_ROOTLESS_LIMITS_MSG, why);
    zwarn("running rootless without a delegated cgroup; not using cgroups (%s)",
          why);
    return 0;
}

int zcg_rootless_apply(const struct zcgroup *cg, const struct zspec_resources *r,
                       const struct zspec_resources *with_device_rules,
                       struct zerr *e)
{
    struct zspec_resources no_devices;

    if (!zcg_limits_requested(r))
        return 0;
    /* Device programs need CAP_SYS_ADMIN on the host: ask for them only
     * when the config really restricts devices, and fail then. */
    if (devices_restricted(r)) {
        if (zcg_apply(cg, with_device_rules, e) < 0)
            return zerr_prefix(e, "%s", ZCG_ROOTLESS_LIMITS_MSG);
        return 0;
    }
    no_devices = *r;
    no_devices.devices = NULL;
    no_devices.n_devices = 0;
    if (zcg_apply(cg, &no_devices, e) < 0)
        return zerr_prefix(e, "%s", ZCG_ROOTLESS_LIMITS_MSG);
    return 0;
}
