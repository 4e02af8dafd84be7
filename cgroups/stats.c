/* Basic usage numbers for `events --stats`. Each controller is read where
 * it is mounted (v1 hierarchy, else the v2 directory); files a kernel does
 * not have leave their numbers at 0. */
#include "cgroups/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A single-number file; "max" is UINT64_MAX. Absent files leave *v alone. */
static void read_num(const char *dir, const char *file, uint64_t *v)
{
    char buf[64], *end;
    struct zerr ignored;
    unsigned long long x;

    if (zcg_read(dir, file, buf, sizeof buf, &ignored) <= 0)
        return;
    if (strcmp(buf, "max") == 0) {
        *v = UINT64_MAX;
        return;
    }
    errno = 0;
    x = strtoull(buf, &end, 10);
    if (!errno && end != buf)
        *v = x;
}

static void read_key(const char *dir, const char *file, const char *key,
                     uint64_t *v)
{
    uint64_t x;
    if (zcg_read_keyed(dir, file, key, &x) == 0)
        *v = x;
}

static void cpu_v1(const struct zcgroup *cg, struct zcg_stats *st)
{
    const struct zcg_dir *acct = zcg_dir_v1(cg, "cpuacct");
    const struct zcg_dir *cpu = zcg_dir_v1(cg, "cpu");

    if (acct) {
        read_num(acct->path, "cpuacct.usage", &st->cpu_usage_ns);
        if (zcg_file_exists(acct->path, "cpuacct.usage_user")) {
            read_num(acct->path, "cpuacct.usage_user", &st->cpu_user_ns);
            read_num(acct->path, "cpuacct.usage_sys", &st->cpu_system_ns);
        } else {
            /* cpuacct.stat counts USER_HZ ticks */
            long hz = sysconf(_SC_CLK_TCK);
            uint64_t user = 0, sys = 0;
            read_key(acct->path, "cpuacct.stat", "user", &user);
            read_key(acct->path, "cpuacct.stat", "system", &sys);
            if (hz > 0) {
                st->cpu_user_ns = user * (1000000000ULL / (uint64_t)hz);
                st->cpu_system_ns = sys * (1000000000ULL / (uint64_t)hz);
            }
        }
    }
    if (cpu) {
        read_key(cpu->path, "cpu.stat", "nr_periods", &st->cpu_periods);
        read_key(cpu->path, "cpu.stat", "nr_throttled",
                 &st->cpu_throttled_periods);
        read_key(cpu->path, "cpu.stat", "throttled_time",
                 &st->cpu_throttled_time_ns);
    }
}

static void cpu_v2(const char *dir, struct zcg_stats *st, bool usage,
                   bool throttling)
{
    uint64_t us;
    if (usage) {
        if (zcg_read_keyed(dir, "cpu.stat", "usage_usec", &us) == 0)
            st->cpu_usage_ns = us * 1000;
        if (zcg_read_keyed(dir, "cpu.stat", "user_usec", &us) == 0)
            st->cpu_user_ns = us * 1000;
        if (zcg_read_keyed(dir, "cpu.stat", "system_usec", &us) == 0)
            st->cpu_system_ns = us * 1000;
    }
    if (throttling) {
        read_key(dir, "cpu.stat", "nr_periods", &st->cpu_periods);
        read_key(dir, "cpu.stat", "nr_throttled", &st->cpu_throttled_periods);
        if (zcg_read_keyed(dir, "cpu.stat", "throttled_usec", &us) == 0)
            st->cpu_throttled_time_ns = us * 1000;
    }
}

static void memory_v1(const char *dir, struct zcg_stats *st)
{
    read_num(dir, "memory.usage_in_bytes", &st->mem_usage);
    read_num(dir, "memory.limit_in_bytes", &st->mem_limit);
    read_num(dir, "memory.max_usage_in_bytes", &st->mem_max_usage);
    read_num(dir, "memory.failcnt", &st->mem_failcnt);
    if (zcg_read_keyed(dir, "memory.stat", "total_cache", &st->mem_cache) < 0)
        read_key(dir, "memory.stat", "cache", &st->mem_cache);
    /* v1 reports memory+swap, as runc's stats do */
    read_num(dir, "memory.memsw.usage_in_bytes", &st->mem_swap_usage);
    read_num(dir, "memory.memsw.limit_in_bytes", &st->mem_swap_limit);
    read_key(dir, "memory.oom_control", "oom_kill", &st->oom_kill_count);
}

static void memory_v2(const char *dir, struct zcg_stats *st)
{
    read_num(dir, "memory.current", &st->mem_usage);
    read_num(dir, "memory.max", &st->mem_limit);
    read_num(dir, "memory.peak", &st->mem_max_usage);
    read_key(dir, "memory.events", "max", &st->mem_failcnt);
    read_key(dir, "memory.stat", "file", &st->mem_cache);
    read_num(dir, "memory.swap.current", &st->mem_swap_usage);
    read_num(dir, "memory.swap.max", &st->mem_swap_limit);
    read_key(dir, "memory.events", "oom_kill", &st->oom_kill_count);
}

int zcg_stats(const struct zcgroup *cg, struct zcg_stats *st, struct zerr *e)
{
    const struct zcg_dir *v2 = zcg_dir_v2(cg), *d;

    memset(st, 0, sizeof *st);
    /* A vanished cgroup is an error; a missing statistic is not. */
    for (size_t i = 0; i < cg->n; i++)
        if (access(cg->d[i].path, F_OK) < 0)
            return zerr_sys(e, "cgroup: stats %s", cg->d[i].path);

    cpu_v1(cg, st);
    if (v2)
        /* usage is core in v2's cpu.stat; throttling needs the controller */
        cpu_v2(v2->path, st, !zcg_dir_v1(cg, "cpuacct"),
               !zcg_dir_v1(cg, "cpu") &&
                   zcg_file_has_word(v2->path, "cgroup.controllers", "cpu"));
    if ((d = zcg_dir_for(cg, "memory")))
        (d->v2 ? memory_v2 : memory_v1)(d->path, st);
    if ((d = zcg_dir_for(cg, "pids"))) {
        read_num(d->path, "pids.current", &st->pids_current);
        read_num(d->path, "pids.max", &st->pids_limit);
        /* no limit reads as 0, the runc convention */
        if (st->pids_limit == UINT64_MAX)
            st->pids_limit = 0;
    }
    return 0;
}
