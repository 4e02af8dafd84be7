/* linux.resources -> cgroup v2 files, in the container's directory of the
 * cgroup2 hierarchy (on a hybrid host, for the controllers bound there).
 * Device rules are not translated here: v2 has no devices files, access
 * control there is an eBPF program attached to the cgroup
 * (BPF_CGROUP_DEVICE), built by its own file. */
#include "cgroups/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/log.h"

int zcg_v2_memory(const char *dir, const struct zspec_memory *m,
                  struct zerr *e)
{
    char buf[32];
    bool set_swap;

    if (!m)
        return 0;
    if (zcg_swap_v2_value(m, buf, sizeof buf, &set_swap, e) < 0)
        return -1;
    if (zcg_memory_check_usage(dir, "memory.current", m, e) < 0)
        return -1;
    if (m->has_reservation) {
        char low[32];
        zcg_v2_limit_value(m->reservation, low, sizeof low);
        if (zcg_write(dir, "memory.low", low, e) < 0)
            return -1;
    }
    if (m->has_limit) {
        char max[32];
        zcg_v2_limit_value(m->limit, max, sizeof max);
        if (zcg_write(dir, "memory.max", max, e) < 0)
            return -1;
    }
    if (set_swap) {
        if (zcg_file_exists(dir, "memory.swap.max")) {
            if (zcg_write(dir, "memory.swap.max", buf, e) < 0)
                return -1;
        } else if (m->has_swap) {
            zwarn("cgroup: swap accounting is off on this host; ignoring "
                  "linux.resources.memory.swap");
        }
    }
    /* cgroup v2 has neither a per-cgroup swappiness nor an OOM-killer
     * switch; runc ignores both there too. */
    if (m->has_swappiness)
        zdebug("cgroup: memory.swappiness has no cgroup v2 equivalent; ignored");
    if (m->has_disable_oom_killer && m->disable_oom_killer)
        zdebug("cgroup: disableOOMKiller has no cgroup v2 equivalent; ignored");
    /* v2 charges kernel memory to memory.max and is always hierarchical. */
    if ((m->has_kernel && m->kernel != 0) ||
        (m->has_kernel_tcp && m->kernel_tcp != 0))
        zwarn("cgroup: linux.resources.memory.kernel/kernelTCP have no cgroup "
              "v2 equivalent (kernel memory counts toward memory.max); "
              "ignored");
    if (m->has_use_hierarchy && !m->use_hierarchy)
        zwarn("cgroup: cgroup v2 is always hierarchical; ignoring "
              "linux.resources.memory.useHierarchy=false");
    return 0;
}

static int write_cpu_max(const char *dir, const struct zspec_cpu *c,
                         struct zerr *e)
{
    bool set_quota = c->has_quota && c->quota != 0;
    bool set_period = c->has_period && c->period != 0;
    char quota[64], value[96];

    if (!set_quota && !set_period)
        return 0;
    if (set_quota) {
        zcg_v2_limit_value(c->quota, quota, sizeof quota);
    } else {
        /* Only the period changes: keep the current quota. */
        char cur[64];
        struct zerr ignored;
        snprintf(quota, sizeof quota, "max");
        if (zcg_read(dir, "cpu.max", cur, sizeof cur, &ignored) > 0) {
            char *sp = strchr(cur, ' ');
            if (sp)
                *sp = '\0';
            snprintf(quota, sizeof quota, "%s", cur);
        }
    }
    if (set_period)
        snprintf(value, sizeof value, "%s %" PRIu64, quota, c->period);
    else
        snprintf(value, sizeof value, "%s", quota);
    return zcg_write(dir, "cpu.max", value, e);
}

int zcg_v2_cpu(const char *dir, const struct zspec_cpu *c, struct zerr *e)
{
    if (!c)
        return 0;
    if ((c->has_realtime_runtime && c->realtime_runtime != 0) ||
        (c->has_realtime_period && c->realtime_period != 0))
        return zerr_set(e, EINVAL,
                        "linux.resources.cpu: realtimeRuntime/realtimePeriod "
                        "are not supported on cgroup v2");
    if (c->has_shares && c->shares != 0 &&
        zcg_write_u64(dir, "cpu.weight", zcg_shares_to_weight(c->shares), e) < 0)
        return -1;
    if (write_cpu_max(dir, c, e) < 0)
        return -1;
    if (c->has_burst && zcg_write_u64(dir, "cpu.max.burst", c->burst, e) < 0)
        return -1;
    if (c->has_idle && zcg_write_i64(dir, "cpu.idle", c->idle, e) < 0)
        return -1;
    return 0;
}

/* Weights: BFQ takes blkio weights as they are; io.weight (iocost) has a
 * wider range, so blkio weights are converted. */
static int v2_weights(const char *dir, const struct zspec_blkio *b,
                      struct zerr *e)
{
    bool bfq = zcg_file_exists(dir, "io.bfq.weight");
    const char *file = bfq ? "io.bfq.weight" : "io.weight";
    char line[64];

    if (!bfq && !zcg_file_exists(dir, "io.weight") &&
        ((b->has_weight && b->weight) || b->n_weight_device))
        return zerr_set(e, ENOTSUP,
                        "linux.resources.blockIO.weight: %s has neither "
                        "io.bfq.weight nor io.weight (no BFQ scheduler or "
                        "iocost in this kernel)", dir);
    if (b->has_weight && b->weight) {
        if (zcg_blkio_weight_check("linux.resources.blockIO.weight",
                                   b->weight, e) < 0)
            return -1;
        snprintf(line, sizeof line, "default %" PRIu64,
                 bfq ? b->weight : zcg_blkio_weight_to_io(b->weight));
        if (zcg_write(dir, file, line, e) < 0)
            return -1;
    }
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const struct zspec_weight_device *w = &b->weight_device[i];
        if (!w->has_weight || !w->weight)
            continue;
        if (zcg_blkio_weight_check("linux.resources.blockIO.weightDevice."
                                   "weight", w->weight, e) < 0 ||
            zcg_dev_value_line("linux.resources.blockIO.weightDevice", i,
                               w->major, w->minor,
                               bfq ? w->weight
                                   : zcg_blkio_weight_to_io(w->weight),
                               line, sizeof line, e) < 0 ||
            zcg_write(dir, file, line, e) < 0)
            return -1;
    }
    return 0;
}

int zcg_v2_io(const char *dir, const struct zspec_blkio *b, struct zerr *e)
{
    _cleanup_free_ struct zcg_io_max *max = NULL;
    size_t n = 0;
    bool leaf = b && b->has_leaf_weight && b->leaf_weight;

    if (!b)
        return 0;
    for (size_t i = 0; i < b->n_weight_device; i++)
        leaf = leaf || (b->weight_device[i].has_leaf_weight &&
                        b->weight_device[i].leaf_weight);
    /* runc and crun ignore leaf weights on v2 as well. */
    if (leaf)
        zwarn("cgroup: linux.resources.blockIO leafWeight has no cgroup v2 "
              "equivalent; ignored");
    if (v2_weights(dir, b, e) < 0)
        return -1;
    if (zcg_io_max_collect(b, &max, &n, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char line[160];
        if (zcg_io_max_line(&max[i], line, sizeof line, e) < 0 ||
            zcg_write(dir, "io.max", line, e) < 0)
            return -1;
    }
    return 0;
}

int zcg_v2_hugetlb(const char *dir, const struct zspec_hugepage_limit *h,
                   size_t n, struct zerr *e)
{
    for (size_t i = 0; i < n; i++)
        if (zcg_hugetlb_write(dir, &h[i], i, "max", "rsvd.max", e) < 0)
            return -1;
    return 0;
}

/* cpuset and pids use the same files and values on both versions */
int zcg_v2_cpuset(const char *dir, const struct zspec_cpu *c, struct zerr *e)
{
    return zcg_v1_cpuset(dir, c, e);
}

int zcg_v2_pids(const char *dir, const struct zspec_pids *p, struct zerr *e)
{
    return zcg_v1_pids(dir, p, e);
}

int zcg_v2_unified(const char *dir, const struct zspec_kv *kv, size_t n,
                   struct zerr *e)
{
    /* Validate every key before writing any. */
    for (size_t i = 0; i < n; i++)
        if (zcg_unified_key_check(kv[i].key, e) < 0)
            return -1;
    for (size_t i = 0; i < n; i++) {
        const char *key = kv[i].key, *value = kv[i].value ? kv[i].value : "";
        if (!zcg_file_exists(dir, key)) {
            char ctrl[64];
            size_t len = strcspn(key, ".");
            if (len < sizeof ctrl) {
                memcpy(ctrl, key, len);
                ctrl[len] = '\0';
                if (strcmp(ctrl, "cgroup") != 0 &&
                    !zcg_file_has_word(dir, "cgroup.controllers", ctrl))
                    return zerr_set(e, ENOENT,
                                    "linux.resources.unified: key \"%s\": "
                                    "controller \"%s\" is not available in "
                                    "%s (on a hybrid host it may be bound to "
                                    "cgroup v1)", key, ctrl, dir);
            }
        }
        if (zcg_write(dir, key, value, e) < 0)
            return -1;
    }
    return 0;
}

static bool word_in(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += wl)
        if ((p == list || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' '))
            return true;
    return false;
}

int zcg_v2_enable_controllers(const char *dir, struct zerr *e)
{
    char avail[1024], enabled[1024], want[1024];
    char *save = NULL;
    size_t len = 0;

    if (zcg_read(dir, "cgroup.controllers", avail, sizeof avail, e) < 0 ||
        zcg_read(dir, "cgroup.subtree_control", enabled, sizeof enabled, e) < 0)
        return -1;
    want[0] = '\0';
    for (char *c = strtok_r(avail, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
        int w;
        if (word_in(enabled, c))
            continue;
        w = snprintf(want + len, sizeof want - len, "%s+%s", len ? " " : "", c);
        if (w < 0 || (size_t)w >= sizeof want - len)
            return zerr_set(e, E2BIG, "cgroup: %s/cgroup.controllers: too long",
                            dir);
        len += (size_t)w;
    }
    if (len == 0 || zcg_write(dir, "cgroup.subtree_control", want, e) == 0)
        return 0;
    /* One controller can be refused (e.g. cpu while a realtime task sits
     * here, or processes in a non-root cgroup): enable the others one by
     * one; a resource that needed a refused one fails later, naming its
     * file. */
    zdebug("%s; enabling controllers one by one", e->msg);
    save = NULL;
    for (char *c = strtok_r(want, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
        struct zerr one;
        if (zcg_write(dir, "cgroup.subtree_control", c, &one) < 0)
            zwarn("%s", one.msg);
    }
    zerr_clear(e);
    return 0;
}
