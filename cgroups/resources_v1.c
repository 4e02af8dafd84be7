/* linux.resources -> cgroup v1 files. Each function takes the directory of
 * the container in that controller's hierarchy, so tests can point it at a
 * fake tree. */
#include "cgroups/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* -1 (or any negative) is unlimited; order limits as the kernel does. */
static uint64_t effective_limit(int64_t v)
{
    return v < 0 ? UINT64_MAX : (uint64_t)v;
}

static int write_memory_and_swap(const char *dir, const struct zspec_memory *m,
                                 struct zerr *e)
{
    bool swap_supported = zcg_file_exists(dir, "memory.memsw.limit_in_bytes");
    bool write_swap = false;
    int64_t swap = 0;

    if (m->has_swap && m->swap != 0) {
        if (swap_supported) {
            write_swap = true;
            swap = m->swap;
        } else {
            zwarn("cgroup: swap accounting is off on this host; ignoring "
                  "linux.resources.memory.swap");
        }
    } else if (m->has_limit && m->limit < 0 && swap_supported) {
        /* Lifting the memory limit needs memsw lifted too (memsw >= mem). */
        write_swap = true;
        swap = -1;
    }
    if (write_swap && m->has_limit && m->limit > 0 && swap > 0 &&
        swap < m->limit)
        return zerr_set(e, EINVAL,
                        "linux.resources.memory.swap %" PRId64 " is below "
                        "memory.limit %" PRId64 " (swap is memory+swap)",
                        swap, m->limit);
    if (!m->has_limit) {
        if (write_swap)
            return zcg_write_i64(dir, "memory.memsw.limit_in_bytes", swap, e);
        return 0;
    }
    if (write_swap) {
        /* memsw may never drop below the memory limit: when the new memory
         * limit exceeds the current memsw limit, raise memsw first. */
        char cur[32];
        struct zerr ignored;
        uint64_t cur_memsw = UINT64_MAX;
        if (zcg_read(dir, "memory.memsw.limit_in_bytes", cur, sizeof cur,
                     &ignored) > 0)
            cur_memsw = strtoull(cur, NULL, 10);
        if (effective_limit(m->limit) > cur_memsw) {
            if (zcg_write_i64(dir, "memory.memsw.limit_in_bytes", swap, e) < 0)
                return -1;
            return zcg_write_i64(dir, "memory.limit_in_bytes", m->limit, e);
        }
        if (zcg_write_i64(dir, "memory.limit_in_bytes", m->limit, e) < 0)
            return -1;
        return zcg_write_i64(dir, "memory.memsw.limit_in_bytes", swap, e);
    }
    return zcg_write_i64(dir, "memory.limit_in_bytes", m->limit, e);
}

/* checkBeforeUpdate: a limit below what the cgroup already uses would make
 * the kernel reclaim or OOM-kill at once; refuse it instead. */
int zcg_memory_check_usage(const char *dir, const char *usage_file,
                           const struct zspec_memory *m, struct zerr *e)
{
    char buf[32];
    uint64_t usage;

    if (!m->has_check_before_update || !m->check_before_update ||
        !m->has_limit || m->limit <= 0)
        return 0;
    if (zcg_read(dir, usage_file, buf, sizeof buf, e) < 0)
        return zerr_prefix(e, "linux.resources.memory.checkBeforeUpdate");
    usage = strtoull(buf, NULL, 10);
    if (usage > (uint64_t)m->limit)
        return zerr_set(e, EBUSY,
                        "linux.resources.memory.checkBeforeUpdate: the new "
                        "limit %" PRId64 " is below the current usage %" PRIu64
                        " (%s/%s)", m->limit, usage, dir, usage_file);
    return 0;
}

/* Kernel memory limits are gone from recent kernels (no-ops since 5.4-ish,
 * files removed later); like runc, warn and go on where they are missing. */
static int write_kmem(const char *dir, const char *file, const char *field,
                      int64_t v, struct zerr *e)
{
    if (!zcg_file_exists(dir, file)) {
        zwarn("cgroup: this kernel has no %s; ignoring "
              "linux.resources.memory.%s", file, field);
        return 0;
    }
    return zcg_write_i64(dir, file, v, e);
}

int zcg_v1_memory(const char *dir, const struct zspec_memory *m,
                  struct zerr *e)
{
    if (!m)
        return 0;
    if (zcg_memory_check_usage(dir, "memory.usage_in_bytes", m, e) < 0)
        return -1;
    /* use_hierarchy must be set before limits matter for children */
    if (m->has_use_hierarchy &&
        zcg_write(dir, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0",
                  e) < 0)
        return -1;
    if (m->has_kernel && m->kernel != 0 &&
        write_kmem(dir, "memory.kmem.limit_in_bytes", "kernel", m->kernel, e) < 0)
        return -1;
    if (m->has_kernel_tcp && m->kernel_tcp != 0 &&
        write_kmem(dir, "memory.kmem.tcp.limit_in_bytes", "kernelTCP",
                   m->kernel_tcp, e) < 0)
        return -1;
    if (m->has_reservation &&
        zcg_write_i64(dir, "memory.soft_limit_in_bytes", m->reservation, e) < 0)
        return -1;
    if (write_memory_and_swap(dir, m, e) < 0)
        return -1;
    if (m->has_swappiness) {
        if (m->swappiness > 100)
            return zerr_set(e, EINVAL,
                            "linux.resources.memory.swappiness %" PRIu64
                            ": expected 0..100", m->swappiness);
        if (zcg_write_u64(dir, "memory.swappiness", m->swappiness, e) < 0)
            return -1;
    }
    if (m->has_disable_oom_killer &&
        zcg_write(dir, "memory.oom_control", m->disable_oom_killer ? "1" : "0",
                  e) < 0)
        return -1;
    return 0;
}

int zcg_v1_cpu(const char *dir, const struct zspec_cpu *c, struct zerr *e)
{
    bool set_quota, set_period;

    if (!c)
        return 0;
    if (c->has_shares && c->shares != 0 &&
        zcg_write_u64(dir, "cpu.shares", c->shares, e) < 0)
        return -1;
    set_quota = c->has_quota && c->quota != 0;
    set_period = c->has_period && c->period != 0;
    if (set_period) {
        /* A shorter period can be refused while the old quota exceeds what
         * the parent allows; then the quota has to go first. */
        if (zcg_write_u64(dir, "cpu.cfs_period_us", c->period, e) < 0) {
            if (e->code != EINVAL || !set_quota)
                return -1;
            if (zcg_write_i64(dir, "cpu.cfs_quota_us", c->quota < 0 ? -1 : c->quota,
                              e) < 0 ||
                zcg_write_u64(dir, "cpu.cfs_period_us", c->period, e) < 0)
                return -1;
            set_quota = false;
        }
    }
    if (set_quota &&
        zcg_write_i64(dir, "cpu.cfs_quota_us", c->quota < 0 ? -1 : c->quota,
                      e) < 0)
        return -1;
    if (c->has_burst && zcg_write_u64(dir, "cpu.cfs_burst_us", c->burst, e) < 0)
        return -1;
    if (c->has_realtime_period &&
        zcg_write_u64(dir, "cpu.rt_period_us", c->realtime_period, e) < 0)
        return -1;
    if (c->has_realtime_runtime &&
        zcg_write_i64(dir, "cpu.rt_runtime_us", c->realtime_runtime, e) < 0)
        return -1;
    if (c->has_idle && zcg_write_i64(dir, "cpu.idle", c->idle, e) < 0)
        return -1;
    return 0;
}

int zcg_v1_cpuset(const char *dir, const struct zspec_cpu *c, struct zerr *e)
{
    if (!c)
        return 0;
    if (c->cpus && *c->cpus && zcg_write(dir, "cpuset.cpus", c->cpus, e) < 0)
        return -1;
    if (c->mems && *c->mems && zcg_write(dir, "cpuset.mems", c->mems, e) < 0)
        return -1;
    return 0;
}

int zcg_v1_pids(const char *dir, const struct zspec_pids *p, struct zerr *e)
{
    char buf[32];
    if (!p || !p->has_limit)
        return 0;
    zcg_pids_max_value(p->limit, buf, sizeof buf);
    return zcg_write(dir, "pids.max", buf, e);
}

/* One open fd per file takes all its rules, one rule per write(): the
 * default spec has 13 rules, and open+close of a cgroup file is most of the
 * cost of writing one. */
static int write_rule(const char *dir, const char *file, int *fd,
                      const char *rule, struct zerr *e)
{
    char path[PATH_MAX];
    size_t len = strlen(rule);
    ssize_t w;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return zerr_set(e, ENAMETOOLONG, "cgroup: path too long: %s/%s", dir, file);
    if (*fd < 0 && (*fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_TRUNC)) < 0)
        return zerr_sys(e, "cgroup: write %s \"%s\"", path, rule);
    w = write(*fd, rule, len);
    if (w < 0)
        return zerr_sys(e, "cgroup: write %s \"%s\"", path, rule);
    if ((size_t)w != len)
        return zerr_set(e, EIO, "cgroup: write %s \"%s\": short write", path, rule);
    return 0;
}

int zcg_v1_devices(const char *dir, const struct zspec_device_cgroup *d,
                   size_t n, struct zerr *e)
{
    int allow_fd = -1, deny_fd = -1, rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        char rule[80];
        if (zcg_device_rule(&d[i], rule, sizeof rule, e) < 0)
            rc = zerr_prefix(e, "linux.resources.devices[%zu]", i);
        else if (d[i].allow)
            rc = write_rule(dir, "devices.allow", &allow_fd, rule, e);
        else
            rc = write_rule(dir, "devices.deny", &deny_fd, rule, e);
    }
    if (allow_fd >= 0)
        close(allow_fd);
    if (deny_fd >= 0)
        close(deny_fd);
    return rc;
}

/* A new v1 cpuset cgroup starts with empty cpus/mems, and no task can join
 * it until both are set: copy the parent's. */
int zcg_v1_cpuset_inherit(const char *parent, const char *dir, struct zerr *e)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < 2; i++) {
        char cur[4096], up[4096];
        if (zcg_read(dir, files[i], cur, sizeof cur, e) < 0)
            return -1;
        if (cur[0])
            continue;
        if (zcg_read(parent, files[i], up, sizeof up, e) < 0)
            return -1;
        if (up[0] && zcg_write(dir, files[i], up, e) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ blkio */

/* blkio.weight is CFQ's (gone since 5.0); BFQ has its own files. */
static const char *v1_weight_file(const char *dir, bool per_device)
{
    const char *cfq = per_device ? "blkio.weight_device" : "blkio.weight";
    const char *bfq = per_device ? "blkio.bfq.weight_device" : "blkio.bfq.weight";
    if (zcg_file_exists(dir, cfq))
        return cfq;
    if (zcg_file_exists(dir, bfq))
        return bfq;
    return NULL;
}

static int v1_throttle(const char *dir, const char *file, const char *field,
                       const struct zspec_throttle_device *t, size_t n,
                       struct zerr *e)
{
    for (size_t i = 0; i < n; i++) {
        char line[64];
        if (zcg_dev_value_line(field, i, t[i].major, t[i].minor, t[i].rate,
                               line, sizeof line, e) < 0 ||
            zcg_write(dir, file, line, e) < 0)
            return -1;
    }
    return 0;
}

int zcg_v1_blkio(const char *dir, const struct zspec_blkio *b, struct zerr *e)
{
    const char *file;

    if (!b)
        return 0;
    if (b->has_weight && b->weight) {
        if (zcg_blkio_weight_check("linux.resources.blockIO.weight",
                                   b->weight, e) < 0)
            return -1;
        if (!(file = v1_weight_file(dir, false)))
            return zerr_set(e, ENOTSUP,
                            "linux.resources.blockIO.weight: %s has neither "
                            "blkio.weight nor blkio.bfq.weight (no CFQ or BFQ "
                            "I/O scheduler in this kernel)", dir);
        if (zcg_write_u64(dir, file, b->weight, e) < 0)
            return -1;
    }
    if (b->has_leaf_weight && b->leaf_weight) {
        if (zcg_blkio_weight_check("linux.resources.blockIO.leafWeight",
                                   b->leaf_weight, e) < 0)
            return -1;
        if (!zcg_file_exists(dir, "blkio.leaf_weight"))
            return zerr_set(e, ENOTSUP,
                            "linux.resources.blockIO.leafWeight: %s has no "
                            "blkio.leaf_weight (CFQ only, not in this kernel)",
                            dir);
        if (zcg_write_u64(dir, "blkio.leaf_weight", b->leaf_weight, e) < 0)
            return -1;
    }
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const struct zspec_weight_device *w = &b->weight_device[i];
        char line[64];
        if (w->has_weight && w->weight) {
            if (zcg_blkio_weight_check("linux.resources.blockIO.weightDevice."
                                       "weight", w->weight, e) < 0)
                return -1;
            if (!(file = v1_weight_file(dir, true)))
                return zerr_set(e, ENOTSUP,
                                "linux.resources.blockIO.weightDevice[%zu]: %s "
                                "has neither blkio.weight_device nor "
                                "blkio.bfq.weight_device", i, dir);
            if (zcg_dev_value_line("linux.resources.blockIO.weightDevice", i,
                                   w->major, w->minor, w->weight, line,
                                   sizeof line, e) < 0 ||
                zcg_write(dir, file, line, e) < 0)
                return -1;
        }
        if (w->has_leaf_weight && w->leaf_weight) {
            if (!zcg_file_exists(dir, "blkio.leaf_weight_device"))
                return zerr_set(e, ENOTSUP,
                                "linux.resources.blockIO.weightDevice[%zu]."
                                "leafWeight: %s has no blkio.leaf_weight_device"
                                " (CFQ only, not in this kernel)", i, dir);
            if (zcg_dev_value_line("linux.resources.blockIO.weightDevice", i,
                                   w->major, w->minor, w->leaf_weight, line,
                                   sizeof line, e) < 0 ||
                zcg_write(dir, "blkio.leaf_weight_device", line, e) < 0)
                return -1;
        }
    }
    if (v1_throttle(dir, "blkio.throttle.read_bps_device",
                    "linux.resources.blockIO.throttleReadBpsDevice",
                    b->throttle_read_bps, b->n_throttle_read_bps, e) < 0 ||
        v1_throttle(dir, "blkio.throttle.write_bps_device",
                    "linux.resources.blockIO.throttleWriteBpsDevice",
                    b->throttle_write_bps, b->n_throttle_write_bps, e) < 0 ||
        v1_throttle(dir, "blkio.throttle.read_iops_device",
                    "linux.resources.blockIO.throttleReadIOPSDevice",
                    b->throttle_read_iops, b->n_throttle_read_iops, e) < 0 ||
        v1_throttle(dir, "blkio.throttle.write_iops_device",
                    "linux.resources.blockIO.throttleWriteIOPSDevice",
                    b->throttle_write_iops, b->n_throttle_write_iops, e) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ hugetlb */

/* hugetlb.<size>.<suffix> into name; -1 when the size is malformed. */
static int hugetlb_file(const struct zspec_hugepage_limit *h, size_t i,
                        const char *suffix, char *name, size_t size,
                        struct zerr *e)
{
    if (zcg_hugepage_size_check(h->page_size, e) < 0)
        return zerr_prefix(e, "linux.resources.hugepageLimits[%zu]", i);
    snprintf(name, size, "hugetlb.%s.%s", h->page_size, suffix);
    return 0;
}

/* Writes the limit to `file`, and to `rsvd` (the reservation limit, newer
 * kernels) where that file exists. */
int zcg_hugetlb_write(const char *dir, const struct zspec_hugepage_limit *h,
                      size_t i, const char *file, const char *rsvd,
                      struct zerr *e)
{
    char name[64], rname[64];
    if (hugetlb_file(h, i, file, name, sizeof name, e) < 0 ||
        hugetlb_file(h, i, rsvd, rname, sizeof rname, e) < 0)
        return -1;
    if (!zcg_file_exists(dir, name))
        return zerr_set(e, ENOENT,
                        "linux.resources.hugepageLimits[%zu]: page size "
                        "\"%s\" is not supported on this host (no %s/%s)",
                        i, h->page_size, dir, name);
    if (zcg_write_u64(dir, name, h->limit, e) < 0)
        return -1;
    if (zcg_file_exists(dir, rname) && zcg_write_u64(dir, rname, h->limit, e) < 0)
        return -1;
    return 0;
}

int zcg_v1_hugetlb(const char *dir, const struct zspec_hugepage_limit *h,
                   size_t n, struct zerr *e)
{
    for (size_t i = 0; i < n; i++)
        if (zcg_hugetlb_write(dir, &h[i], i, "limit_in_bytes",
                              "rsvd.limit_in_bytes", e) < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------ network */

int zcg_v1_net_cls(const char *dir, const struct zspec_network *net,
                   struct zerr *e)
{
    if (!net || !net->has_class_id)
        return 0;
    return zcg_write_u64(dir, "net_cls.classid", net->class_id, e);
}

int zcg_v1_net_prio(const char *dir, const struct zspec_network *net,
                    struct zerr *e)
{
    for (size_t i = 0; net && i < net->n_priorities; i++) {
        char line[64];
        if (zcg_ifprio_line(&net->priorities[i], line, sizeof line, e) < 0)
            return zerr_prefix(e, "linux.resources.network.priorities[%zu]", i);
        if (zcg_write(dir, "net_prio.ifpriomap", line, e) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ rdma */

int zcg_rdma(const char *dir, const struct zspec_rdma *r, size_t n,
             struct zerr *e)
{
    for (size_t i = 0; i < n; i++) {
        char line[160];
        if (zcg_rdma_line(&r[i], line, sizeof line, e) < 0)
            return zerr_prefix(e, "linux.resources.rdma");
        if (zcg_write(dir, "rdma.max", line, e) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ lookup */

const struct zcg_dir *zcg_resource_dir(const struct zcgroup *cg,
                                       const char *field, const char *ctrl1,
                                       const char *ctrl2, struct zerr *e)
{
    const struct zcg_dir *d = zcg_dir_v1(cg, ctrl1);
    if (d)
        return d;
    if (ctrl2 && (d = zcg_dir_v2(cg)) &&
        zcg_file_has_word(d->path, "cgroup.controllers", ctrl2))
        return d;
    zerr_set(e, ENOENT, "%s: the %s controller is not available on this host",
             field, ctrl2 && cg->mode == ZCG_V2 ? ctrl2 : ctrl1);
    return NULL;
}
