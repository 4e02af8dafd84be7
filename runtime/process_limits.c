/* Validation and application of the per-process limits of process.* and
 * linux.personality: rlimits, oomScoreAdj, scheduler (sched_setattr),
 * ioPriority (ioprio_set), personality(2) and CPU affinity.
 *
 * Names are resolved here from the strings of the spec (the authoritative
 * form), so a hand-built spec behaves exactly as a parsed one. */
#include "runtime/process_attrs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"

/* ------------------------------------------------------------ name tables */

struct name_value {
    const char *name;
    unsigned long value;
};

static const struct name_value rlimit_names[] = {
    { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
    { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
    { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
    { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
    { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
    { "RLIMIT_STACK", RLIMIT_STACK },
};

enum { POLICY_OTHER = 0, POLICY_FIFO = 1, POLICY_RR = 2, POLICY_BATCH = 3,
       POLICY_ISO = 4, POLICY_IDLE = 5, POLICY_DEADLINE = 6 };

static const struct name_value sched_policy_names[] = {
    { "SCHED_OTHER", POLICY_OTHER }, { "SCHED_FIFO", POLICY_FIFO },
    { "SCHED_RR", POLICY_RR },       { "SCHED_BATCH", POLICY_BATCH },
    { "SCHED_ISO", POLICY_ISO },     { "SCHED_IDLE", POLICY_IDLE },
    { "SCHED_DEADLINE", POLICY_DEADLINE },
};

/* The uapi values of include/uapi/linux/sched.h. */
#define FLAG_RESET_ON_FORK 0x01UL
#define FLAG_RECLAIM 0x02UL
#define FLAG_DL_OVERRUN 0x04UL
#define FLAG_KEEP_POLICY 0x08UL
#define FLAG_KEEP_PARAMS 0x10UL
#define FLAG_UTIL_CLAMP_MIN 0x20UL
#define FLAG_UTIL_CLAMP_MAX 0x40UL

static const struct name_value sched_flag_names[] = {
    { "SCHED_FLAG_RESET_ON_FORK", FLAG_RESET_ON_FORK },
    { "SCHED_FLAG_RECLAIM", FLAG_RECLAIM },
    { "SCHED_FLAG_DL_OVERRUN", FLAG_DL_OVERRUN },
    { "SCHED_FLAG_KEEP_POLICY", FLAG_KEEP_POLICY },
    { "SCHED_FLAG_KEEP_PARAMS", FLAG_KEEP_PARAMS },
    { "SCHED_FLAG_UTIL_CLAMP_MIN", FLAG_UTIL_CLAMP_MIN },
    { "SCHED_FLAG_UTIL_CLAMP_MAX", FLAG_UTIL_CLAMP_MAX },
};

#define IOPRIO_CLASS_SHIFT 13
static const struct name_value ioprio_class_names[] = {
    { "IOPRIO_CLASS_RT", 1 }, { "IOPRIO_CLASS_BE", 2 }, { "IOPRIO_CLASS_IDLE", 3 },
};

static const struct name_value personality_domain_names[] = {
    { "LINUX", PER_LINUX }, { "LINUX32", PER_LINUX32 },
};

static const struct name_value personality_flag_names[] = {
    { "UNAME26", UNAME26 },
    { "ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE },
    { "FDPIC_FUNCPTRS", FDPIC_FUNCPTRS },
    { "MMAP_PAGE_ZERO", MMAP_PAGE_ZERO },
    { "ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT },
    { "READ_IMPLIES_EXEC", READ_IMPLIES_EXEC },
    { "ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT },
    { "SHORT_INODE", SHORT_INODE },
    { "WHOLE_SECONDS", WHOLE_SECONDS },
    { "STICKY_TIMEOUTS", STICKY_TIMEOUTS },
    { "ADDR_LIMIT_3GB", ADDR_LIMIT_3GB },
};

static bool lookup(const struct name_value *table, size_t n, const char *name,
                   unsigned long *value)
{
    if (!name)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *value = table[i].value;
            return true;
        }
    }
    return false;
}
#define LOOKUP(table, name, value) lookup(table, ZARRAY_SIZE(table), name, value)

/* ------------------------------------------------------------ cpu lists */

static int parse_cpu_number(const char **s, long *out)
{
    char *end;
    if (**s < '0' || **s > '9')
        return -1;
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (errno || v >= ZPROC_MAX_CPUS)
        return -1;
    *s = end;
    *out = v;
    return 0;
}

/* Walks "N,N-M,..." calling into set (when not NULL, of setsize bytes). */
static int walk_cpu_list(const char *list, cpu_set_t *set, size_t setsize,
                         int *max_cpu, struct zerr *e)
{
    const char *s = list;
    long max = -1;

    if (!list || !*list)
        return zerr_set(e, EINVAL, "empty CPU list");
    for (;;) {
        long first, last;
        while (*s == ' ')
            s++;
        if (parse_cpu_number(&s, &first) < 0)
            return zerr_set(e, EINVAL, "invalid CPU list \"%s\": expected a CPU number "
                            "(0-%d) at offset %td", list, ZPROC_MAX_CPUS - 1, s - list);
        last = first;
        if (*s == '-') {
            s++;
            if (parse_cpu_number(&s, &last) < 0)
                return zerr_set(e, EINVAL, "invalid CPU list \"%s\": expected a CPU number "
                                "(0-%d) at offset %td", list, ZPROC_MAX_CPUS - 1, s - list);
            if (last < first)
                return zerr_set(e, EINVAL, "invalid CPU list \"%s\": range %ld-%ld is "
                                "reversed", list, first, last);
        }
        while (*s == ' ')
            s++;
        if (set)
            for (long c = first; c <= last; c++)
                CPU_SET_S((size_t)c, setsize, set);
        if (last > max)
            max = last;
        if (*s == '\0')
            break;
        if (*s != ',')
            return zerr_set(e, EINVAL, "invalid CPU list \"%s\": unexpected '%c' at "
                            "offset %td", list, *s, s - list);
        s++;
    }
    if (max_cpu)
        *max_cpu = (int)max;
    return 0;
}

int zproc_parse_cpu_list(const char *cpu_list, int *max_cpu, struct zerr *e)
{
    return walk_cpu_list(cpu_list, NULL, 0, max_cpu, e);
}

int zproc_set_cpu_affinity(const char *cpu_list, struct zerr *e)
{
    int max_cpu;
    if (walk_cpu_list(cpu_list, NULL, 0, &max_cpu, e) < 0)
        return -1;
    cpu_set_t *set = CPU_ALLOC((size_t)max_cpu + 1);
    if (!set)
        return zerr_sys(e, "allocating a CPU set");
    size_t setsize = CPU_ALLOC_SIZE((size_t)max_cpu + 1);
    CPU_ZERO_S(setsize, set);
    walk_cpu_list(cpu_list, set, setsize, NULL, e);
    int r = sched_setaffinity(0, setsize, set);
    CPU_FREE(set);
    if (r < 0)
        return zerr_sys(e, "setting CPU affinity to \"%s\"", cpu_list);
    return 0;
}

/* ------------------------------------------------------------ validation */

static int validate_rlimits(const struct zspec_process *p, struct zerr *e)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        const struct zspec_rlimit *rl = &p->rlimits[i];
        unsigned long res;
        if (!rl->type)
            return zerr_set(e, EINVAL, "process.rlimits[%zu].type: required", i);
        if (!LOOKUP(rlimit_names, rl->type, &res))
            return zerr_set(e, EINVAL, "process.rlimits[%zu].type: unknown rlimit \"%s\"",
                            i, rl->type);
        for (size_t j = 0; j < i; j++)
            if (p->rlimits[j].type && strcmp(p->rlimits[j].type, rl->type) == 0)
                return zerr_set(e, EINVAL, "process.rlimits[%zu].type: duplicate rlimit "
                                "\"%s\" (also at process.rlimits[%zu])", i, rl->type, j);
        if (rl->soft > rl->hard)
            return zerr_set(e, EINVAL, "process.rlimits[%zu]: %s soft limit %" PRIu64
                            " is greater than its hard limit %" PRIu64, i, rl->type,
                            rl->soft, rl->hard);
    }
    return 0;
}

static int validate_scheduler(const struct zspec_scheduler *sc, struct zerr *e)
{
    unsigned long policy, flag, flags = 0;

    if (!sc->policy)
        return zerr_set(e, EINVAL, "process.scheduler.policy: required");
    if (!LOOKUP(sched_policy_names, sc->policy, &policy))
        return zerr_set(e, EINVAL, "process.scheduler.policy: unknown policy \"%s\"",
                        sc->policy);
    if (policy == POLICY_ISO)
        return zerr_set(e, EINVAL, "process.scheduler.policy: SCHED_ISO is not "
                        "implemented by the Linux kernel");
    for (size_t i = 0; i < sc->n_flags; i++) {
        if (!LOOKUP(sched_flag_names, sc->flags[i], &flag))
            return zerr_set(e, EINVAL, "process.scheduler.flags[%zu]: unknown flag \"%s\"",
                            i, sc->flags[i] ? sc->flags[i] : "");
        if ((flag & (FLAG_RECLAIM | FLAG_DL_OVERRUN)) && policy != POLICY_DEADLINE)
            return zerr_set(e, EINVAL, "process.scheduler.flags[%zu]: %s is only valid "
                            "with SCHED_DEADLINE", i, sc->flags[i]);
        flags |= flag;
    }
    if (sc->has_nice && (sc->nice < -20 || sc->nice > 19))
        return zerr_set(e, EINVAL, "process.scheduler.nice: %" PRId32 " is out of range "
                        "(-20..19)", sc->nice);

    bool realtime = policy == POLICY_FIFO || policy == POLICY_RR;
    bool keep_params = flags & FLAG_KEEP_PARAMS;
    if (realtime && !keep_params) {
        if (!sc->has_priority || sc->priority < 1 || sc->priority > 99)
            return zerr_set(e, EINVAL, "process.scheduler.priority: %s needs a priority "
                            "in 1..99", sc->policy);
    } else if (sc->has_priority && sc->priority != 0) {
        return zerr_set(e, EINVAL, "process.scheduler.priority: only SCHED_FIFO and "
                        "SCHED_RR take a priority");
    }

    if (policy != POLICY_DEADLINE) {
        if (sc->has_runtime || sc->has_deadline || sc->has_period)
            return zerr_set(e, EINVAL, "process.scheduler: runtime, deadline and period "
                            "are only valid with SCHED_DEADLINE");
        return 0;
    }
    if (keep_params)
        return 0;
    if (!sc->has_runtime || sc->runtime == 0)
        return zerr_set(e, EINVAL, "process.scheduler.runtime: SCHED_DEADLINE needs a "
                        "runtime");
    if (!sc->has_deadline || sc->deadline == 0)
        return zerr_set(e, EINVAL, "process.scheduler.deadline: SCHED_DEADLINE needs a "
                        "deadline");
    /* The kernel's rule (sched/deadline.c): 1024ns <= runtime <= deadline <=
     * period, where an absent period means period = deadline. The upper
     * bound keeps the values below 2^63 as the kernel demands. */
    uint64_t period = sc->has_period && sc->period ? sc->period : sc->deadline;
    if (sc->runtime < 1024)
        return zerr_set(e, EINVAL, "process.scheduler.runtime: %" PRIu64 "ns is below "
                        "the kernel's minimum of 1024ns", sc->runtime);
    if (sc->runtime > sc->deadline || sc->deadline > period || period > INT64_MAX)
        return zerr_set(e, EINVAL, "process.scheduler: SCHED_DEADLINE needs runtime "
                        "(%" PRIu64 ") <= deadline (%" PRIu64 ") <= period (%" PRIu64 ")",
                        sc->runtime, sc->deadline, period);
    return 0;
}

static int validate_io_priority(const struct zspec_io_priority *io, struct zerr *e)
{
    unsigned long class;
    if (!io->class)
        return zerr_set(e, EINVAL, "process.ioPriority.class: required");
    if (!LOOKUP(ioprio_class_names, io->class, &class))
        return zerr_set(e, EINVAL, "process.ioPriority.class: unknown class \"%s\"",
                        io->class);
    if (io->priority < 0 || io->priority > 7)
        return zerr_set(e, EINVAL, "process.ioPriority.priority: %" PRId32 " is out of "
                        "range (0..7)", io->priority);
    return 0;
}

int zproc_validate_limits(const struct zspec_process *p, struct zerr *e)
{
    if (validate_rlimits(p, e) < 0)
        return -1;
    if (p->has_oom_score_adj && (p->oom_score_adj < -1000 || p->oom_score_adj > 1000))
        return zerr_set(e, EINVAL, "process.oomScoreAdj: %" PRId32 " is out of range "
                        "(-1000..1000)", p->oom_score_adj);
    if (p->scheduler && validate_scheduler(p->scheduler, e) < 0)
        return -1;
    if (p->io_priority && validate_io_priority(p->io_priority, e) < 0)
        return -1;
    if (p->exec_cpu_affinity) {
        if (p->exec_cpu_affinity->initial &&
            zproc_parse_cpu_list(p->exec_cpu_affinity->initial, NULL, e) < 0)
            return zerr_prefix(e, "process.execCPUAffinity.initial");
        if (p->exec_cpu_affinity->final &&
            zproc_parse_cpu_list(p->exec_cpu_affinity->final, NULL, e) < 0)
            return zerr_prefix(e, "process.execCPUAffinity.final");
    }
    return 0;
}

static int personality_value(const struct zspec_personality *pers, unsigned long *out,
                             struct zerr *e)
{
    unsigned long domain, flag;
    if (!pers->domain)
        return zerr_set(e, EINVAL, "linux.personality.domain: required");
    if (!LOOKUP(personality_domain_names, pers->domain, &domain))
        return zerr_set(e, EINVAL, "linux.personality.domain: unknown domain \"%s\" "
                        "(expected LINUX or LINUX32)", pers->domain);
    for (size_t i = 0; i < pers->n_flags; i++) {
        if (!LOOKUP(personality_flag_names, pers->flags[i], &flag))
            return zerr_set(e, EINVAL, "linux.personality.flags[%zu]: unknown flag \"%s\"",
                            i, pers->flags[i] ? pers->flags[i] : "");
        domain |= flag;
    }
    *out = domain;
    return 0;
}

int zproc_validate_personality(const struct zspec_personality *pers, struct zerr *e)
{
    unsigned long value;
    return pers ? personality_value(pers, &value, e) : 0;
}

/* ------------------------------------------------------------ application */

static int apply_rlimits(const struct zspec_process *p, struct zerr *e)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        const struct zspec_rlimit *rl = &p->rlimits[i];
        unsigned long res;
        if (!LOOKUP(rlimit_names, rl->type, &res))
            return zerr_set(e, EINVAL, "process.rlimits[%zu].type: unknown rlimit \"%s\"",
                            i, rl->type ? rl->type : "");
        /* RLIM_INFINITY is all ones, as is UINT64_MAX in the spec. */
        struct rlimit lim = { .rlim_cur = (rlim_t)rl->soft, .rlim_max = (rlim_t)rl->hard };
        if (prlimit(0, (__rlimit_resource_t)res, &lim, NULL) < 0)
            return zerr_sys(e, "process.rlimits[%zu]: setting %s to soft %" PRIu64
                            ", hard %" PRIu64 "%s", i, rl->type, rl->soft, rl->hard,
                            errno == EPERM ? " (raising a hard limit needs "
                            "CAP_SYS_RESOURCE on the host: not available without root)" : "");
    }
    return 0;
}

static int apply_oom_score_adj(int32_t value, struct zerr *e)
{
    char buf[16];
    int len = snprintf(buf, sizeof buf, "%" PRId32, value);
    _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "process.oomScoreAdj: opening /proc/self/oom_score_adj");
    if (write(fd, buf, (size_t)len) != len)
        return zerr_sys(e, "process.oomScoreAdj: writing %" PRId32
                        " to /proc/self/oom_score_adj%s", value,
                        errno == EACCES ? " (lowering it needs CAP_SYS_RESOURCE on the "
                        "host: not available without root)" : "");
    return 0;
}

/* glibc 2.36 has no wrapper nor struct for sched_setattr; this is the uapi
 * layout of SCHED_ATTR_SIZE_VER1. */
struct zsched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

static int apply_scheduler(const struct zspec_scheduler *sc, struct zerr *e)
{
    unsigned long policy, flag;
    struct zsched_attr attr = { .size = sizeof attr };

    if (!LOOKUP(sched_policy_names, sc->policy, &policy))
        return zerr_set(e, EINVAL, "process.scheduler.policy: unknown policy \"%s\"",
                        sc->policy ? sc->policy : "");
    attr.sched_policy = (uint32_t)policy;
    for (size_t i = 0; i < sc->n_flags; i++) {
        if (!LOOKUP(sched_flag_names, sc->flags[i], &flag))
            return zerr_set(e, EINVAL, "process.scheduler.flags[%zu]: unknown flag \"%s\"",
                            i, sc->flags[i] ? sc->flags[i] : "");
        attr.sched_flags |= flag;
    }
    attr.sched_nice = sc->has_nice ? sc->nice : 0;
    attr.sched_priority = sc->has_priority ? (uint32_t)sc->priority : 0;
    attr.sched_runtime = sc->has_runtime ? sc->runtime : 0;
    attr.sched_deadline = sc->has_deadline ? sc->deadline : 0;
    attr.sched_period = sc->has_period ? sc->period : 0;
    /* The spec has no clamp values: a clamp flag means "no clamping". */
    attr.sched_util_min = 0;
    attr.sched_util_max = 1024;
    if (syscall(SYS_sched_setattr, 0, &attr, 0U) < 0)
        return zerr_sys(e, "process.scheduler: sched_setattr(%s)", sc->policy);
    return 0;
}

static int apply_io_priority(const struct zspec_io_priority *io, struct zerr *e)
{
    unsigned long class;
    enum { IOPRIO_WHO_PROCESS = 1 };
    if (!LOOKUP(ioprio_class_names, io->class, &class))
        return zerr_set(e, EINVAL, "process.ioPriority.class: unknown class \"%s\"",
                        io->class ? io->class : "");
    int value = (int)(class << IOPRIO_CLASS_SHIFT) | (io->priority & 7);
    if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) < 0)
        return zerr_sys(e, "process.ioPriority: ioprio_set(%s, %" PRId32 ")",
                        io->class, io->priority);
    return 0;
}

int zproc_apply_limits(const struct zspec_process *p, const struct zspec_linux *lx,
                       struct zerr *e)
{
    if (apply_rlimits(p, e) < 0)
        return -1;
    if (p->has_oom_score_adj && apply_oom_score_adj(p->oom_score_adj, e) < 0)
        return -1;
    if (lx && lx->personality) {
        unsigned long value;
        if (personality_value(lx->personality, &value, e) < 0)
            return -1;
        if (personality(value) < 0)
            return zerr_sys(e, "linux.personality: personality(0x%lx)", value);
    }
    if (p->io_priority && apply_io_priority(p->io_priority, e) < 0)
        return -1;
    if (p->scheduler && apply_scheduler(p->scheduler, e) < 0)
        return -1;
    if (p->exec_cpu_affinity && p->exec_cpu_affinity->final &&
        zproc_set_cpu_affinity(p->exec_cpu_affinity->final, e) < 0)
        return zerr_prefix(e, "process.execCPUAffinity.final");
    return 0;
}
