/* The container's cgroup across every hierarchy of the host.
 *
 * Design decision: zone writes cgroupfs files directly instead of using
 * libcgroup. libcgroup's cgroup_init() scans and caches the whole mount
 * table and every controller on each start, which costs more than all of
 * our cgroup work for one container, and its model (one hierarchy per
 * controller, or unified) does not describe the hybrid split, where v1
 * controllers and a controller-less cgroup2 mount coexist and a container
 * must live in both. We read /proc/self/mountinfo once (or only statfs on a
 * pure v2 host) and write the few files each operation needs.
 *
 * Hybrid hosts: the container gets a directory in every v1 hierarchy and in
 * the cgroup2 one, so cgroup.kill, cgroup.events and process tracking work
 * there while the resource limits go to the v1 controllers. */
#include "cgroups/internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static char **strv_dup(char *const *v)
{
    size_t n = 0;
    char **out;
    if (!v)
        return NULL;
    while (v[n])
        n++;
    out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(out[i] = strdup(v[i]))) {
            strv_free(out);
            return NULL;
        }
    }
    return out;
}

void zcg_free(struct zcgroup *cg)
{
    if (!cg)
        return;
    for (size_t i = 0; i < cg->n; i++) {
        free(cg->d[i].key);
        free(cg->d[i].mount_name);
        strv_free(cg->d[i].controllers);
        free(cg->d[i].rel);
        free(cg->d[i].path);
    }
    free(cg->d);
    free(cg->rel);
    zcg_systemd_free(cg->sd);
    free(cg);
}

enum zcg_mode zcg_mode_of(const struct zcgroup *cg) { return cg->mode; }
const char *zcg_path(const struct zcgroup *cg) { return cg->rel; }

/* Fills d from hierarchy h with the container path rel. */
static int dir_init(struct zcg_dir *d, const struct zcg_hier *h,
                    enum zcg_mode mode, const char *rel, struct zerr *e)
{
    const char *base = strrchr(h->mountpoint, '/');
    const char *mp = strcmp(h->mountpoint, "/") == 0 ? "" : h->mountpoint;

    d->v2 = h->v2;
    d->key = strdup(h->key);
    d->mount_name = strdup(h->v2 && mode == ZCG_V2 ? "" : base ? base + 1
                                                          : h->mountpoint);
    d->rel = strdup(rel);
    if (h->controllers && !(d->controllers = strv_dup(h->controllers)))
        return zerr_sys(e, "cgroup");
    if (!d->key || !d->mount_name || !d->rel ||
        asprintf(&d->path, "%s%s", mp, rel) < 0) {
        d->path = NULL;
        return zerr_sys(e, "cgroup");
    }
    if (strlen(d->path) >= PATH_MAX)
        return zerr_set(e, ENAMETOOLONG, "cgroup: path too long: %s", d->path);
    return 0;
}

static struct zcgroup *cg_alloc(const struct zcg_layout *l, struct zerr *e)
{
    struct zcgroup *cg = calloc(1, sizeof *cg);
    if (!cg || !(cg->d = calloc(l->n ? l->n : 1, sizeof *cg->d))) {
        free(cg);
        zerr_sys(e, "cgroup");
        return NULL;
    }
    cg->mode = l->mode;
    return cg;
}

/* mkdir of every missing level from the mountpoint down; *first_created is
 * the length of the shallowest directory made (0 when none). */
static int mkdir_levels(const char *path, size_t root_len, size_t *first_created,
                        struct zerr *e)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    *first_created = 0;
    /* The parents usually exist (zone/ in each hierarchy): one mkdir of
     * the leaf, and the walk from the top only when one is missing. */
    if (len > root_len && mkdir(path, 0755) == 0) {
        *first_created = len;
        return 0;
    }
    if (len > root_len && errno == EEXIST)
        return 0;
    memcpy(buf, path, len + 1);
    for (size_t i = root_len + 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0) {
            if (!*first_created)
                *first_created = i;
        } else if (errno != EEXIST) {
            return zerr_sys(e, "cgroup: mkdir %s", buf);
        }
        buf[i] = path[i];
    }
    return 0;
}

/* Per-level setup from the hierarchy root to the leaf: on v2 every
 * ancestor must delegate its controllers; on v1 cpuset every level needs
 * cpus/mems before a task may join. */
static int setup_levels(const struct zcg_dir *d, size_t root_len,
                        struct zerr *e)
{
    char buf[PATH_MAX], parent[PATH_MAX];
    size_t len = strlen(d->path);
    bool cpuset = false;

    for (char **c = d->controllers; c && *c; c++)
        if (strcmp(*c, "cpuset") == 0)
            cpuset = true;
    if (!d->v2 && !cpuset)
        return 0;
    memcpy(buf, d->path, len + 1);
    memcpy(parent, d->path, root_len);
    parent[root_len] = '\0';
    if (root_len == 0)
        snprintf(parent, sizeof parent, "/");
    for (size_t i = root_len + 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (d->v2) {
            if (zcg_v2_enable_controllers(parent, e) < 0)
                return -1;
        } else if (zcg_v1_cpuset_inherit(parent, buf, e) < 0) {
            return -1;
        }
        memcpy(parent, buf, i + 1);
        buf[i] = d->path[i];
    }
    return 0;
}

static char *read_own_cgroup_text(struct zerr *e)
{
    return zcg_read_all("/proc/self/cgroup", e);
}

struct zcgroup *zcg_resolve_in(const struct zcg_layout *l,
                               const char *proc_cgroup_text,
                               const char *cgroups_path, const char *id,
                               bool systemd, bool systemd_running,
                               struct zerr *e)
{
    _cleanup_free_ char *own_text = NULL;
    struct zcgroup *cg;
    bool relative = !systemd && cgroups_path && *cgroups_path &&
                    cgroups_path[0] != '/';

    if (systemd && !systemd_running) {
        zerr_set(e, ENOENT, "systemd cgroup driver: systemd is not running "
                 "(no /run/systemd/system)");
        return NULL;
    }
    if (relative && !proc_cgroup_text) {
        if (!(own_text = read_own_cgroup_text(e)))
            return NULL;
        proc_cgroup_text = own_text;
    }
    if (!(cg = cg_alloc(l, e)))
        return NULL;
    if (systemd && !(cg->sd = zcg_systemd_new(cgroups_path, id, l->mode, e)))
        goto fail;
    for (size_t i = 0; i < l->n; i++) {
        _cleanup_free_ char *own = NULL, *rel = NULL;
        if (relative && !(own = zcg_own_path(proc_cgroup_text, &l->h[i], e)))
            goto fail;
        if (!(rel = zcg_resolve_path(cgroups_path, id, systemd, own, e)))
            goto fail;
        if (dir_init(&cg->d[i], &l->h[i], l->mode, rel, e) < 0) {
            cg->n = i + 1;
            goto fail;
        }
        cg->n = i + 1;
        /* The path most hierarchies share: the v2 one, else the first. */
        if (!cg->rel || l->h[i].v2) {
            free(cg->rel);
            if (!(cg->rel = strdup(rel))) {
                zerr_sys(e, "cgroup");
                goto fail;
            }
        }
    }
    return cg;
fail:
    zcg_free(cg);
    return NULL;
}

int zcg_make(struct zcgroup *cg, bool v2, struct zerr *e)
{
    for (size_t i = 0; i < cg->n; i++) {
        struct zcg_dir *d = &cg->d[i];
        size_t root_len = strlen(d->path) - strlen(d->rel);
        if (d->v2 != v2)
            continue;
        if (mkdir_levels(d->path, root_len, &d->created, e) < 0 ||
            setup_levels(d, root_len, e) < 0)
            return -1;
    }
    return 0;
}

size_t zcg_v1_count(const struct zcgroup *cg)
{
    size_t n = 0;
    for (size_t i = 0; i < cg->n; i++)
        n += !cg->d[i].v2;
    return n;
}

void zcg_unmake(struct zcgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++) {
        struct zerr ignored;
        char top[PATH_MAX];
        if (!cg->d[i].created)
            continue;
        snprintf(top, sizeof top, "%.*s", (int)cg->d[i].created, cg->d[i].path);
        if (zcg_rmdir_tree(top, &ignored) < 0)
            zwarn("%s", ignored.msg);
        cg->d[i].created = 0;
    }
}

/* Makes every directory of a resolved cg; on failure removes only what
 * this made, and frees cg. */
static struct zcgroup *make_all(struct zcgroup *cg, struct zerr *e)
{
    if (!cg)
        return NULL;
    if (zcg_make(cg, true, e) < 0 || zcg_make(cg, false, e) < 0) {
        zcg_unmake(cg);
        zcg_free(cg);
        return NULL;
    }
    zdebug("cgroup: created %s (%s)", cg->rel, zcg_mode_name(cg->mode));
    return cg;
}

struct zcgroup *zcg_create_in(const struct zcg_layout *l,
                              const char *proc_cgroup_text,
                              const char *cgroups_path, const char *id,
                              bool systemd, bool systemd_running,
                              struct zerr *e)
{
    return make_all(zcg_resolve_in(l, proc_cgroup_text, cgroups_path, id, systemd,
                                   systemd_running, e), e);
}

struct zcgroup *zcg_resolve(const char *cgroups_path, const char *id,
                            bool systemd, struct zerr *e)
{
    const struct zcg_layout *l = zcg_host_layout(e);
    bool running = systemd && access(zcg_systemd_runtime_dir(), F_OK) == 0;
    if (!l)
        return NULL;
    return zcg_resolve_in(l, NULL, cgroups_path, id, systemd, running, e);
}

struct zcgroup *zcg_create(const char *cgroups_path, const char *id,
                           bool systemd, struct zerr *e)
{
    return make_all(zcg_resolve(cgroups_path, id, systemd, e), e);
}

char *zcg_serialize(const struct zcgroup *cg)
{
    size_t size = strlen(cg->rel) + 16;
    char *out, *p;

    if (cg->sd)
        size += strlen(ZCG_SYSTEMD_STATE_KEY) + strlen(cg->sd->unit) +
                strlen(cg->sd->slice) + 3;

    for (size_t i = 0; i < cg->n; i++)
        if (strcmp(cg->d[i].rel, cg->rel) != 0)
            size += strlen(cg->d[i].key) + strlen(cg->d[i].rel) + 2;
    if (!(out = malloc(size)))
        return NULL;
    p = out + sprintf(out, "%s %s\n", zcg_mode_name(cg->mode), cg->rel);
    for (size_t i = 0; i < cg->n; i++)
        if (strcmp(cg->d[i].rel, cg->rel) != 0)
            p += sprintf(p, "%s %s\n", cg->d[i].key, cg->d[i].rel);
    if (cg->sd)
        sprintf(p, "%s %s %s\n", ZCG_SYSTEMD_STATE_KEY, cg->sd->unit,
                cg->sd->slice);
    return out;
}

/* The path recorded for hierarchy `key`, or NULL (use the default). */
static const char *find_override(char *lines, const char *key)
{
    size_t kl = strlen(key);
    for (char *l = lines; l && *l;) {
        char *nl = strchr(l, '\n');
        if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
            if (nl)
                *nl = '\0';
            return l + kl + 1;
        }
        l = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static bool has_freezer(const struct zcg_hier *h)
{
    if (h->v2)
        return true;
    for (char **c = h->controllers; c && *c; c++)
        if (!strcmp(*c, "freezer"))
            return true;
    return false;
}

/* only_freezer: just the hierarchies that can freeze (what the status of
 * a container needs: `list` asks it of every container). */
static struct zcgroup *open_in(const struct zcg_layout *l, const char *serialized,
                               bool only_freezer, struct zerr *e)
{
    _cleanup_free_ char *copy = strdup(serialized ? serialized : "");
    _cleanup_free_ char *rel = NULL;
    struct zcgroup *cg;
    char *sp, *nl, *rest;

    if (!copy) {
        zerr_sys(e, "cgroup");
        return NULL;
    }
    nl = strchr(copy, '\n');
    rest = nl ? nl + 1 : NULL;
    if (nl)
        *nl = '\0';
    sp = strchr(copy, ' ');
    if (!sp) {
        zerr_set(e, EINVAL, "cgroup: state \"%s\": expected \"<mode> <path>\"",
                 copy);
        return NULL;
    }
    *sp = '\0';
    if (strcmp(copy, zcg_mode_name(l->mode)) != 0) {
        zerr_set(e, EINVAL, "cgroup: state was recorded on a cgroup %s host; "
                 "this host is cgroup %s", copy, zcg_mode_name(l->mode));
        return NULL;
    }
    if (!(rel = zcg_normalize_path(sp + 1, e)))
        return NULL;
    if (!(cg = cg_alloc(l, e)))
        return NULL;
    cg->rel = steal_ptr(&rel);
    if (rest) {
        _cleanup_free_ char *lines = strdup(rest);
        const char *unit = lines ? find_override(lines, ZCG_SYSTEMD_STATE_KEY)
                                 : NULL;
        if (!lines) {
            zerr_sys(e, "cgroup");
            goto fail;
        }
        if (unit && !(cg->sd = zcg_systemd_parse(unit, l->mode, e)))
            goto fail;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (only_freezer && !has_freezer(&l->h[i]))
            continue;
        /* find_override cuts lines in place: search a fresh copy each time */
        _cleanup_free_ char *lines = rest ? strdup(rest) : NULL;
        _cleanup_free_ char *over = NULL;
        const char *o = lines ? find_override(lines, l->h[i].key) : NULL;
        if (rest && !lines) {
            zerr_sys(e, "cgroup");
            goto fail;
        }
        if (o && !(over = zcg_normalize_path(o, e)))
            goto fail;
        if (dir_init(&cg->d[cg->n++], &l->h[i], l->mode, over ? over : cg->rel, e) < 0)
            goto fail;
    }
    return cg;
fail:
    zcg_free(cg);
    return NULL;
}

struct zcgroup *zcg_open_in(const struct zcg_layout *l, const char *serialized,
                            struct zerr *e)
{
    return open_in(l, serialized, false, e);
}

int zcg_record_is_frozen(const char *serialized, bool *frozen, struct zerr *e)
{
    const struct zcg_layout *l = zcg_host_layout(e);
    struct zcgroup *cg = l ? open_in(l, serialized, true, e) : NULL;
    int rc;
    if (!cg)
        return -1;
    rc = zcg_is_frozen(cg, frozen, e);
    zcg_free(cg);
    return rc;
}

struct zcgroup *zcg_open(const char *serialized, struct zerr *e)
{
    const struct zcg_layout *l = zcg_host_layout(e);
    if (!l)
        return NULL;
    return zcg_open_in(l, serialized, e);
}

const struct zcg_dir *zcg_dir_v2(const struct zcgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cg->d[i].v2)
            return &cg->d[i];
    return NULL;
}

const struct zcg_dir *zcg_dir_v1(const struct zcgroup *cg, const char *ctrl)
{
    for (size_t i = 0; i < cg->n; i++)
        for (char **c = cg->d[i].controllers; !cg->d[i].v2 && c && *c; c++)
            if (strcmp(*c, ctrl) == 0)
                return &cg->d[i];
    return NULL;
}

const struct zcg_dir *zcg_dir_for(const struct zcgroup *cg, const char *ctrl)
{
    const struct zcg_dir *d = zcg_dir_v1(cg, ctrl);
    if (d)
        return d;
    d = zcg_dir_v2(cg);
    if (d && zcg_file_has_word(d->path, "cgroup.controllers", ctrl))
        return d;
    return NULL;
}

int zcg_enter(const struct zcgroup *cg, pid_t pid, struct zerr *e)
{
    /* systemd moves the first pid into the scope in the hierarchies it
     * manages; the writes below cover the others. */
    if (cg->sd && !cg->sd->started && zcg_systemd_start(cg->sd, pid, e) < 0)
        return -1;
    for (size_t i = 0; i < cg->n; i++)
        if (zcg_write_i64(cg->d[i].path, "cgroup.procs", pid, e) < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------ apply */

bool zcg_memory_requested(const struct zspec_memory *m)
{
    return m && (m->has_limit || m->has_reservation || m->has_swap ||
                 m->has_swappiness || m->has_disable_oom_killer ||
                 m->has_kernel || m->has_kernel_tcp || m->has_use_hierarchy);
}

static bool cpu_requested(const struct zspec_cpu *c)
{
    return c && (c->has_shares || c->has_quota || c->has_period ||
                 c->has_burst || c->has_realtime_runtime ||
                 c->has_realtime_period || c->has_idle);
}

static bool cpuset_requested(const struct zspec_cpu *c)
{
    return c && ((c->cpus && *c->cpus) || (c->mems && *c->mems));
}

static const struct zcg_dir *need_dir(const struct zcgroup *cg, const char *ctrl,
                                      struct zerr *e)
{
    const struct zcg_dir *d = zcg_dir_for(cg, ctrl);
    if (!d)
        zerr_set(e, ENOENT, "cgroup: the %s controller is not available for "
                 "%s on this host", ctrl, cg->rel);
    return d;
}

int zcg_apply(const struct zcgroup *cg, const struct zspec_resources *r,
              struct zerr *e)
{
    const struct zcg_dir *d;

    if (!r)
        return 0;
    if (cg->sd)
        zcg_systemd_note_resources(cg->sd, r);
    /* Refuse bad unified keys before changing anything. */
    for (size_t i = 0; i < r->n_unified; i++)
        if (zcg_unified_key_check(r->unified[i].key, e) < 0)
            return -1;
    if (r->n_unified && !zcg_dir_v2(cg))
        return zerr_set(e, EINVAL, "linux.resources.unified: this host has "
                        "no cgroup v2 hierarchy (pure cgroup v1)");
    if (zcg_memory_requested(r->memory)) {
        if (!(d = need_dir(cg, "memory", e)) ||
            (d->v2 ? zcg_v2_memory(d->path, r->memory, e)
                   : zcg_v1_memory(d->path, r->memory, e)) < 0)
            return -1;
    }
    if (cpu_requested(r->cpu)) {
        if (!(d = need_dir(cg, "cpu", e)) ||
            (d->v2 ? zcg_v2_cpu(d->path, r->cpu, e)
                   : zcg_v1_cpu(d->path, r->cpu, e)) < 0)
            return -1;
    }
    if (cpuset_requested(r->cpu)) {
        if (!(d = need_dir(cg, "cpuset", e)) ||
            (d->v2 ? zcg_v2_cpuset(d->path, r->cpu, e)
                   : zcg_v1_cpuset(d->path, r->cpu, e)) < 0)
            return -1;
    }
    if (r->pids && r->pids->has_limit) {
        if (!(d = need_dir(cg, "pids", e)) ||
            (d->v2 ? zcg_v2_pids(d->path, r->pids, e)
                   : zcg_v1_pids(d->path, r->pids, e)) < 0)
            return -1;
    }
    /* The v1 devices controller wherever the host mounts it (hybrid too);
     * on pure v2, an eBPF device program on the unified directory. */
    if (r->n_devices && (d = zcg_dir_v1(cg, "devices"))) {
        if (zcg_v1_devices(d->path, r->devices, r->n_devices, e) < 0)
            return -1;
    } else if (r->n_devices && (d = zcg_dir_v2(cg)) &&
               zcg_v2_devices(d->path, r->devices, r->n_devices, e) < 0) {
        return -1;
    }
    if (zcg_blkio_requested(r->block_io)) {
        if (!(d = zcg_resource_dir(cg, "linux.resources.blockIO", "blkio",
                                   "io", e)) ||
            (d->v2 ? zcg_v2_io(d->path, r->block_io, e)
                   : zcg_v1_blkio(d->path, r->block_io, e)) < 0)
            return -1;
    }
    if (r->n_hugepage_limits) {
        if (!(d = zcg_resource_dir(cg, "linux.resources.hugepageLimits",
                                   "hugetlb", "hugetlb", e)) ||
            (d->v2 ? zcg_v2_hugetlb(d->path, r->hugepage_limits,
                                    r->n_hugepage_limits, e)
                   : zcg_v1_hugetlb(d->path, r->hugepage_limits,
                                    r->n_hugepage_limits, e)) < 0)
            return -1;
    }
    if (r->network && r->network->has_class_id &&
        (!(d = zcg_resource_dir(cg, "linux.resources.network.classID",
                                "net_cls", NULL, e)) ||
         zcg_v1_net_cls(d->path, r->network, e) < 0))
        return -1;
    if (r->network && r->network->n_priorities &&
        (!(d = zcg_resource_dir(cg, "linux.resources.network.priorities",
                                "net_prio", NULL, e)) ||
         zcg_v1_net_prio(d->path, r->network, e) < 0))
        return -1;
    if (r->n_rdma &&
        (!(d = zcg_resource_dir(cg, "linux.resources.rdma", "rdma", "rdma",
                                e)) ||
         zcg_rdma(d->path, r->rdma, r->n_rdma, e) < 0))
        return -1;
    /* Last, so explicit unified values win over the translated ones. */
    if (r->n_unified &&
        zcg_v2_unified(zcg_dir_v2(cg)->path, r->unified, r->n_unified, e) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ destroy */

int zcg_destroy(const struct zcgroup *cg, bool force, struct zerr *e)
{
    struct zerr first = {0};
    bool failed = false;

    if (force) {
        struct zerr kerr;
        if (zcg_kill_all(cg, SIGKILL, &kerr) < 0 && kerr.code != ENOENT)
            zwarn("%s", kerr.msg);
    }
    /* A systemd that cannot be reached must not keep the container from
     * being deleted: warn, and remove the directories anyway. */
    if (cg->sd) {
        struct zerr serr;
        if (zcg_systemd_stop(cg->sd, &serr) < 0)
            zwarn("%s", serr.msg);
    }
    for (size_t i = 0; i < cg->n; i++) {
        struct zerr one;
        if (zcg_rmdir_tree(cg->d[i].path, &one) < 0 && !failed) {
            first = one;
            failed = true;
        }
    }
    if (failed) {
        *e = first;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ mounts */

void zcg_mount_entries_free(struct zcg_mount_entry *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].host_path);
        strv_free(m[i].symlinks);
    }
    free(m);
}

/* "cpu,cpuacct" mounted as "cpu,cpuacct": links "cpu" and "cpuacct". */
static char **symlinks_for(const struct zcg_dir *d, bool *oom)
{
    size_t n = 0, k = 0;
    char **out;

    *oom = false;
    if (d->v2 || !d->controllers)
        return NULL;
    for (char **c = d->controllers; *c; c++)
        if (strncmp(*c, "name=", 5) != 0)
            n++;
    if (n < 2)
        return NULL;
    if (!(out = calloc(n + 1, sizeof *out))) {
        *oom = true;
        return NULL;
    }
    for (char **c = d->controllers; *c; c++) {
        if (strncmp(*c, "name=", 5) == 0 || strcmp(*c, d->mount_name) == 0)
            continue;
        if (!(out[k++] = strdup(*c))) {
            strv_free(out);
            *oom = true;
            return NULL;
        }
    }
    if (k == 0) {
        free(out);
        return NULL;
    }
    return out;
}

int zcg_mount_entries(const struct zcgroup *cg, struct zcg_mount_entry **out,
                      size_t *n, struct zerr *e)
{
    struct zcg_mount_entry *m = calloc(cg->n ? cg->n : 1, sizeof *m);
    if (!m)
        return zerr_sys(e, "cgroup: mount entries");
    for (size_t i = 0; i < cg->n; i++) {
        bool oom;
        m[i].v2 = cg->d[i].v2;
        m[i].name = strdup(cg->d[i].mount_name);
        m[i].host_path = strdup(cg->d[i].path);
        m[i].symlinks = symlinks_for(&cg->d[i], &oom);
        if (!m[i].name || !m[i].host_path || oom) {
            zcg_mount_entries_free(m, cg->n);
            return zerr_sys(e, "cgroup: mount entries");
        }
    }
    *out = m;
    *n = cg->n;
    return 0;
}
