/* VM sizing from the spec's limits and the run.oci.vm.* annotations. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vm-sandbox/handler/handler.h"
#include "vm-sandbox/vmm/vmm.h"

#define MIB (1024ull * 1024ull)

bool zvm_requested(const struct zspec *s)
{
    const char *h = s ? spec_annotation(s, ZVM_ANNOTATION_HANDLER) : NULL;
    return h && !strcmp(h, "vm");
}

int zvm_parse_bytes(const char *s, uint64_t *out, struct zerr *e)
{
    static const struct { const char *suffix; unsigned shift; } units[] = {
        { "", 0 }, { "k", 10 }, { "kib", 10 }, { "m", 20 }, { "mib", 20 }, { "g", 30 }, { "gib", 30 },
        { "t", 40 }, { "tib", 40 },
    };
    char *end;
    unsigned long long v;

    if (!s || !isdigit((unsigned char)*s))
        return zerr_set(e, EINVAL, "\"%s\": expected a size (bytes, or a number with K, M or G)", s ? s : "");
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return zerr_set(e, ERANGE, "\"%s\": too large", s);
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcasecmp(end, units[i].suffix))
            continue;
        if (units[i].shift && v > (~0ull >> units[i].shift))
            return zerr_set(e, ERANGE, "\"%s\": too large", s);
        *out = v << units[i].shift;
        return 0;
    }
    return zerr_set(e, EINVAL, "\"%s\": unknown unit \"%s\" (use K, M or G)", s, end);
}

int zvm_count_cpus(const char *list, unsigned *out, struct zerr *e)
{
    unsigned long total = 0;
    const char *p = list;

    if (!list || !*list)
        return zerr_set(e, EINVAL, "empty cpu list");
    while (*p) {
        char *end;
        unsigned long a, b;
        if (!isdigit((unsigned char)*p))
            return zerr_set(e, EINVAL, "cpu list \"%s\": expected a number at \"%s\"", list, p);
        a = strtoul(p, &end, 10);
        b = a;
        if (*end == '-') {
            if (!isdigit((unsigned char)end[1]))
                return zerr_set(e, EINVAL, "cpu list \"%s\": bad range", list);
            b = strtoul(end + 1, &end, 10);
        }
        if (b < a || b >= 65536)
            return zerr_set(e, EINVAL, "cpu list \"%s\": bad range %lu-%lu", list, a, b);
        total += b - a + 1;
        if (*end == ',' && end[1])
            end++;
        else if (*end)
            return zerr_set(e, EINVAL, "cpu list \"%s\": unexpected \"%s\"", list, end);
        p = end;
    }
    if (total == 0)
        return zerr_set(e, EINVAL, "empty cpu list");
    *out = total > 65536 ? 65536 : (unsigned)total;
    return 0;
}

static int vcpus_of(const struct zspec *s, unsigned *out, struct zerr *e)
{
    const char *a = spec_annotation(s, ZVM_ANNOTATION_CPUS);
    const struct zspec_cpu *cpu = s->linux_ && s->linux_->resources ? s->linux_->resources->cpu : NULL;

    if (a) {
        char *end;
        unsigned long v;
        errno = 0;
        v = strtoul(a, &end, 10);
        if (!isdigit((unsigned char)*a) || *end || errno || v < 1 || v > VMM_MAX_VCPUS)
            return zerr_set(e, EINVAL, "annotation %s: \"%s\": expected a number of vCPUs from 1 to %d",
                            ZVM_ANNOTATION_CPUS, a, VMM_MAX_VCPUS);
        *out = (unsigned)v;
        return 0;
    }
    *out = 1;
    if (cpu && cpu->has_quota && cpu->quota > 0) {
        uint64_t period = cpu->has_period && cpu->period > 0 ? cpu->period : 100000;
        uint64_t n = ((uint64_t)cpu->quota + period - 1) / period;
        *out = n > VMM_MAX_VCPUS ? VMM_MAX_VCPUS : (unsigned)n;
    } else if (cpu && cpu->cpus && *cpu->cpus) {
        unsigned n;
        if (zvm_count_cpus(cpu->cpus, &n, e) < 0)
            return zerr_prefix(e, "linux.resources.cpu.cpus");
        *out = n > VMM_MAX_VCPUS ? VMM_MAX_VCPUS : n;
    }
    return 0;
}

static int memory_of(const struct zspec *s, uint64_t *out_mib, struct zerr *e)
{
    const char *a = spec_annotation(s, ZVM_ANNOTATION_MEMORY);
    const struct zspec_memory *mem = s->linux_ && s->linux_->resources ? s->linux_->resources->memory : NULL;
    bool limited = mem && mem->has_limit && mem->limit > 0;
    uint64_t limit_mib = limited ? (uint64_t)mem->limit / MIB : 0, mib;

    if (a) {
        uint64_t bytes;
        if (zvm_parse_bytes(a, &bytes, e) < 0)
            return zerr_prefix(e, "annotation %s", ZVM_ANNOTATION_MEMORY);
        mib = bytes / MIB;
        if (mib < ZVM_MIN_MEM_MIB || mib > ZVM_MAX_MEM_MIB)
            return zerr_set(e, EINVAL, "annotation %s: \"%s\": guest memory must be from %u MiB to %u MiB",
                            ZVM_ANNOTATION_MEMORY, a, ZVM_MIN_MEM_MIB, ZVM_MAX_MEM_MIB);
        if (limited && mib + ZVM_OVERHEAD_MIB > limit_mib)
            return zerr_set(e, EINVAL,
                            "annotation %s: %" PRIu64 " MiB and the monitor's %u MiB do not fit in "
                            "linux.resources.memory.limit (%" PRIu64 " MiB)",
                            ZVM_ANNOTATION_MEMORY, mib, ZVM_OVERHEAD_MIB, limit_mib);
    } else if (limited) {
        if (limit_mib < ZVM_MIN_MEM_MIB + ZVM_OVERHEAD_MIB)
            return zerr_set(e, EINVAL,
                            "linux.resources.memory.limit: %" PRIu64 " MiB is too small for a VM "
                            "(the guest needs %u MiB and the monitor %u MiB)",
                            limit_mib, ZVM_MIN_MEM_MIB, ZVM_OVERHEAD_MIB);
        mib = limit_mib - ZVM_OVERHEAD_MIB;
        if (mib > ZVM_MAX_MEM_MIB)
            mib = ZVM_MAX_MEM_MIB;
    } else {
        mib = ZVM_DEFAULT_MEM_MIB;
    }
    *out_mib = mib & ~(uint64_t)1;
    return 0;
}

int zvm_size_from_spec(const struct zspec *s, struct zvm_size *out, struct zerr *e)
{
    if (vcpus_of(s, &out->vcpus, e) < 0 || memory_of(s, &out->mem_mib, e) < 0)
        return -1;
    return 0;
}
