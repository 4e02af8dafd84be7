/* config.json "linux" object -> struct zspec_linux (resources excepted,
 * see spec_parse_resources.c). */
#include "core/spec_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An unsigned field limited to 0..max (e.g. a seccomp argument index). */
static int read_uint_max(struct spec_rd *rd, const struct zjson *obj,
                         const char *key, int req, uint64_t max, uint64_t *out)
{
    int err;
    const struct zjson *v = spec_rd_field(rd, obj, key, req, &err);
    if (!v)
        return err;
    size_t mark = spec_rd_push_key(rd, key);
    err = spec_rd_v_uint(rd, v, max, out);
    spec_rd_pop(rd, mark);
    return err;
}

/* Fails with the path extended by key. */
static int __attribute__((format(printf, 3, 4)))
fail_at(struct spec_rd *rd, const char *key, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t mark = spec_rd_push_key(rd, key);
    spec_rd_fail(rd, "%s", what);
    spec_rd_pop(rd, mark);
    return -1;
}

static int check_absolute(struct spec_rd *rd, const char *key, const char *path)
{
    if (!path || path[0] == '/')
        return 0;
    return fail_at(rd, key, "\"%.200s\" is not an absolute path", path);
}

/* ------------------------------------------------------------ namespaces */

struct ns_parse {
    bool seen[ZNS__COUNT];
};

static int parse_namespace(struct spec_rd *rd, const struct zjson *v,
                           struct zspec_namespace *ns, struct ns_parse *state)
{
    char *type = NULL;
    long t;
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_enum(rd, v, "type", SPEC_REQ, spec_ns_type_names,
                     "namespace type", &type, &t) < 0)
        return -1;
    ns->type = (enum zspec_ns_type)t;
    if (state->seen[t]) {
        fail_at(rd, "type", "duplicate namespace type \"%s\"", type);
        free(type);
        return -1;
    }
    state->seen[t] = true;
    free(type);
    if (spec_rd_str(rd, v, "path", SPEC_OPT, &ns->path) < 0 ||
        check_absolute(rd, "path", ns->path) < 0)
        return -1;
    return 0;
}

static int parse_namespaces(struct spec_rd *rd, const struct zjson *obj,
                            struct zspec_linux *l)
{
    struct ns_parse state = {0};
#define PARSE_NS(rd_, item_, out_) parse_namespace(rd_, item_, out_, &state)
    return SPEC_PARSE_ARRAY(rd, obj, "namespaces", &l->namespaces,
                            &l->n_namespaces, PARSE_NS);
#undef PARSE_NS
}

/* ------------------------------------------------------------ devices */

static const struct spec_name device_type_names[] = {
    { "c", 'c' }, { "b", 'b' }, { "u", 'u' }, { "p", 'p' }, { NULL, 0 },
};

static int parse_device(struct spec_rd *rd, const struct zjson *v,
                        struct zspec_device *d)
{
    long type;
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_enum(rd, v, "type", SPEC_REQ, device_type_names, "device type",
                     &d->type, &type) < 0 ||
        spec_rd_str(rd, v, "path", SPEC_REQ, &d->path) < 0 ||
        check_absolute(rd, "path", d->path) < 0)
        return -1;
    /* A FIFO has no device number; every other node needs both. */
    int req = type == 'p' ? SPEC_OPT : SPEC_REQ;
    if (spec_rd_i64(rd, v, "major", req, &d->has_major, &d->major) < 0 ||
        spec_rd_i64(rd, v, "minor", req, &d->has_minor, &d->minor) < 0 ||
        spec_rd_u32(rd, v, "fileMode", SPEC_OPT, &d->has_file_mode,
                    &d->file_mode) < 0 ||
        spec_rd_u32(rd, v, "uid", SPEC_OPT, &d->has_uid, &d->uid) < 0 ||
        spec_rd_u32(rd, v, "gid", SPEC_OPT, &d->has_gid, &d->gid) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ seccomp */

static int parse_seccomp_arg(struct spec_rd *rd, const struct zjson *v,
                             struct zspec_seccomp_arg *a)
{
    uint64_t index;
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        read_uint_max(rd, v, "index", SPEC_REQ, 5, &index) < 0 ||
        spec_rd_u64(rd, v, "value", SPEC_REQ, NULL, &a->value) < 0 ||
        spec_rd_u64(rd, v, "valueTwo", SPEC_OPT, NULL, &a->value_two) < 0 ||
        spec_rd_enum(rd, v, "op", SPEC_REQ, spec_seccomp_op_names,
                     "seccomp operator", &a->op, NULL) < 0)
        return -1;
    a->index = (uint32_t)index;
    return 0;
}

static int parse_syscall(struct spec_rd *rd, const struct zjson *v,
                         struct zspec_seccomp_syscall *sc)
{
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_strv(rd, v, "names", SPEC_REQ, &sc->names, &sc->n_names) < 0)
        return -1;
    if (sc->n_names == 0)
        return fail_at(rd, "names", "must not be empty");
    if (spec_rd_enum(rd, v, "action", SPEC_REQ, spec_seccomp_action_names,
                     "seccomp action", &sc->action, NULL) < 0 ||
        spec_rd_u32(rd, v, "errnoRet", SPEC_OPT, &sc->has_errno_ret,
                    &sc->errno_ret) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "args", &sc->args, &sc->n_args,
                         parse_seccomp_arg) < 0)
        return -1;
    return 0;
}

static int parse_seccomp(struct spec_rd *rd, const struct zjson *v,
                         struct zspec_seccomp *s)
{
    if (spec_rd_enum(rd, v, "defaultAction", SPEC_REQ, spec_seccomp_action_names,
                     "seccomp action", &s->default_action, NULL) < 0 ||
        spec_rd_u32(rd, v, "defaultErrnoRet", SPEC_OPT, &s->has_default_errno_ret,
                    &s->default_errno_ret) < 0 ||
        spec_rd_enumv(rd, v, "architectures", spec_seccomp_arch_names,
                      "seccomp architecture", &s->architectures,
                      &s->n_architectures) < 0 ||
        spec_rd_enumv(rd, v, "flags", spec_seccomp_flag_names, "seccomp flag",
                      &s->flags, &s->n_flags) < 0 ||
        spec_rd_str(rd, v, "listenerPath", SPEC_OPT, &s->listener_path) < 0 ||
        spec_rd_str(rd, v, "listenerMetadata", SPEC_OPT,
                    &s->listener_metadata) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "syscalls", &s->syscalls, &s->n_syscalls,
                         parse_syscall) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ others */

/* 1.2 "schemata" is an array of lines; kept joined with '\n'. */
static int read_schemata(struct spec_rd *rd, const struct zjson *v,
                         struct zspec_intel_rdt *rdt)
{
    char **lines = NULL;
    size_t n = 0, total = 1;
    if (spec_rd_strv(rd, v, "schemata", SPEC_OPT, &lines, &n) < 0)
        return -1;
    if (!lines)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (strchr(lines[i], '\n')) {
            size_t mark = spec_rd_push_key(rd, "schemata");
            size_t inner = spec_rd_push_index(rd, i);
            spec_rd_fail(rd, "line contains a newline");
            spec_rd_pop(rd, inner);
            spec_rd_pop(rd, mark);
            spec_strv_free(lines, n);
            return -1;
        }
        total += strlen(lines[i]) + 1;
    }
    char *joined = malloc(total), *p = joined;
    if (!joined) {
        spec_strv_free(lines, n);
        return spec_rd_no_memory(rd);
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = '\n';
        p = stpcpy(p, lines[i]);
    }
    *p = '\0';
    spec_strv_free(lines, n);
    rdt->schemata = joined;
    return 0;
}

static int parse_intel_rdt(struct spec_rd *rd, const struct zjson *v,
                           struct zspec_intel_rdt *rdt)
{
    if (spec_rd_str(rd, v, "closID", SPEC_OPT, &rdt->clos_id) < 0 ||
        spec_rd_str(rd, v, "l3CacheSchema", SPEC_OPT, &rdt->l3_cache_schema) < 0 ||
        spec_rd_str(rd, v, "memBwSchema", SPEC_OPT, &rdt->mem_bw_schema) < 0 ||
        read_schemata(rd, v, rdt) < 0 ||
        spec_rd_bool(rd, v, "enableCMT", NULL, &rdt->enable_cmt) < 0 ||
        spec_rd_bool(rd, v, "enableMBM", NULL, &rdt->enable_mbm) < 0)
        return -1;
    return 0;
}

static int parse_personality(struct spec_rd *rd, const struct zjson *v,
                             struct zspec_personality *p)
{
    if (spec_rd_enum(rd, v, "domain", SPEC_OPT, spec_personality_names,
                     "personality domain", &p->domain, NULL) < 0 ||
        spec_rd_strv(rd, v, "flags", SPEC_OPT, &p->flags, &p->n_flags) < 0)
        return -1;
    return 0;
}

static int parse_time_offset(struct spec_rd *rd, const struct zjson *v,
                             struct zspec_time_offset *t)
{
    uint64_t ns = 0;
    if (spec_rd_expect(rd, v, ZJSON_OBJECT) < 0 ||
        spec_rd_i64(rd, v, "secs", SPEC_OPT, NULL, &t->secs) < 0 ||
        read_uint_max(rd, v, "nanosecs", SPEC_OPT, 999999999, &ns) < 0)
        return -1;
    t->nanosecs = (uint32_t)ns;
    t->present = true;
    return 0;
}

static int parse_time_offsets(struct spec_rd *rd, const struct zjson *obj,
                              struct zspec_linux *l)
{
    int err;
    const struct zjson *m = spec_rd_container(rd, obj, "timeOffsets", ZJSON_OBJECT,
                                              SPEC_OPT, &err);
    if (!m)
        return err;
    size_t mark = spec_rd_push_key(rd, "timeOffsets");
    for (size_t i = 0; i < m->len && err == 0; i++) {
        const struct zjson_member *mem = &m->u.members[i];
        struct zspec_time_offset *t = NULL;
        size_t inner = spec_rd_push_key(rd, mem->key);
        if (strcmp(mem->key, "monotonic") == 0)
            t = &l->time_monotonic;
        else if (strcmp(mem->key, "boottime") == 0)
            t = &l->time_boottime;
        if (!t)
            err = spec_rd_fail(rd, "unknown clock (expected monotonic or boottime)");
        else if (mem->value->type != ZJSON_NULL)
            err = parse_time_offset(rd, mem->value, t);
        spec_rd_pop(rd, inner);
    }
    spec_rd_pop(rd, mark);
    return err;
}

static int read_propagation(struct spec_rd *rd, const struct zjson *v,
                            struct zspec_linux *l)
{
    if (spec_rd_str(rd, v, "rootfsPropagation", SPEC_OPT,
                    &l->rootfs_propagation) < 0)
        return -1;
    if (!l->rootfs_propagation)
        return 0;
    if (l->rootfs_propagation[0] == '\0') {   /* runc: "" = the default */
        free(l->rootfs_propagation);
        l->rootfs_propagation = NULL;
        return 0;
    }
    if (!spec_name_find(spec_propagation_names, l->rootfs_propagation))
        return fail_at(rd, "rootfsPropagation", "unknown propagation \"%.100s\"",
                       l->rootfs_propagation);
    return 0;
}

int spec_parse_linux_obj(struct spec_rd *rd, const struct zjson *v,
                         struct zspec_linux *l)
{
    if (spec_rd_idmaps(rd, v, "uidMappings", &l->uid_mappings,
                       &l->n_uid_mappings) < 0 ||
        spec_rd_idmaps(rd, v, "gidMappings", &l->gid_mappings,
                       &l->n_gid_mappings) < 0 ||
        spec_rd_kv(rd, v, "sysctl", &l->sysctl, &l->n_sysctl) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "resources", &l->resources,
                             spec_parse_resources_obj) < 0 ||
        spec_rd_str(rd, v, "cgroupsPath", SPEC_OPT, &l->cgroups_path) < 0 ||
        parse_namespaces(rd, v, l) < 0 ||
        SPEC_PARSE_ARRAY(rd, v, "devices", &l->devices, &l->n_devices,
                         parse_device) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "seccomp", &l->seccomp, parse_seccomp) < 0 ||
        read_propagation(rd, v, l) < 0 ||
        spec_rd_strv(rd, v, "maskedPaths", SPEC_OPT, &l->masked_paths,
                     &l->n_masked_paths) < 0 ||
        spec_rd_strv(rd, v, "readonlyPaths", SPEC_OPT, &l->readonly_paths,
                     &l->n_readonly_paths) < 0 ||
        spec_rd_str(rd, v, "mountLabel", SPEC_OPT, &l->mount_label) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "intelRdt", &l->intel_rdt,
                             parse_intel_rdt) < 0 ||
        SPEC_PARSE_SUBOBJECT(rd, v, "personality", &l->personality,
                             parse_personality) < 0 ||
        parse_time_offsets(rd, v, l) < 0)
        return -1;
    return 0;
}
