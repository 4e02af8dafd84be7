/* linux.resources (also `update --resources FILE`) -> struct zspec_resources. */
#include "core/spec_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cgroup v1 blkio.weight and blkio.leaf_weight accept 10..1000. */
#define BLKIO_WEIGHT_MIN 10
#define BLKIO_WEIGHT_MAX 1000

static const struct spec_name device_cgroup_types[] = {
    { "a", 'a' }, { "b", 'b' }, { "c", 'c' }, { NULL, 0 },
};

static int parse_device_cgroup(struct spec_rd *rd, const struct zjson *v,
                               struct zspec_device_cgroup *d)
{
    int err;
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0)
        return -1;
    /* "allow" is required by the schema; a missing one must not turn into
     * a silent deny-or-allow. */
    if (!spec_rd_field(rd, v, "allow", SPEC_REQ, &err))
        return -1;
    if (spec_rd_bool(rd, v, "allow", NULL, &d->allow) < 0 ||
        spec_rd_enum(rd, v, "type", SPEC_OPT, device_cgroup_types,
                     "device cgroup type", &d->type, NULL) < 0 ||
        spec_rd_i64(rd, v, "major", SPEC_OPT, &d->has_major, &d->major) < 0 ||
        spec_rd_i64(rd, v, "minor", SPEC_OPT, &d->has_minor, &d->minor) < 0 ||
        spec_rd_str(rd, v, "access", SPEC_OPT, &d->access) < 0)
        return -1;
    if (d->access && d->access[strspn(d->access, "rwm")] != '\0') {
        size_t mark = spec_rd_push_key(rd, "access");
        spec_rd_fail(rd, "invalid access \"%.20s\" (expected letters of \"rwm\")",
                     d->access);
        spec_rd_pop(rd, mark);
        return -1;
    }
    return 0;
}

static int parse_memory(struct spec_rd *rd, const struct zjson *v,
                        struct zspec_memory *m)
{
    if (spec_rd_i64(rd, v, "limit", SPEC_OPT, &m->has_limit, &m->limit) < 0 ||
        spec_rd_i64(rd, v, "reservation", SPEC_OPT, &m->has_reservation,
                    &m->reservation) < 0 ||
        spec_rd_i64(rd, v, "swap", SPEC_OPT, &m->has_swap, &m->swap) < 0 ||
        spec_rd_i64(rd, v, "kernel", SPEC_OPT, &m->has_kernel, &m->kernel) < 0 ||
        spec_rd_i64(rd, v, "kernelTCP", SPEC_OPT, &m->has_kernel_tcp,
                    &m->kernel_tcp) < 0 ||
        /* Not capped at 100: engines write 2^64-1 for "unset", as runc
         * accepts; the cgroup backend checks the range. */
        spec_rd_u64(rd, v, "swappiness", SPEC_OPT, &m->has_swappiness,
                    &m->swappiness) < 0 ||
        spec_rd_bool(rd, v, "disableOOMKiller", &m->has_disable_oom_killer,
                     &m->disable_oom_killer) < 0 ||
        spec_rd_bool(rd, v, "useHierarchy", &m->has_use_hierarchy,
                     &m->use_hierarchy) < 0 ||
        spec_rd_bool(rd, v, "checkBeforeUpdate", &m->has_check_before_update,
                     &m->check_before_update) < 0)
        return -1;
    return 0;
}

static int parse_cpu(struct spec_rd *rd, const struct zjson *v, struct zspec_cpu *c)
{
    if (spec_rd_u64(rd, v, "shares", SPEC_OPT, &c->has_shares, &c->shares) < 0 ||
        spec_rd_i64(rd, v, "quota", SPEC_OPT, &c->has_quota, &c->quota) < 0 ||
        spec_rd_u64(rd, v, "burst", SPEC_OPT, &c->has_burst, &c->burst) < 0 ||
        spec_rd_u64(rd, v, "period", SPEC_OPT, &c->has_period, &c->period) < 0 ||
        spec_rd_i64(rd, v, "realtimeRuntime", SPEC_OPT, &c->has_realtime_runtime,
                    &c->realtime_runtime) < 0 ||
        spec_rd_u64(rd, v, "realtimePeriod", SPEC_OPT, &c->has_realtime_period,
                    &c->realtime_period) < 0 ||
        spec_rd_str(rd, v, "cpus", SPEC_OPT, &c->cpus) < 0 ||
        spec_rd_str(rd, v, "mems", SPEC_OPT, &c->mems) < 0 ||
        spec_rd_i64(rd, v, "idle", SPEC_OPT, &c->has_idle, &c->idle) < 0)
        return -1;
    return 0;
}

static int parse_pids(struct spec_rd *rd, const struct zjson *v, struct zspec_pids *p)
{
    return spec_rd_i64(rd, v, "limit", SPEC_OPT, &p->has_limit, &p->limit);
}

static int read_weight(struct spec_rd *rd, const struct zjson *v, const char *key,
                       bool *has, uint16_t *out)
{
    return spec_rd_u16(rd, v, key, SPEC_OPT, has, out, BLKIO_WEIGHT_MIN,
                       BLKIO_WEIGHT_MAX);
}

static int parse_weight_device(struct spec_rd *rd, const struct zjson *v,
                               struct zspec_weight_device *w)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_i64(rd, v, "major", SPEC_REQ, NULL, &w->major) < 0 ||
        spec_rd_i64(rd, v, "minor", SPEC_REQ, NULL, &w->minor) < 0 ||
        read_weight(rd, v, "weight", &w->has_weight, &w->weight) < 0 ||
        read_weight(rd, v, "leafWeight", &w->has_leaf_weight, &w->leaf_weight) < 0)
        return -1;
    return 0;
}

static int parse_throttle_device(struct spec_rd *rd, const struct zjson *v,
                                 struct zspec_throttle_device *t)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_i64(rd, v, "major", SPEC_REQ, NULL, &t->major) < 0 ||
        spec_rd_i64(rd, v, "minor", SPEC_REQ, NULL, &t->minor) < 0 ||
        spec_rd_u64(rd, v, "rate", SPEC_OPT, NULL, &t->rate) < 0)
        return -1;
    return 0;
}

static int parse_blkio(struct spec_rd *rd, const struct zjson *v,
                       struct zspec_blkio *b)
{
    if (read_weight(rd, v, "weight", &b->has_weight, &b->weight) < 0 ||
        read_weight(rd, v, "leafWeight", &b->has_leaf_weight, &b->leaf_weight) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "weightDevice", &b->weight_device,
                         &b->n_weight_device, parse_weight_device) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "throttleReadBpsDevice", &b->throttle_read_bps,
                         &b->n_throttle_read_bps, parse_throttle_device) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "throttleWriteBpsDevice", &b->throttle_write_bps,
                         &b->n_throttle_write_bps, parse_throttle_device) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "throttleReadIOPSDevice", &b->throttle_read_iops,
                         &b->n_throttle_read_iops, parse_throttle_device) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "throttleWriteIOPSDevice", &b->throttle_write_iops,
                         &b->n_throttle_write_iops, parse_throttle_device) < 0)
        return -1;
    return 0;
}

/* "2MB", "1GB": ^[1-9][0-9]*[KMG]B$ */
static bool valid_page_size(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    return digits > 0 && s[0] != '0' && s[digits] && strchr("KMG", s[digits]) &&
           s[digits + 1] == 'B' && s[digits + 2] == '\0';
}

static int parse_hugepage_limit(struct spec_rd *rd, const struct zjson *v,
                                struct zspec_hugepage_limit *h)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_str(rd, v, "pageSize", SPEC_REQ, &h->page_size) < 0 ||
        spec_rd_u64(rd, v, "limit", SPEC_REQ, NULL, &h->limit) < 0)
        return -1;
    if (!valid_page_size(h->page_size)) {
        size_t mark = spec_rd_push_key(rd, "pageSize");
        spec_rd_fail(rd, "invalid page size \"%.40s\" (expected e.g. \"2MB\")",
                     h->page_size);
        spec_rd_pop(rd, mark);
        return -1;
    }
    return 0;
}

static int parse_net_priority(struct spec_rd *rd, const struct zjson *v,
                              struct zspec_net_priority *p)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_str(rd, v, "name", SPEC_REQ, &p->name) < 0 ||
        spec_rd_u32(rd, v, "priority", SPEC_REQ, NULL, &p->priority) < 0)
        return -1;
    return 0;
}

static int parse_network(struct spec_rd *rd, const struct zjson *v,
                         struct zspec_network *n)
{
    if (spec_rd_u32(rd, v, "classID", SPEC_OPT, &n->has_class_id, &n->class_id) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "priorities", &n->priorities, &n->n_priorities,
                         parse_net_priority) < 0)
        return -1;
    return 0;
}

/* rdma is a map device name -> limits; kept in document order. */
static int parse_rdma(struct spec_rd *rd, const struct zjson *obj,
                      struct zspec_resources *r)
{
    int err;
    const struct zjson *m = spec_rd_container(rd, obj, "rdma", ZJSON_OBJECT,
                                              SPEC_OPT, &err);
    if (!m)
        return err;
    bool *shadowed = spec_shadowed_members(m);
    r->rdma = calloc(m->len + 1, sizeof *r->rdma);
    if (!r->rdma || !shadowed) {
        free(shadowed);
        return spec_rd_no_memory(rd);
    }
    size_t mark = spec_rd_push_key(rd, "rdma");
    for (size_t i = 0; i < m->len && err == 0; i++) {
        const struct zjson_member *mem = &m->u.members[i];
        struct zspec_rdma *x = &r->rdma[r->n_rdma];
        size_t inner = spec_rd_push_map_key(rd, mem->key);
        err = spec_rd_expect(rd, mem->value, ZJSON_OBJECT);
        if (err == 0 && memchr(mem->key, '\0', mem->key_len))
            err = spec_rd_fail(rd, "key contains a NUL character");
        if (err == 0 && shadowed[i]) {
            spec_rd_pop(rd, inner);
            continue;
        }
        if (err == 0) {
            x->device = strdup(mem->key);
            r->n_rdma++;
            if (!x->device)
                err = spec_rd_no_memory(rd);
        }
        if (err == 0)
            err = spec_rd_u32(rd, mem->value, "hcaHandles", SPEC_OPT,
                              &x->has_hca_handles, &x->hca_handles);
        if (err == 0)
            err = spec_rd_u32(rd, mem->value, "hcaObjects", SPEC_OPT,
                              &x->has_hca_objects, &x->hca_objects);
        spec_rd_pop(rd, inner);
    }
    spec_rd_pop(rd, mark);
    free(shadowed);
    return err;
}

int spec_parse_resources_obj(struct spec_rd *rd, const struct zjson *v,
                             struct zspec_resources *r)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "devices", &r->devices, &r->n_devices,
                         parse_device_cgroup) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "memory", &r->memory, parse_memory) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "cpu", &r->cpu, parse_cpu) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "pids", &r->pids, parse_pids) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "blockIO", &r->block_io, parse_blkio) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "hugepageLimits", &r->hugepage_limits,
                         &r->n_hugepage_limits, parse_hugepage_limit) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "network", &r->network, parse_network) < 0 ||
        parse_rdma(rd, v, r) < 0 ||
        spec_rd_kv(rd, v, "unified", &r->unified, &r->n_unified) < 0)
        return -1;
    return 0;
}
