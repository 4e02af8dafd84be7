/* Value conversions between the OCI resource model (which follows cgroup
 * v1) and the cgroupfs files, kept apart so each formula is unit-tested. */
#include "cgroups/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

/* blkio weights span [10, 1000]; v2 io.weight [1, 10000]. The linear map
 * (10 -> 1, 1000 -> 10000) is the one runc and crun use. */
uint64_t zcg_blkio_weight_to_io(uint64_t weight)
{
    if (weight == 0)
        return 0;
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + ((weight - 10) * 9999) / 990;
}

int zcg_blkio_weight_check(const char *field, uint64_t weight, struct zerr *e)
{
    if (weight != 0 && (weight < 10 || weight > 1000))
        return zerr_set(e, EINVAL, "%s %" PRIu64 ": expected 10..1000", field,
                        weight);
    return 0;
}

bool zcg_blkio_requested(const struct zspec_blkio *b)
{
    return b && ((b->has_weight && b->weight) ||
                 (b->has_leaf_weight && b->leaf_weight) ||
                 b->n_weight_device || b->n_throttle_read_bps ||
                 b->n_throttle_write_bps || b->n_throttle_read_iops ||
                 b->n_throttle_write_iops);
}

static int check_dev(const char *field, size_t i, int64_t major, int64_t minor,
                     struct zerr *e)
{
    if (major < 0 || major > UINT32_MAX || minor < 0 || minor > UINT32_MAX)
        return zerr_set(e, EINVAL, "%s[%zu]: device %" PRId64 ":%" PRId64
                        " out of range", field, i, major, minor);
    return 0;
}

/* Finds or appends the io.max entry of one device. */
static struct zcg_io_max *io_max_slot(struct zcg_io_max *v, size_t *n,
                                      int64_t major, int64_t minor)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i].major == major && v[i].minor == minor)
            return &v[i];
    v[*n] = (struct zcg_io_max){.major = major, .minor = minor};
    return &v[(*n)++];
}

int zcg_io_max_collect(const struct zspec_blkio *b, struct zcg_io_max **out,
                       size_t *n, struct zerr *e)
{
    static const char *const fields[ZCG_IO_MAX_KEYS] = {
        "linux.resources.blockIO.throttleReadBpsDevice",
        "linux.resources.blockIO.throttleWriteBpsDevice",
        "linux.resources.blockIO.throttleReadIOPSDevice",
        "linux.resources.blockIO.throttleWriteIOPSDevice",
    };
    const struct zspec_throttle_device *lists[ZCG_IO_MAX_KEYS] = {
        b->throttle_read_bps, b->throttle_write_bps, b->throttle_read_iops,
        b->throttle_write_iops};
    size_t counts[ZCG_IO_MAX_KEYS] = {
        b->n_throttle_read_bps, b->n_throttle_write_bps,
        b->n_throttle_read_iops, b->n_throttle_write_iops};
    size_t total = 0;
    struct zcg_io_max *v;

    *out = NULL;
    *n = 0;
    for (size_t k = 0; k < ZCG_IO_MAX_KEYS; k++)
        total += counts[k];
    if (total == 0)
        return 0;
    if (!(v = calloc(total, sizeof *v)))
        return zerr_sys(e, "cgroup: io.max");
    for (size_t k = 0; k < ZCG_IO_MAX_KEYS; k++) {
        for (size_t i = 0; i < counts[k]; i++) {
            const struct zspec_throttle_device *t = &lists[k][i];
            struct zcg_io_max *slot;
            if (check_dev(fields[k], i, t->major, t->minor, e) < 0) {
                free(v);
                return -1;
            }
            slot = io_max_slot(v, n, t->major, t->minor);
            slot->set[k] = true;
            slot->value[k] = t->rate;
        }
    }
    *out = v;
    return 0;
}

/* "8:0 rbps=1048576 wiops=max": 0 lifts a limit, as on v1. */
int zcg_io_max_line(const struct zcg_io_max *m, char *buf, size_t size,
                    struct zerr *e)
{
    static const char *const keys[ZCG_IO_MAX_KEYS] = {"rbps", "wbps", "riops",
                                                      "wiops"};
    size_t len;
    int w = snprintf(buf, size, "%" PRId64 ":%" PRId64, m->major, m->minor);

    if (w < 0 || (size_t)w >= size)
        return zerr_set(e, EINVAL, "cgroup: io.max line too long");
    len = (size_t)w;
    for (size_t k = 0; k < ZCG_IO_MAX_KEYS; k++) {
        if (!m->set[k])
            continue;
        if (m->value[k])
            w = snprintf(buf + len, size - len, " %s=%" PRIu64, keys[k],
                         m->value[k]);
        else
            w = snprintf(buf + len, size - len, " %s=max", keys[k]);
        if (w < 0 || (size_t)w >= size - len)
            return zerr_set(e, EINVAL, "cgroup: io.max line too long");
        len += (size_t)w;
    }
    return 0;
}

/* "MAJ:MIN value" for the v1 weight_device and throttle files. */
int zcg_dev_value_line(const char *field, size_t i, int64_t major,
                       int64_t minor, uint64_t value, char *buf, size_t size,
                       struct zerr *e)
{
    if (check_dev(field, i, major, minor, e) < 0)
        return -1;
    snprintf(buf, size, "%" PRId64 ":%" PRId64 " %" PRIu64, major, minor,
             value);
    return 0;
}

/* Kernel hugepage size names: "64KB", "2MB", "1GB". The name becomes part
 * of a file name, so nothing else passes. */
int zcg_hugepage_size_check(const char *size, struct zerr *e)
{
    size_t digits = size ? strspn(size, "0123456789") : 0;
    if (!size || digits == 0 || digits > 10 ||
        (strcmp(size + digits, "KB") != 0 && strcmp(size + digits, "MB") != 0 &&
         strcmp(size + digits, "GB") != 0))
        return zerr_set(e, EINVAL, "pageSize \"%s\": expected a size such as "
                        "\"2MB\" or \"1GB\"", size ? size : "");
    return 0;
}

/* One rdma.max line: "mlx4_0 hca_handle=2 hca_object=2000". Absent limits
 * are left out, which keeps the kernel's current value. */
int zcg_rdma_line(const struct zspec_rdma *r, char *buf, size_t size,
                  struct zerr *e)
{
    char handles[32] = "", objects[32] = "";
    int w;

    if (!r->device || !*r->device || strlen(r->device) > 64 ||
        strpbrk(r->device, " \t\n/="))
        return zerr_set(e, EINVAL, "device \"%s\": not an RDMA device name",
                        r->device ? r->device : "");
    if (!r->has_hca_handles && !r->has_hca_objects)
        return zerr_set(e, EINVAL, "device \"%s\": neither hcaHandles nor "
                        "hcaObjects is set", r->device);
    if (r->has_hca_handles)
        snprintf(handles, sizeof handles, " hca_handle=%" PRIu32, r->hca_handles);
    if (r->has_hca_objects)
        snprintf(objects, sizeof objects, " hca_object=%" PRIu32, r->hca_objects);
    w = snprintf(buf, size, "%s%s%s", r->device, handles, objects);
    if (w < 0 || (size_t)w >= size)
        return zerr_set(e, EINVAL, "device \"%s\": line too long", r->device);
    return 0;
}

/* One net_prio.ifpriomap line: "eth0 5". */
int zcg_ifprio_line(const struct zspec_net_priority *p, char *buf, size_t size,
                    struct zerr *e)
{
    /* IFNAMSIZ is 16 including the NUL */
    if (!p->name || !*p->name || strlen(p->name) > 15 ||
        strpbrk(p->name, " \t\n/:"))
        return zerr_set(e, EINVAL, "name \"%s\": not an interface name",
                        p->name ? p->name : "");
    snprintf(buf, size, "%s %" PRIu32, p->name, p->priority);
    return 0;
}
