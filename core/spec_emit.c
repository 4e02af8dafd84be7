/* struct zspec / zstate_doc -> JSON with yajl_gen. Field order follows the
 * runtime-spec Go structs (and so `runc spec`); optional fields are written
 * only when set, so emit(parse(x)) parses back to the same structs. */
#include "core/spec_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

struct emitter {
    yajl_gen g;
    yajl_gen_status status;   /* first failure */
    const char *problem;      /* a failure found by us, not yajl */
};

static void check(struct emitter *em, yajl_gen_status st)
{
    if (st != yajl_gen_status_ok && em->status == yajl_gen_status_ok)
        em->status = st;
}

static void put_str(struct emitter *em, const char *s)
{
    check(em, yajl_gen_string(em->g, (const unsigned char *)s, strlen(s)));
}

static void put_key(struct emitter *em, const char *k) { put_str(em, k); }
static void open_obj(struct emitter *em) { check(em, yajl_gen_map_open(em->g)); }
static void close_obj(struct emitter *em) { check(em, yajl_gen_map_close(em->g)); }
static void open_arr(struct emitter *em) { check(em, yajl_gen_array_open(em->g)); }
static void close_arr(struct emitter *em) { check(em, yajl_gen_array_close(em->g)); }

static void open_obj_at(struct emitter *em, const char *key)
{
    put_key(em, key);
    open_obj(em);
}

static void open_arr_at(struct emitter *em, const char *key)
{
    put_key(em, key);
    open_arr(em);
}

static void put_u64(struct emitter *em, uint64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
    check(em, yajl_gen_number(em->g, buf, (size_t)n));
}

static void put_i64(struct emitter *em, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    check(em, yajl_gen_number(em->g, buf, (size_t)n));
}

static void kstr(struct emitter *em, const char *key, const char *s)
{
    if (s) {
        put_key(em, key);
        put_str(em, s);
    }
}

static void kbool(struct emitter *em, const char *key, bool v)
{
    put_key(em, key);
    check(em, yajl_gen_bool(em->g, v));
}

static void kbool_if(struct emitter *em, const char *key, bool has, bool v)
{
    if (has)
        kbool(em, key, v);
}

static void ku64(struct emitter *em, const char *key, bool has, uint64_t v)
{
    if (has) {
        put_key(em, key);
        put_u64(em, v);
    }
}

static void ki64(struct emitter *em, const char *key, bool has, int64_t v)
{
    if (has) {
        put_key(em, key);
        put_i64(em, v);
    }
}

static void kstrv(struct emitter *em, const char *key, char *const *v, size_t n)
{
    if (!v)
        return;
    open_arr_at(em, key);
    for (size_t i = 0; i < n; i++)
        if (v[i])
            put_str(em, v[i]);
    close_arr(em);
}

static void kkv(struct emitter *em, const char *key, const struct zspec_kv *kv,
                size_t n)
{
    if (!kv)
        return;
    open_obj_at(em, key);
    for (size_t i = 0; i < n; i++) {
        if (!kv[i].key || !kv[i].value)
            continue;
        put_key(em, kv[i].key);
        put_str(em, kv[i].value);
    }
    close_obj(em);
}

static void kidmaps(struct emitter *em, const char *key, const struct zspec_idmap *m,
                    size_t n)
{
    if (!m)
        return;
    open_arr_at(em, key);
    for (size_t i = 0; i < n; i++) {
        open_obj(em);
        ku64(em, "containerID", true, m[i].container_id);
        ku64(em, "hostID", true, m[i].host_id);
        ku64(em, "size", true, m[i].size);
        close_obj(em);
    }
    close_arr(em);
}

/* ------------------------------------------------------------ process */

static void emit_capabilities(struct emitter *em, const struct zspec_capabilities *c)
{
    if (!c)
        return;
    open_obj_at(em, "capabilities");
    kstrv(em, "bounding", c->bounding, c->n_bounding);
    kstrv(em, "effective", c->effective, c->n_effective);
    kstrv(em, "inheritable", c->inheritable, c->n_inheritable);
    kstrv(em, "permitted", c->permitted, c->n_permitted);
    kstrv(em, "ambient", c->ambient, c->n_ambient);
    close_obj(em);
}

static void emit_user(struct emitter *em, const struct zspec_user *u)
{
    open_obj_at(em, "user");
    ku64(em, "uid", true, u->uid);
    ku64(em, "gid", true, u->gid);
    ku64(em, "umask", u->has_umask, u->umask);
    if (u->additional_gids) {
        open_arr_at(em, "additionalGids");
        for (size_t i = 0; i < u->n_additional_gids; i++)
            put_u64(em, u->additional_gids[i]);
        close_arr(em);
    }
    kstr(em, "username", u->username);
    close_obj(em);
}

static void emit_scheduler(struct emitter *em, const struct zspec_scheduler *s)
{
    if (!s)
        return;
    open_obj_at(em, "scheduler");
    kstr(em, "policy", s->policy);
    ki64(em, "nice", s->has_nice, s->nice);
    ki64(em, "priority", s->has_priority, s->priority);
    kstrv(em, "flags", s->flags, s->n_flags);
    ku64(em, "runtime", s->has_runtime, s->runtime);
    ku64(em, "deadline", s->has_deadline, s->deadline);
    ku64(em, "period", s->has_period, s->period);
    close_obj(em);
}

static void emit_process(struct emitter *em, const struct zspec_process *p)
{
    open_obj(em);
    if (p->terminal)
        kbool(em, "terminal", true);
    if (p->has_console_size) {
        open_obj_at(em, "consoleSize");
        ku64(em, "height", true, p->console_height);
        ku64(em, "width", true, p->console_width);
        close_obj(em);
    }
    emit_user(em, &p->user);
    kstrv(em, "args", p->args, p->n_args);
    kstr(em, "commandLine", p->command_line);
    kstrv(em, "env", p->env, p->n_env);
    kstr(em, "cwd", p->cwd);
    emit_capabilities(em, p->capabilities);
    if (p->rlimits) {
        open_arr_at(em, "rlimits");
        for (size_t i = 0; i < p->n_rlimits; i++) {
            open_obj(em);
            kstr(em, "type", p->rlimits[i].type);
            ku64(em, "hard", true, p->rlimits[i].hard);
            ku64(em, "soft", true, p->rlimits[i].soft);
            close_obj(em);
        }
        close_arr(em);
    }
    if (p->no_new_privileges)
        kbool(em, "noNewPrivileges", true);
    kstr(em, "apparmorProfile", p->apparmor_profile);
    ki64(em, "oomScoreAdj", p->has_oom_score_adj, p->oom_score_adj);
    kstr(em, "selinuxLabel", p->selinux_label);
    emit_scheduler(em, p->scheduler);
    if (p->io_priority) {
        open_obj_at(em, "ioPriority");
        kstr(em, "class", p->io_priority->class);
        ki64(em, "priority", true, p->io_priority->priority);
        close_obj(em);
    }
    if (p->exec_cpu_affinity) {
        open_obj_at(em, "execCPUAffinity");
        kstr(em, "initial", p->exec_cpu_affinity->initial);
        kstr(em, "final", p->exec_cpu_affinity->final);
        close_obj(em);
    }
    close_obj(em);
}

/* ------------------------------------------------------------ resources */

static void emit_throttle(struct emitter *em, const char *key,
                          const struct zspec_throttle_device *t, size_t n)
{
    if (!t)
        return;
    open_arr_at(em, key);
    for (size_t i = 0; i < n; i++) {
        open_obj(em);
        ki64(em, "major", true, t[i].major);
        ki64(em, "minor", true, t[i].minor);
        ku64(em, "rate", true, t[i].rate);
        close_obj(em);
    }
    close_arr(em);
}

static void emit_blkio(struct emitter *em, const struct zspec_blkio *b)
{
    open_obj_at(em, "blockIO");
    ku64(em, "weight", b->has_weight, b->weight);
    ku64(em, "leafWeight", b->has_leaf_weight, b->leaf_weight);
    if (b->weight_device) {
        open_arr_at(em, "weightDevice");
        for (size_t i = 0; i < b->n_weight_device; i++) {
            const struct zspec_weight_device *w = &b->weight_device[i];
            open_obj(em);
            ki64(em, "major", true, w->major);
            ki64(em, "minor", true, w->minor);
            ku64(em, "weight", w->has_weight, w->weight);
            ku64(em, "leafWeight", w->has_leaf_weight, w->leaf_weight);
            close_obj(em);
        }
        close_arr(em);
    }
    emit_throttle(em, "throttleReadBpsDevice", b->throttle_read_bps,
                  b->n_throttle_read_bps);
    emit_throttle(em, "throttleWriteBpsDevice", b->throttle_write_bps,
                  b->n_throttle_write_bps);
    emit_throttle(em, "throttleReadIOPSDevice", b->throttle_read_iops,
                  b->n_throttle_read_iops);
    emit_throttle(em, "throttleWriteIOPSDevice", b->throttle_write_iops,
                  b->n_throttle_write_iops);
    close_obj(em);
}

static void emit_resources(struct emitter *em, const struct zspec_resources *r)
{
    open_obj(em);
    if (r->devices) {
        open_arr_at(em, "devices");
        for (size_t i = 0; i < r->n_devices; i++) {
            const struct zspec_device_cgroup *d = &r->devices[i];
            open_obj(em);
            kbool(em, "allow", d->allow);
            kstr(em, "type", d->type);
            ki64(em, "major", d->has_major, d->major);
            ki64(em, "minor", d->has_minor, d->minor);
            kstr(em, "access", d->access);
            close_obj(em);
        }
        close_arr(em);
    }
    if (r->memory) {
        const struct zspec_memory *m = r->memory;
        open_obj_at(em, "memory");
        ki64(em, "limit", m->has_limit, m->limit);
        ki64(em, "reservation", m->has_reservation, m->reservation);
        ki64(em, "swap", m->has_swap, m->swap);
        ki64(em, "kernel", m->has_kernel, m->kernel);
        ki64(em, "kernelTCP", m->has_kernel_tcp, m->kernel_tcp);
        ku64(em, "swappiness", m->has_swappiness, m->swappiness);
        kbool_if(em, "disableOOMKiller", m->has_disable_oom_killer,
                 m->disable_oom_killer);
        kbool_if(em, "useHierarchy", m->has_use_hierarchy, m->use_hierarchy);
        kbool_if(em, "checkBeforeUpdate", m->has_check_before_update,
                 m->check_before_update);
        close_obj(em);
    }
    if (r->cpu) {
        const struct zspec_cpu *c = r->cpu;
        open_obj_at(em, "cpu");
        ku64(em, "shares", c->has_shares, c->shares);
        ki64(em, "quota", c->has_quota, c->quota);
        ku64(em, "burst", c->has_burst, c->burst);
        ku64(em, "period", c->has_period, c->period);
        ki64(em, "realtimeRuntime", c->has_realtime_runtime, c->realtime_runtime);
        ku64(em, "realtimePeriod", c->has_realtime_period, c->realtime_period);
        kstr(em, "cpus", c->cpus);
        kstr(em, "mems", c->mems);
        ki64(em, "idle", c->has_idle, c->idle);
        close_obj(em);
    }
    if (r->pids) {
        open_obj_at(em, "pids");
        ki64(em, "limit", r->pids->has_limit, r->pids->limit);
        close_obj(em);
    }
    if (r->block_io)
        emit_blkio(em, r->block_io);
    if (r->hugepage_limits) {
        open_arr_at(em, "hugepageLimits");
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
            open_obj(em);
            kstr(em, "pageSize", r->hugepage_limits[i].page_size);
            ku64(em, "limit", true, r->hugepage_limits[i].limit);
            close_obj(em);
        }
        close_arr(em);
    }
    if (r->network) {
        open_obj_at(em, "network");
        ku64(em, "classID", r->network->has_class_id, r->network->class_id);
        if (r->network->priorities) {
            open_arr_at(em, "priorities");
            for (size_t i = 0; i < r->network->n_priorities; i++) {
                open_obj(em);
                kstr(em, "name", r->network->priorities[i].name);
                ku64(em, "priority", true, r->network->priorities[i].priority);
                close_obj(em);
            }
            close_arr(em);
        }
        close_obj(em);
    }
    if (r->rdma) {
        open_obj_at(em, "rdma");
        for (size_t i = 0; i < r->n_rdma; i++) {
            if (!r->rdma[i].device)
                continue;
            open_obj_at(em, r->rdma[i].device);
            ku64(em, "hcaHandles", r->rdma[i].has_hca_handles,
                 r->rdma[i].hca_handles);
            ku64(em, "hcaObjects", r->rdma[i].has_hca_objects,
                 r->rdma[i].hca_objects);
            close_obj(em);
        }
        close_obj(em);
    }
    kkv(em, "unified", r->unified, r->n_unified);
    close_obj(em);
}

/* ------------------------------------------------------------ linux */

static void emit_seccomp(struct emitter *em, const struct zspec_seccomp *s)
{
    open_obj_at(em, "seccomp");
    kstr(em, "defaultAction", s->default_action);
    ku64(em, "defaultErrnoRet", s->has_default_errno_ret, s->default_errno_ret);
    kstrv(em, "architectures", s->architectures, s->n_architectures);
    kstrv(em, "flags", s->flags, s->n_flags);
    kstr(em, "listenerPath", s->listener_path);
    kstr(em, "listenerMetadata", s->listener_metadata);
    if (s->syscalls) {
        open_arr_at(em, "syscalls");
        for (size_t i = 0; i < s->n_syscalls; i++) {
            const struct zspec_seccomp_syscall *sc = &s->syscalls[i];
            open_obj(em);
            kstrv(em, "names", sc->names, sc->n_names);
            kstr(em, "action", sc->action);
            ku64(em, "errnoRet", sc->has_errno_ret, sc->errno_ret);
            if (sc->args) {
                open_arr_at(em, "args");
                for (size_t j = 0; j < sc->n_args; j++) {
                    const struct zspec_seccomp_arg *a = &sc->args[j];
                    open_obj(em);
                    ku64(em, "index", true, a->index);
                    ku64(em, "value", true, a->value);
                    ku64(em, "valueTwo", a->value_two != 0, a->value_two);
                    kstr(em, "op", a->op);
                    close_obj(em);
                }
                close_arr(em);
            }
            close_obj(em);
        }
        close_arr(em);
    }
    close_obj(em);
}

static void emit_intel_rdt(struct emitter *em, const struct zspec_intel_rdt *r)
{
    open_obj_at(em, "intelRdt");
    kstr(em, "closID", r->clos_id);
    kstr(em, "l3CacheSchema", r->l3_cache_schema);
    kstr(em, "memBwSchema", r->mem_bw_schema);
    if (r->schemata) {
        open_arr_at(em, "schemata");
        for (const char *line = r->schemata;;) {
            size_t n = strcspn(line, "\n");
            check(em, yajl_gen_string(em->g, (const unsigned char *)line, n));
            if (!line[n])
                break;
            line += n + 1;
        }
        close_arr(em);
    }
    if (r->enable_cmt)
        kbool(em, "enableCMT", true);
    if (r->enable_mbm)
        kbool(em, "enableMBM", true);
    close_obj(em);
}

static void emit_time_offset(struct emitter *em, const char *key,
                             const struct zspec_time_offset *t)
{
    if (!t->present)
        return;
    open_obj_at(em, key);
    ki64(em, "secs", true, t->secs);
    ku64(em, "nanosecs", true, t->nanosecs);
    close_obj(em);
}

static void emit_linux(struct emitter *em, const struct zspec_linux *l)
{
    open_obj(em);
    kidmaps(em, "uidMappings", l->uid_mappings, l->n_uid_mappings);
    kidmaps(em, "gidMappings", l->gid_mappings, l->n_gid_mappings);
    kkv(em, "sysctl", l->sysctl, l->n_sysctl);
    if (l->resources) {
        put_key(em, "resources");
        emit_resources(em, l->resources);
    }
    kstr(em, "cgroupsPath", l->cgroups_path);
    if (l->namespaces) {
        open_arr_at(em, "namespaces");
        for (size_t i = 0; i < l->n_namespaces; i++) {
            const char *type = spec_ns_type_name(l->namespaces[i].type);
            if (!type) {
                em->problem = "invalid namespace type";
                continue;
            }
            open_obj(em);
            kstr(em, "type", type);
            kstr(em, "path", l->namespaces[i].path);
            close_obj(em);
        }
        close_arr(em);
    }
    if (l->devices) {
        open_arr_at(em, "devices");
        for (size_t i = 0; i < l->n_devices; i++) {
            const struct zspec_device *d = &l->devices[i];
            open_obj(em);
            kstr(em, "path", d->path);
            kstr(em, "type", d->type);
            ki64(em, "major", d->has_major, d->major);
            ki64(em, "minor", d->has_minor, d->minor);
            ku64(em, "fileMode", d->has_file_mode, d->file_mode);
            ku64(em, "uid", d->has_uid, d->uid);
            ku64(em, "gid", d->has_gid, d->gid);
            close_obj(em);
        }
        close_arr(em);
    }
    if (l->seccomp)
        emit_seccomp(em, l->seccomp);
    kstr(em, "rootfsPropagation", l->rootfs_propagation);
    kstrv(em, "maskedPaths", l->masked_paths, l->n_masked_paths);
    kstrv(em, "readonlyPaths", l->readonly_paths, l->n_readonly_paths);
    kstr(em, "mountLabel", l->mount_label);
    if (l->intel_rdt)
        emit_intel_rdt(em, l->intel_rdt);
    if (l->personality) {
        open_obj_at(em, "personality");
        kstr(em, "domain", l->personality->domain);
        kstrv(em, "flags", l->personality->flags, l->personality->n_flags);
        close_obj(em);
    }
    if (l->time_monotonic.present || l->time_boottime.present) {
        open_obj_at(em, "timeOffsets");
        emit_time_offset(em, "monotonic", &l->time_monotonic);
        emit_time_offset(em, "boottime", &l->time_boottime);
        close_obj(em);
    }
    close_obj(em);
}

/* ------------------------------------------------------------ top level */

static void emit_hook_list(struct emitter *em, const char *key,
                           const struct zspec_hook_list *list)
{
    if (!list->hooks)
        return;
    open_arr_at(em, key);
    for (size_t i = 0; i < list->n_hooks; i++) {
        const struct zspec_hook *h = &list->hooks[i];
        open_obj(em);
        kstr(em, "path", h->path);
        kstrv(em, "args", h->args, h->n_args);
        kstrv(em, "env", h->env, h->n_env);
        ki64(em, "timeout", h->has_timeout, h->timeout);
        close_obj(em);
    }
    close_arr(em);
}

static void emit_spec(struct emitter *em, const struct zspec *s)
{
    open_obj(em);
    kstr(em, "ociVersion", s->oci_version);
    if (s->process) {
        put_key(em, "process");
        emit_process(em, s->process);
    }
    if (s->root) {
        open_obj_at(em, "root");
        kstr(em, "path", s->root->path);
        if (s->root->readonly)
            kbool(em, "readonly", true);
        close_obj(em);
    }
    kstr(em, "hostname", s->hostname);
    kstr(em, "domainname", s->domainname);
    if (s->mounts) {
        open_arr_at(em, "mounts");
        for (size_t i = 0; i < s->n_mounts; i++) {
            const struct zspec_mount *m = &s->mounts[i];
            open_obj(em);
            kstr(em, "destination", m->destination);
            kstr(em, "type", m->type);
            kstr(em, "source", m->source);
            kstrv(em, "options", m->options, m->n_options);
            kidmaps(em, "uidMappings", m->uid_mappings, m->n_uid_mappings);
            kidmaps(em, "gidMappings", m->gid_mappings, m->n_gid_mappings);
            close_obj(em);
        }
        close_arr(em);
    }
    if (s->hooks) {
        open_obj_at(em, "hooks");
        emit_hook_list(em, "prestart", &s->hooks->prestart);
        emit_hook_list(em, "createRuntime", &s->hooks->create_runtime);
        emit_hook_list(em, "createContainer", &s->hooks->create_container);
        emit_hook_list(em, "startContainer", &s->hooks->start_container);
        emit_hook_list(em, "poststart", &s->hooks->poststart);
        emit_hook_list(em, "poststop", &s->hooks->poststop);
        close_obj(em);
    }
    kkv(em, "annotations", s->annotations, s->n_annotations);
    if (s->linux_) {
        put_key(em, "linux");
        emit_linux(em, s->linux_);
    }
    close_obj(em);
}

static bool emitter_init(struct emitter *em, bool pretty)
{
    em->status = yajl_gen_status_ok;
    em->problem = NULL;
    em->g = yajl_gen_alloc(NULL);
    if (!em->g)
        return false;
    yajl_gen_config(em->g, yajl_gen_validate_utf8, 1);
    if (pretty) {
        yajl_gen_config(em->g, yajl_gen_beautify, 1);
        yajl_gen_config(em->g, yajl_gen_indent_string, "\t");
    }
    return true;
}

static const char *gen_status_text(yajl_gen_status st)
{
    switch (st) {
    case yajl_gen_invalid_string: return "a string is not valid UTF-8";
    case yajl_max_depth_exceeded: return "nesting too deep";
    case yajl_gen_no_buf: return "no output buffer";
    default: return "internal generator error";
    }
}

/* Returns the output (malloc'd) or NULL with *e set; frees the generator. */
static char *emitter_finish(struct emitter *em, const char *what, struct zerr *e)
{
    const unsigned char *buf;
    size_t len;
    char *out = NULL;
    if (em->problem) {
        zerr_set(e, EINVAL, "%s: %s", what, em->problem);
    } else if (em->status != yajl_gen_status_ok) {
        zerr_set(e, EINVAL, "%s: %s", what, gen_status_text(em->status));
    } else if (yajl_gen_get_buf(em->g, &buf, &len) != yajl_gen_status_ok) {
        zerr_set(e, ENOMEM, "%s: out of memory", what);
    } else {
        /* yajl ends a pretty document with a newline; runc does not. */
        while (len > 0 && buf[len - 1] == '\n')
            len--;
        out = strndup((const char *)buf, len);
        if (!out)
            zerr_set(e, ENOMEM, "%s: out of memory", what);
    }
    yajl_gen_free(em->g);
    return out;
}

char *spec_emit(const struct zspec *s, bool pretty, struct zerr *e)
{
    struct emitter em;
    if (!emitter_init(&em, pretty)) {
        zerr_set(e, ENOMEM, "emit config: out of memory");
        return NULL;
    }
    emit_spec(&em, s);
    return emitter_finish(&em, "emit config", e);
}

char *zstate_emit(const struct zstate_doc *st, bool pretty, struct zerr *e)
{
    struct emitter em;
    const char *status = zstate_status_name(st->status);
    if (!status) {
        zerr_set(e, EINVAL, "emit state: invalid status %d", (int)st->status);
        return NULL;
    }
    if (!emitter_init(&em, pretty)) {
        zerr_set(e, ENOMEM, "emit state: out of memory");
        return NULL;
    }
    open_obj(&em);
    kstr(&em, "ociVersion", st->oci_version ? st->oci_version : ZONE_OCI_VERSION);
    kstr(&em, "id", st->id ? st->id : "");
    kstr(&em, "status", status);
    ki64(&em, "pid", true, st->pid);
    kstr(&em, "bundle", st->bundle ? st->bundle : "");
    if (st->annotations && st->n_annotations)
        kkv(&em, "annotations", st->annotations, st->n_annotations);
    close_obj(&em);
    return emitter_finish(&em, "emit state", e);
}
