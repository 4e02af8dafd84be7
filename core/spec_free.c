/* Releasing a parsed spec, and lookups over it. */
#include "core/spec_private.h"

#include <stdlib.h>
#include <string.h>

static void idmaps_free(struct zspec_idmap *m) { free(m); }

static void capabilities_free(struct zspec_capabilities *c)
{
    if (!c)
        return;
    spec_strv_free(c->bounding, c->n_bounding);
    spec_strv_free(c->effective, c->n_effective);
    spec_strv_free(c->inheritable, c->n_inheritable);
    spec_strv_free(c->permitted, c->n_permitted);
    spec_strv_free(c->ambient, c->n_ambient);
    free(c);
}

void spec_process_free(struct zspec_process *p)
{
    if (!p)
        return;
    free(p->user.additional_gids);
    free(p->user.username);
    spec_strv_free(p->args, p->n_args);
    free(p->command_line);
    spec_strv_free(p->env, p->n_env);
    free(p->cwd);
    capabilities_free(p->capabilities);
    for (size_t i = 0; p->rlimits && i < p->n_rlimits; i++)
        free(p->rlimits[i].type);
    free(p->rlimits);
    free(p->apparmor_profile);
    free(p->selinux_label);
    if (p->scheduler) {
        free(p->scheduler->policy);
        spec_strv_free(p->scheduler->flags, p->scheduler->n_flags);
        free(p->scheduler);
    }
    if (p->io_priority) {
        free(p->io_priority->class);
        free(p->io_priority);
    }
    if (p->exec_cpu_affinity) {
        free(p->exec_cpu_affinity->initial);
        free(p->exec_cpu_affinity->final);
        free(p->exec_cpu_affinity);
    }
    free(p);
}

void spec_resources_free(struct zspec_resources *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->devices && i < r->n_devices; i++) {
        free(r->devices[i].type);
        free(r->devices[i].access);
    }
    free(r->devices);
    free(r->memory);
    if (r->cpu) {
        free(r->cpu->cpus);
        free(r->cpu->mems);
        free(r->cpu);
    }
    free(r->pids);
    if (r->block_io) {
        free(r->block_io->weight_device);
        free(r->block_io->throttle_read_bps);
        free(r->block_io->throttle_write_bps);
        free(r->block_io->throttle_read_iops);
        free(r->block_io->throttle_write_iops);
        free(r->block_io);
    }
    for (size_t i = 0; r->hugepage_limits && i < r->n_hugepage_limits; i++)
        free(r->hugepage_limits[i].page_size);
    free(r->hugepage_limits);
    if (r->network) {
        for (size_t i = 0; r->network->priorities && i < r->network->n_priorities; i++)
            free(r->network->priorities[i].name);
        free(r->network->priorities);
        free(r->network);
    }
    for (size_t i = 0; r->rdma && i < r->n_rdma; i++)
        free(r->rdma[i].device);
    free(r->rdma);
    spec_kv_free(r->unified, r->n_unified);
    free(r);
}

static void seccomp_free(struct zspec_seccomp *s)
{
    if (!s)
        return;
    free(s->default_action);
    spec_strv_free(s->architectures, s->n_architectures);
    spec_strv_free(s->flags, s->n_flags);
    free(s->listener_path);
    free(s->listener_metadata);
    for (size_t i = 0; s->syscalls && i < s->n_syscalls; i++) {
        struct zspec_seccomp_syscall *sc = &s->syscalls[i];
        spec_strv_free(sc->names, sc->n_names);
        free(sc->action);
        for (size_t j = 0; sc->args && j < sc->n_args; j++)
            free(sc->args[j].op);
        free(sc->args);
    }
    free(s->syscalls);
    free(s);
}

void spec_seccomp_free(struct zspec_seccomp *s)
{
    seccomp_free(s);
}

void spec_linux_free(struct zspec_linux *l)
{
    if (!l)
        return;
    idmaps_free(l->uid_mappings);
    idmaps_free(l->gid_mappings);
    spec_kv_free(l->sysctl, l->n_sysctl);
    spec_resources_free(l->resources);
    free(l->cgroups_path);
    for (size_t i = 0; l->namespaces && i < l->n_namespaces; i++)
        free(l->namespaces[i].path);
    free(l->namespaces);
    for (size_t i = 0; l->devices && i < l->n_devices; i++) {
        free(l->devices[i].type);
        free(l->devices[i].path);
    }
    free(l->devices);
    seccomp_free(l->seccomp);
    free(l->rootfs_propagation);
    spec_strv_free(l->masked_paths, l->n_masked_paths);
    spec_strv_free(l->readonly_paths, l->n_readonly_paths);
    free(l->mount_label);
    if (l->intel_rdt) {
        free(l->intel_rdt->clos_id);
        free(l->intel_rdt->l3_cache_schema);
        free(l->intel_rdt->mem_bw_schema);
        free(l->intel_rdt->schemata);
        free(l->intel_rdt);
    }
    if (l->personality) {
        free(l->personality->domain);
        spec_strv_free(l->personality->flags, l->personality->n_flags);
        free(l->personality);
    }
    free(l);
}

static void hook_list_free(struct zspec_hook_list *list)
{
    for (size_t i = 0; list->hooks && i < list->n_hooks; i++) {
        free(list->hooks[i].path);
        spec_strv_free(list->hooks[i].args, list->hooks[i].n_args);
        spec_strv_free(list->hooks[i].env, list->hooks[i].n_env);
    }
    free(list->hooks);
}

void spec_free(struct zspec *s)
{
    if (!s)
        return;
    free(s->oci_version);
    if (s->root) {
        free(s->root->path);
        free(s->root);
    }
    for (size_t i = 0; s->mounts && i < s->n_mounts; i++) {
        struct zspec_mount *m = &s->mounts[i];
        free(m->destination);
        free(m->type);
        free(m->source);
        spec_strv_free(m->options, m->n_options);
        idmaps_free(m->uid_mappings);
        idmaps_free(m->gid_mappings);
    }
    free(s->mounts);
    spec_process_free(s->process);
    free(s->hostname);
    free(s->domainname);
    if (s->hooks) {
        hook_list_free(&s->hooks->prestart);
        hook_list_free(&s->hooks->create_runtime);
        hook_list_free(&s->hooks->create_container);
        hook_list_free(&s->hooks->start_container);
        hook_list_free(&s->hooks->poststart);
        hook_list_free(&s->hooks->poststop);
        free(s->hooks);
    }
    spec_kv_free(s->annotations, s->n_annotations);
    spec_linux_free(s->linux_);
    free(s);
}

const char *spec_annotation(const struct zspec *s, const char *key)
{
    if (!s || !key)
        return NULL;
    /* Last match, in case a caller appended an override. */
    for (size_t i = s->n_annotations; i-- > 0;)
        if (s->annotations[i].key && strcmp(s->annotations[i].key, key) == 0)
            return s->annotations[i].value;
    return NULL;
}

const struct zspec_namespace *spec_namespace(const struct zspec *s,
                                             enum zspec_ns_type t)
{
    if (!s || !s->linux_)
        return NULL;
    for (size_t i = 0; i < s->linux_->n_namespaces; i++)
        if (s->linux_->namespaces[i].type == t)
            return &s->linux_->namespaces[i];
    return NULL;
}
