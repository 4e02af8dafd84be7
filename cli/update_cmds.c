/* update, events */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cgroups/cgroups.h"
#include "cli/cli.h"
#include "core/cleanup.h"
#include "core/path.h"

/* "512m", "1g", "1024", "-1" (unlimited) -> bytes, as runc's units.RAMInBytes. */
static int parse_bytes(const char *s, int64_t *out)
{
    char *end;
    double v;
    int64_t mult = 1;
    if (!strcmp(s, "-1")) {
        *out = -1;
        return 0;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'b': break;
    case 'k': mult = 1LL << 10; break;
    case 'm': mult = 1LL << 20; break;
    case 'g': mult = 1LL << 30; break;
    case 't': mult = 1LL << 40; break;
    case 'p': mult = 1LL << 50; break;
    default: return -1;
    }
    if (*end && end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib"))
        return -1;
    *out = (int64_t)(v * (double)mult);
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !*s || *end)
        return -1;
    *out = v;
    return 0;
}

enum {
    U_BLKIO = 256, U_CPU_PERIOD, U_CPU_QUOTA, U_CPU_BURST, U_RT_PERIOD, U_RT_RUNTIME,
    U_CPU_SHARE, U_CPUS, U_MEMS, U_KMEM, U_KMEM_TCP, U_MEMORY, U_MEM_RES, U_MEM_SWAP,
    U_PIDS, U_CPU_IDLE, U_L3, U_MEMBW,
};

static int cmd_update(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"resources", required_argument, NULL, 'r'},
        {"blkio-weight", required_argument, NULL, U_BLKIO},
        {"cpu-period", required_argument, NULL, U_CPU_PERIOD},
        {"cpu-quota", required_argument, NULL, U_CPU_QUOTA},
        {"cpu-burst", required_argument, NULL, U_CPU_BURST},
        {"cpu-rt-period", required_argument, NULL, U_RT_PERIOD},
        {"cpu-rt-runtime", required_argument, NULL, U_RT_RUNTIME},
        {"cpu-share", required_argument, NULL, U_CPU_SHARE},
        {"cpuset-cpus", required_argument, NULL, U_CPUS},
        {"cpuset-mems", required_argument, NULL, U_MEMS},
        {"kernel-memory", required_argument, NULL, U_KMEM},
        {"kernel-memory-tcp", required_argument, NULL, U_KMEM_TCP},
        {"memory", required_argument, NULL, U_MEMORY},
        {"memory-reservation", required_argument, NULL, U_MEM_RES},
        {"memory-swap", required_argument, NULL, U_MEM_SWAP},
        {"pids-limit", required_argument, NULL, U_PIDS},
        {"cpu-idle", required_argument, NULL, U_CPU_IDLE},
        {"l3-cache-schema", required_argument, NULL, U_L3},
        {"mem-bw-schema", required_argument, NULL, U_MEMBW},
        {0},
    };
    struct zspec_memory mem = {0};
    struct zspec_cpu cpu = {0};
    struct zspec_pids pids = {0};
    struct zspec_blkio blkio = {0};
    struct zspec_resources flags_res = {0}, *res = &flags_res, *file_res = NULL;
    const char *resources_file = NULL;
    struct zerr e = {0};
    bool any_flag = false;
    int c, rc;
    int64_t v;

    while ((c = getopt_long(argc, argv, "+r:", opts, NULL)) != -1) {
        const char *name = c == 'r' ? "resources" : opts[0].name;
        for (const struct option *o = opts; o->name; o++)
            if (o->val == c)
                name = o->name;
        any_flag |= c != 'r';
        switch (c) {
        case 'r': resources_file = optarg; continue;
        case U_CPUS: cpu.cpus = optarg; flags_res.cpu = &cpu; continue;
        case U_MEMS: cpu.mems = optarg; flags_res.cpu = &cpu; continue;
        case U_L3: case U_MEMBW:
            zerr_set(&e, ENOTSUP, "--%s: Intel RDT is not available on this host", name);
            return zcli_fail(cli, NULL, &e);
        case '?':
            return zcli_usage_error(&zcmd_update, "unknown option %s", argv[optind - 1]);
        }
        if (c == U_MEMORY || c == U_MEM_RES || c == U_MEM_SWAP || c == U_KMEM || c == U_KMEM_TCP) {
            if (parse_bytes(optarg, &v) < 0)
                return zcli_usage_error(&zcmd_update, "--%s: invalid size \"%s\"", name, optarg);
        } else if (parse_i64(optarg, &v) < 0) {
            return zcli_usage_error(&zcmd_update, "--%s: invalid number \"%s\"", name, optarg);
        }
        switch (c) {
        case U_BLKIO:
            if (v < 10 || v > 1000)
                return zcli_usage_error(&zcmd_update, "--blkio-weight: must be 10..1000");
            blkio.has_weight = true; blkio.weight = (uint16_t)v; flags_res.block_io = &blkio; break;
        case U_CPU_PERIOD: cpu.has_period = true; cpu.period = (uint64_t)v; flags_res.cpu = &cpu; break;
        case U_CPU_QUOTA: cpu.has_quota = true; cpu.quota = v; flags_res.cpu = &cpu; break;
        case U_CPU_BURST: cpu.has_burst = true; cpu.burst = (uint64_t)v; flags_res.cpu = &cpu; break;
        case U_RT_PERIOD: cpu.has_realtime_period = true; cpu.realtime_period = (uint64_t)v; flags_res.cpu = &cpu; break;
        case U_RT_RUNTIME: cpu.has_realtime_runtime = true; cpu.realtime_runtime = v; flags_res.cpu = &cpu; break;
        case U_CPU_SHARE: cpu.has_shares = true; cpu.shares = (uint64_t)v; flags_res.cpu = &cpu; break;
        case U_CPU_IDLE: cpu.has_idle = true; cpu.idle = v; flags_res.cpu = &cpu; break;
        case U_KMEM: mem.has_kernel = true; mem.kernel = v; flags_res.memory = &mem; break;
        case U_KMEM_TCP: mem.has_kernel_tcp = true; mem.kernel_tcp = v; flags_res.memory = &mem; break;
        case U_MEMORY: mem.has_limit = true; mem.limit = v; flags_res.memory = &mem; break;
        case U_MEM_RES: mem.has_reservation = true; mem.reservation = v; flags_res.memory = &mem; break;
        case U_MEM_SWAP: mem.has_swap = true; mem.swap = v; flags_res.memory = &mem; break;
        case U_PIDS: pids.has_limit = true; pids.limit = v; flags_res.pids = &pids; break;
        }
    }
    if (zcli_expect_args(&zcmd_update, argc, optind, 1, 1))
        return 1;
    if (resources_file) {
        size_t len;
        _cleanup_free_ char *json = NULL;
        if (any_flag)
            return zcli_usage_error(&zcmd_update, "--resources cannot be combined with other flags");
        if (!strcmp(resources_file, "-")) {
            size_t cap = 65536;
            json = malloc(cap + 1);
            len = json ? fread(json, 1, cap, stdin) : 0;
            if (json)
                json[len] = '\0';
        } else {
            json = zfile_read(resources_file, 1u << 20, &len, &e);
        }
        if (!json)
            return zcli_fail(cli, NULL, &e);
        file_res = spec_resources_parse(json, len, resources_file, &e);
        if (!file_res)
            return zcli_fail(cli, NULL, &e);
        res = file_res;
    } else if (!any_flag) {
        return zcli_usage_error(&zcmd_update, "no resources given (use --resources FILE or flags)");
    }
    rc = zcontainer_update(&cli->rt, argv[optind], res, &e);
    if (file_res)
        spec_resources_free(file_res);
    if (rc < 0)
        return zcli_fail(cli, NULL, &e);
    return 0;
}

#define GEN_STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))
#define GEN_U64(g, k, v) do { GEN_STR(g, k); gen_u64(g, v); } while (0)

/* yajl_gen_integer takes long long; "max" (UINT64_MAX) must print as runc's
 * 18446744073709551615, not -1. */
static void gen_u64(yajl_gen g, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    yajl_gen_number(g, num, (size_t)n);
}

static void print_json(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;
    yajl_gen_get_buf(g, &buf, &len);
    fwrite(buf, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* A per-cpu list; left out when the host has none (runc's omitempty). */
static void gen_u64_list(yajl_gen g, const char *key, const uint64_t *v, size_t n)
{
    if (!n)
        return;
    GEN_STR(g, key);
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++)
        gen_u64(g, v[i]);
    yajl_gen_array_close(g);
}

static void gen_blkio_list(yajl_gen g, const char *key, const struct zcg_blkio_entry *b,
                           size_t n)
{
    if (!n)
        return;
    GEN_STR(g, key);
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++) {
        yajl_gen_map_open(g);
        GEN_U64(g, "major", b[i].major);
        GEN_U64(g, "minor", b[i].minor);
        GEN_STR(g, "op"); GEN_STR(g, b[i].op);
        GEN_U64(g, "value", b[i].value);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
}

static void gen_cpu(yajl_gen g, const struct zcg_stats *st)
{
    GEN_STR(g, "cpu");
    yajl_gen_map_open(g);
    GEN_STR(g, "usage");
    yajl_gen_map_open(g);
    GEN_U64(g, "total", st->cpu_usage_ns);
    gen_u64_list(g, "percpu", st->cpu_percpu_ns, st->n_cpu_percpu);
    gen_u64_list(g, "percpu_kernel", st->cpu_percpu_system_ns, st->n_cpu_percpu_system);
    gen_u64_list(g, "percpu_user", st->cpu_percpu_user_ns, st->n_cpu_percpu_user);
    GEN_U64(g, "kernel", st->cpu_system_ns);
    GEN_U64(g, "user", st->cpu_user_ns);
    yajl_gen_map_close(g);
    GEN_STR(g, "throttling");
    yajl_gen_map_open(g);
    GEN_U64(g, "periods", st->cpu_periods);
    GEN_U64(g, "throttledPeriods", st->cpu_throttled_periods);
    GEN_U64(g, "throttledTime", st->cpu_throttled_time_ns);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static void gen_memory(yajl_gen g, const struct zcg_stats *st)
{
    GEN_STR(g, "memory");
    yajl_gen_map_open(g);
    GEN_U64(g, "cache", st->mem_cache);
    GEN_STR(g, "usage");
    yajl_gen_map_open(g);
    GEN_U64(g, "limit", st->mem_limit);
    GEN_U64(g, "usage", st->mem_usage);
    GEN_U64(g, "max", st->mem_max_usage);
    GEN_U64(g, "failcnt", st->mem_failcnt);
    yajl_gen_map_close(g);
    GEN_STR(g, "swap");
    yajl_gen_map_open(g);
    GEN_U64(g, "limit", st->mem_swap_limit);
    GEN_U64(g, "usage", st->mem_swap_usage);
    GEN_U64(g, "failcnt", 0);
    yajl_gen_map_close(g);
    if (st->n_mem_raw) {
        GEN_STR(g, "raw");
        yajl_gen_map_open(g);
        for (size_t i = 0; i < st->n_mem_raw; i++)
            GEN_U64(g, st->mem_raw[i].key, st->mem_raw[i].value);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
}

/* runc's events JSON ("type":"stats") for one sample. */
static void print_stats(const char *id, const struct zcg_stats *st)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return;
    yajl_gen_map_open(g);
    GEN_STR(g, "type"); GEN_STR(g, "stats");
    GEN_STR(g, "id"); GEN_STR(g, id);
    GEN_STR(g, "data");
    yajl_gen_map_open(g);
    gen_cpu(g, st);
    gen_memory(g, st);
    GEN_STR(g, "pids");
    yajl_gen_map_open(g);
    GEN_U64(g, "current", st->pids_current);
    GEN_U64(g, "limit", st->pids_limit);
    yajl_gen_map_close(g);
    GEN_STR(g, "blkio");
    yajl_gen_map_open(g);
    gen_blkio_list(g, "ioServiceBytesRecursive", st->io_bytes, st->n_io_bytes);
    gen_blkio_list(g, "ioServicedRecursive", st->io_ops, st->n_io_ops);
    yajl_gen_map_close(g);
    GEN_STR(g, "hugetlb");
    yajl_gen_map_open(g);
    for (size_t i = 0; i < st->n_hugetlb; i++) {
        GEN_STR(g, st->hugetlb[i].page_size);
        yajl_gen_map_open(g);
        GEN_U64(g, "usage", st->hugetlb[i].usage);
        GEN_U64(g, "max", st->hugetlb[i].max_usage);
        GEN_U64(g, "failcnt", st->hugetlb[i].failcnt);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    print_json(g);
    yajl_gen_free(g);
}

/* {"type":"oom","id":ID}, as runc reports each OOM kill. */
static void print_oom(const char *id)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return;
    yajl_gen_map_open(g);
    GEN_STR(g, "type"); GEN_STR(g, "oom");
    GEN_STR(g, "id"); GEN_STR(g, id);
    yajl_gen_map_close(g);
    print_json(g);
    yajl_gen_free(g);
}

/* Parses Go-style durations: "5s", "500ms", "1m", "2" (seconds). */
static int parse_duration_ms(const char *s, long *ms)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    if (!*end || !strcmp(end, "s"))
        *ms = (long)(v * 1000);
    else if (!strcmp(end, "ms"))
        *ms = (long)v;
    else if (!strcmp(end, "m"))
        *ms = (long)(v * 60000);
    else
        return -1;
    return *ms > 0 ? 0 : -1;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* How often the OOM counter is looked at between stats samples. */
#define OOM_POLL_MS 100L

static int cmd_events(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"stats", no_argument, NULL, 's'}, {"interval", required_argument, NULL, 'i'}, {0}};
    struct zcg_stats st = {0};
    struct zerr e = {0};
    bool once = false, first = true;
    long interval = 5000, next_stats;
    uint64_t ooms_seen = 0;
    const char *id;
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 's')
            once = true;
        else if (c == 'i') {
            if (parse_duration_ms(optarg, &interval) < 0)
                return zcli_usage_error(&zcmd_events, "--interval: invalid duration \"%s\"", optarg);
        } else
            return zcli_usage_error(&zcmd_events, "unknown option %s", argv[optind - 1]);
    }
    if (zcli_expect_args(&zcmd_events, argc, optind, 1, 1))
        return 1;
    id = argv[optind];
    next_stats = now_ms();
    for (;;) {
        long now, wait;
        struct timespec ts;
        if (zcontainer_stats(&cli->rt, id, &st, &e) < 0) {
            /* the stream ends when the container stops or goes away */
            if (!once && (e.code == ESRCH || (!first && e.code == ENOENT)))
                return 0;
            return zcli_fail(cli, NULL, &e);
        }
        if (once) {
            print_stats(id, &st);
            zcg_stats_clear(&st);
            return 0;
        }
        /* OOM kills from before the stream started are not events */
        if (!first)
            for (uint64_t k = ooms_seen; k < st.oom_kill_count; k++)
                print_oom(id);
        ooms_seen = st.oom_kill_count;
        first = false;
        now = now_ms();
        if (now >= next_stats) {
            print_stats(id, &st);
            next_stats += interval;
            if (next_stats <= now) /* a slow sample: do not burst to catch up */
                next_stats = now + interval;
        }
        zcg_stats_clear(&st);
        wait = next_stats - now < OOM_POLL_MS ? next_stats - now : OOM_POLL_MS;
        ts.tv_sec = wait / 1000;
        ts.tv_nsec = (wait % 1000) * 1000000L;
        nanosleep(&ts, NULL);
    }
}

const struct zcommand zcmd_update = {
    "update", "update container resource constraints", "[command options] <container-id>",
    "   --resources FILE, -r FILE   linux.resources JSON (\"-\" for stdin)\n"
    "   --memory SIZE               memory limit (e.g. 512m, -1 for unlimited)\n"
    "   --memory-reservation SIZE   memory soft limit\n"
    "   --memory-swap SIZE          memory plus swap limit\n"
    "   --kernel-memory SIZE, --kernel-memory-tcp SIZE   (cgroup v1 kernels that have them)\n"
    "   --cpu-share N, --cpu-period US, --cpu-quota US, --cpu-burst US\n"
    "   --cpu-rt-period US, --cpu-rt-runtime US, --cpu-idle 0|1\n"
    "   --cpuset-cpus LIST, --cpuset-mems LIST\n"
    "   --pids-limit N              maximum number of processes (-1 for unlimited)\n"
    "   --blkio-weight N            10..1000\n",
    cmd_update};
const struct zcommand zcmd_events = {
    "events", "display container events and resource usage statistics", "[command options] <container-id>",
    "   --stats             print one stats sample and exit\n"
    "   --interval DURATION sampling interval (default: 5s)\n"
    "Without --stats, prints a stats sample every interval and an {\"type\":\"oom\"}\n"
    "line for each process the OOM killer ends, until the container stops.\n",
    cmd_events};
