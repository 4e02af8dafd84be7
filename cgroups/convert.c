/* Value conversions between the OCI resource model (which follows cgroup
 * v1) and the cgroupfs files, kept apart so each formula is unit-tested. */
#include "cgroups/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* v1 shares span [2, 262144]; v2 weights [1, 10000]. The linear map is the
 * one runc and crun use, so a config gives the same weight under any of the
 * three runtimes. */
uint64_t zcg_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

/* OCI swap is the memory+swap total (v1 memsw); v2 limits swap alone. */
int zcg_swap_v2_value(const struct zspec_memory *m, char *buf, size_t size,
                      bool *set, struct zerr *e)
{
    int64_t limit = m->has_limit ? m->limit : 0;
    int64_t swap = m->has_swap ? m->swap : 0;

    *set = false;
    /* Unlimited memory with no swap value means both unlimited, as on v1. */
    if (limit == -1 && swap == 0) {
        snprintf(buf, size, "max");
        *set = true;
        return 0;
    }
    if (swap == 0)
        return 0;
    if (swap < 0) {
        snprintf(buf, size, "max");
        *set = true;
        return 0;
    }
    if (limit <= 0)
        return zerr_set(e, EINVAL,
                        "linux.resources.memory.swap %" PRId64 ": a swap limit "
                        "needs a memory limit on cgroup v2", swap);
    if (swap < limit)
        return zerr_set(e, EINVAL,
                        "linux.resources.memory.swap %" PRId64 " is below "
                        "memory.limit %" PRId64 " (swap is memory+swap)",
                        swap, limit);
    snprintf(buf, size, "%" PRId64, swap - limit);
    *set = true;
    return 0;
}

void zcg_pids_max_value(int64_t limit, char *buf, size_t size)
{
    if (limit <= 0)
        snprintf(buf, size, "max");
    else
        snprintf(buf, size, "%" PRId64, limit);
}

void zcg_v2_limit_value(int64_t v, char *buf, size_t size)
{
    if (v < 0)
        snprintf(buf, size, "max");
    else
        snprintf(buf, size, "%" PRId64, v);
}

int zcg_device_rule(const struct zspec_device_cgroup *d, char *buf,
                    size_t size, struct zerr *e)
{
    const char *type = d->type && *d->type ? d->type : "a";
    const char *access = d->access && *d->access ? d->access : "rwm";
    char major[24] = "*", minor[24] = "*";
    int n;

    if (strcmp(type, "a") != 0 && strcmp(type, "b") != 0 &&
        strcmp(type, "c") != 0)
        return zerr_set(e, EINVAL,
                        "linux.resources.devices: type \"%s\": expected a, b "
                        "or c", type);
    if (strlen(access) > 3 || strspn(access, "rwm") != strlen(access))
        return zerr_set(e, EINVAL,
                        "linux.resources.devices: access \"%s\": expected a "
                        "subset of rwm", access);
    if (d->has_major) {
        if (d->major < 0 || d->major > UINT32_MAX)
            return zerr_set(e, EINVAL,
                            "linux.resources.devices: major %" PRId64
                            " out of range", d->major);
        snprintf(major, sizeof major, "%" PRId64, d->major);
    }
    if (d->has_minor) {
        if (d->minor < 0 || d->minor > UINT32_MAX)
            return zerr_set(e, EINVAL,
                            "linux.resources.devices: minor %" PRId64
                            " out of range", d->minor);
        snprintf(minor, sizeof minor, "%" PRId64, d->minor);
    }
    n = snprintf(buf, size, "%s %s:%s %s", type, major, minor, access);
    if (n < 0 || (size_t)n >= size)
        return zerr_set(e, EINVAL, "linux.resources.devices: rule too long");
    return 0;
}

int zcg_unified_key_check(const char *key, struct zerr *e)
{
    if (!key || !*key)
        return zerr_set(e, EINVAL, "linux.resources.unified: empty key");
    if (strchr(key, '/') || strstr(key, "..") || key[0] == '.' ||
        strchr(key, '\n'))
        return zerr_set(e, EINVAL,
                        "linux.resources.unified: key \"%s\": must be a file "
                        "name in the cgroup directory (no '/' or \"..\")", key);
    if (!strchr(key, '.'))
        return zerr_set(e, EINVAL,
                        "linux.resources.unified: key \"%s\": expected "
                        "\"<controller>.<file>\"", key);
    return 0;
}
