/* linux.resources -> cgroup v1 files. Each function takes the directory of
 * the container in that controller's hierarchy, so tests can point it at a
 * fake tree. More controllers (blkio, hugetlb, net_cls/prio, rdma) slot in
 * as further functions of the same shape. */
#include "cgroups/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int zcg_v1_memory(const char *dir, const struct zspec_memory *m,
                  struct zerr *e)
{
    if (!m)
        return 0;
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

int zcg_v1_devices(const char *dir, const struct zspec_device_cgroup *d,
                   size_t n, struct zerr *e)
{
    for (size_t i = 0; i < n; i++) {
        char rule[80];
        if (zcg_device_rule(&d[i], rule, sizeof rule, e) < 0)
            return zerr_prefix(e, "linux.resources.devices[%zu]", i);
        if (zcg_write(dir, d[i].allow ? "devices.allow" : "devices.deny", rule,
                      e) < 0)
            return -1;
    }
    return 0;
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
