/* Usage numbers for `events --stats`, shaped after runc's. Each controller
 * is read where it is mounted (v1 hierarchy, else the v2 directory); files a
 * kernel does not have leave their numbers at 0 and their lists empty. */
#include "cgroups/internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"

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
}

/* ------------------------------------------------------------ lists */

/* Grows *arr (elements of `size` bytes) to hold one more; returns the new
 * zeroed slot or NULL (+e). */
static void *push(void *arr, size_t *n, size_t size, struct zerr *e)
{
    char *na;
    if (*n >= SIZE_MAX / size / 2 - 1) {
        zerr_set(e, ENOMEM, "cgroup: stats: too many entries");
        return NULL;
    }
    na = realloc(*(char **)arr, (*n + 1) * size);
    if (!na) {
        zerr_sys(e, "cgroup: stats");
        return NULL;
    }
    *(char **)arr = na;
    memset(na + *n * size, 0, size);
    return na + (*n)++ * size;
}

static char *read_file(const char *dir, const char *file)
{
    char path[PATH_MAX];
    struct zerr ignored;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return NULL;
    return zcg_read_all(path, &ignored);
}

/* cpuacct.usage_percpu*: space-separated nanoseconds, one per possible cpu. */
static int read_percpu(const char *dir, const char *file, uint64_t **out,
                       size_t *n, struct zerr *e)
{
    _cleanup_free_ char *text = read_file(dir, file);
    char *p = text, *end;

    while (p && *p) {
        uint64_t *slot;
        unsigned long long v;
        errno = 0;
        v = strtoull(p, &end, 10);
        if (end == p)
            break;
        if (errno)
            return 0; /* a garbled file: keep what was read */
        if (!(slot = push(out, n, sizeof **out, e)))
            return -1;
        *slot = v;
        p = end;
    }
    return 0;
}

/* memory.stat: "key value" lines, every one kept (runc's "raw" map). */
static int read_mem_raw(const char *dir, struct zcg_stats *st, struct zerr *e)
{
    _cleanup_free_ char *text = read_file(dir, "memory.stat");

    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        struct zcg_stat_kv *kv;
        char *sp, *end;
        unsigned long long v;
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        sp = strchr(line, ' ');
        if (!sp || sp == line)
            continue;
        errno = 0;
        v = strtoull(sp + 1, &end, 10);
        if (errno || end == sp + 1)
            continue;
        if (!(kv = push(&st->mem_raw, &st->n_mem_raw, sizeof *kv, e)))
            return -1;
        if (!(kv->key = strndup(line, (size_t)(sp - line)))) {
            st->n_mem_raw--;
            return zerr_sys(e, "cgroup: stats");
        }
        kv->value = v;
    }
    return 0;
}

/* The page sizes named by "hugetlb.<size>.<suffix>" files in dir. */
static int hugetlb_stats(const char *dir, bool v2, struct zcg_stats *st,
                         struct zerr *e)
{
    const char *suffix = v2 ? ".current" : ".usage_in_bytes";
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        const char *size = de->d_name + strlen("hugetlb."), *dot;
        struct zcg_hugetlb_stat *h;
        char file[NAME_MAX + 32];
        size_t len;
        if (strncmp(de->d_name, "hugetlb.", 8) || !(dot = strchr(size, '.')) ||
            strcmp(dot, suffix))
            continue; /* also skips v2's hugetlb.2MB.rsvd.current */
        len = (size_t)(dot - size);
        if (len == 0 || len >= sizeof h->page_size)
            continue;
        if (!(h = push(&st->hugetlb, &st->n_hugetlb, sizeof *h, e)))
            return -1;
        memcpy(h->page_size, size, len);
        h->page_size[len] = '\0';
        snprintf(file, sizeof file, "hugetlb.%s%s", h->page_size, suffix);
        read_num(dir, file, &h->usage);
        if (v2) {
            snprintf(file, sizeof file, "hugetlb.%s.events", h->page_size);
            read_key(dir, file, "max", &h->failcnt);
        } else {
            snprintf(file, sizeof file, "hugetlb.%s.max_usage_in_bytes", h->page_size);
            read_num(dir, file, &h->max_usage);
            snprintf(file, sizeof file, "hugetlb.%s.failcnt", h->page_size);
            read_num(dir, file, &h->failcnt);
        }
    }
    return 0;
}

static int add_io(struct zcg_blkio_entry **arr, size_t *n, unsigned maj,
                  unsigned min, const char *op, uint64_t v, struct zerr *e)
{
    struct zcg_blkio_entry *b = push(arr, n, sizeof *b, e);
    if (!b)
        return -1;
    b->major = maj;
    b->minor = min;
    snprintf(b->op, sizeof b->op, "%s", op);
    b->value = v;
    return 0;
}

/* v1 blkio lists: "8:0 Read 4096" lines and a final "Total N". */
static int blkio_v1_file(const char *dir, const char *file,
                         struct zcg_blkio_entry **arr, size_t *n,
                         struct zerr *e)
{
    _cleanup_free_ char *text = read_file(dir, file);

    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        unsigned maj, min;
        char op[8];
        unsigned long long v;
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (sscanf(line, "%u:%u %7s %llu", &maj, &min, op, &v) != 4)
            continue;
        if (add_io(arr, n, maj, min, op, v, e) < 0)
            return -1;
    }
    return 0;
}

/* The proportional-weight files (CFQ/BFQ) when the kernel fills them, else
 * the throttling layer's, which count every request. */
static int blkio_v1(const char *dir, struct zcg_stats *st, struct zerr *e)
{
    const char *bytes = "blkio.io_service_bytes_recursive";
    const char *ops = "blkio.io_serviced_recursive";
    _cleanup_free_ char *probe = read_file(dir, bytes);

    if (!probe || !strchr(probe, ':')) {
        bytes = "blkio.throttle.io_service_bytes_recursive";
        ops = "blkio.throttle.io_serviced_recursive";
    }
    if (blkio_v1_file(dir, bytes, &st->io_bytes, &st->n_io_bytes, e) < 0)
        return -1;
    return blkio_v1_file(dir, ops, &st->io_ops, &st->n_io_ops, e);
}

/* v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6". */
static int io_v2(const char *dir, struct zcg_stats *st, struct zerr *e)
{
    static const struct { const char *key, *op; bool bytes; } map[] = {
        {"rbytes", "Read", true}, {"wbytes", "Write", true},
        {"dbytes", "Discard", true}, {"rios", "Read", false},
        {"wios", "Write", false}, {"dios", "Discard", false},
    };
    _cleanup_free_ char *text = read_file(dir, "io.stat");

    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        unsigned maj, min;
        int off = 0;
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (sscanf(line, "%u:%u%n", &maj, &min, &off) != 2)
            continue;
        for (char *tok = strtok(line + off, " "); tok; tok = strtok(NULL, " ")) {
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            for (size_t i = 0; i < ZARRAY_SIZE(map); i++) {
                if (strcmp(tok, map[i].key))
                    continue;
                if (add_io(map[i].bytes ? &st->io_bytes : &st->io_ops,
                           map[i].bytes ? &st->n_io_bytes : &st->n_io_ops,
                           maj, min, map[i].op, strtoull(eq + 1, NULL, 10),
                           e) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

void zcg_stats_clear(struct zcg_stats *st)
{
    free(st->cpu_percpu_ns);
    free(st->cpu_percpu_user_ns);
    free(st->cpu_percpu_system_ns);
    for (size_t i = 0; i < st->n_mem_raw; i++)
        free(st->mem_raw[i].key);
    free(st->mem_raw);
    free(st->hugetlb);
    free(st->io_bytes);
    free(st->io_ops);
    memset(st, 0, sizeof *st);
}

/* The lists; -1 only when memory runs out. */
static int detailed_stats(const struct zcgroup *cg, struct zcg_stats *st,
                          struct zerr *e)
{
    const struct zcg_dir *d, *v2 = zcg_dir_v2(cg);

    if ((d = zcg_dir_v1(cg, "cpuacct")) &&
        (read_percpu(d->path, "cpuacct.usage_percpu", &st->cpu_percpu_ns,
                     &st->n_cpu_percpu, e) < 0 ||
         read_percpu(d->path, "cpuacct.usage_percpu_user",
                     &st->cpu_percpu_user_ns, &st->n_cpu_percpu_user, e) < 0 ||
         read_percpu(d->path, "cpuacct.usage_percpu_sys",
                     &st->cpu_percpu_system_ns, &st->n_cpu_percpu_system,
                     e) < 0))
        return -1;
    if ((d = zcg_dir_for(cg, "memory")) && read_mem_raw(d->path, st, e) < 0)
        return -1;
    if ((d = zcg_dir_for(cg, "hugetlb")) &&
        hugetlb_stats(d->path, d->v2, st, e) < 0)
        return -1;
    if ((d = zcg_dir_v1(cg, "blkio")))
        return blkio_v1(d->path, st, e);
    if (v2 && zcg_file_has_word(v2->path, "cgroup.controllers", "io"))
        return io_v2(v2->path, st, e);
    return 0;
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
    if (zcg_dir_for(cg, "memory")) {
        struct zerr ignored;
        uint64_t n;
        if (zcg_oom_count(cg, &n, &ignored) == 0)
            st->oom_kill_count = n;
    }
    if (detailed_stats(cg, st, e) < 0) {
        zcg_stats_clear(st);
        return -1;
    }
    return 0;
}
