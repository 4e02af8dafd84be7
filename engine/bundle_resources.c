/* Capabilities, cgroup resources and the seccomp profile of `zone run`. */
#include "engine/bundle_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/path.h"

/* Every capability Linux defines, in number order (CAP_CHOWN = 0). */
static const char *const all_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

/* podman's (containers.conf) default set. */
static const char *const default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT",
};

/* "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "ALL" stays. */
static int normalize_cap(const char *in, const char *flag, char *out, size_t size,
                         struct zerr *e)
{
    size_t len = strlen(in);
    if (len == 0 || len + 5 > size)
        return zerr_set(e, EINVAL, "%s: invalid capability \"%s\"", flag, in);
    bool prefixed = len > 4 && strncasecmp(in, "CAP_", 4) == 0;
    snprintf(out, size, "%s%s", prefixed ? "" : "CAP_", in);
    for (char *p = out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(out, "CAP_ALL") == 0) {
        snprintf(out, size, "ALL");
        return 0;
    }
    for (size_t i = 0; i < ZARRAY_SIZE(all_caps); i++)
        if (strcmp(all_caps[i], out) == 0)
            return 0;
    return zerr_set(e, EINVAL, "%s: unknown capability \"%s\"", flag, in);
}

static int add_all(struct zstrv *caps, const char *const *names, size_t n, struct zerr *e)
{
    for (size_t i = 0; i < n; i++)
        if (!zstrv_has(caps, names[i]) && zstrv_add(caps, names[i], e) < 0)
            return -1;
    return 0;
}

/* Docker's rules: drop ALL starts from nothing; add ALL starts from every
 * capability; named adds are added, then named drops removed. */
int zbundle_capabilities(const struct zrun_flags *f, struct zstrv *caps, struct zerr *e)
{
    char name[64];
    bool add_every = false, drop_every = false;

    for (size_t i = 0; i < f->n_cap_add; i++) {
        if (normalize_cap(f->cap_add[i], "--cap-add", name, sizeof name, e) < 0)
            return -1;
        add_every |= strcmp(name, "ALL") == 0;
    }
    for (size_t i = 0; i < f->n_cap_drop; i++) {
        if (normalize_cap(f->cap_drop[i], "--cap-drop", name, sizeof name, e) < 0)
            return -1;
        drop_every |= strcmp(name, "ALL") == 0;
    }
    if (add_every) {
        if (add_all(caps, all_caps, ZARRAY_SIZE(all_caps), e) < 0)
            return -1;
    } else if (!drop_every) {
        if (add_all(caps, default_caps, ZARRAY_SIZE(default_caps), e) < 0)
            return -1;
    }
    if (!add_every) {
        for (size_t i = 0; i < f->n_cap_add; i++) {
            normalize_cap(f->cap_add[i], "--cap-add", name, sizeof name, e);
            if (!zstrv_has(caps, name) && zstrv_add(caps, name, e) < 0)
                return -1;
        }
    }
    if (!drop_every || add_every) {
        for (size_t i = 0; i < f->n_cap_drop; i++) {
            normalize_cap(f->cap_drop[i], "--cap-drop", name, sizeof name, e);
            /* "--cap-add ALL --cap-drop X": every capability but X */
            if (strcmp(name, "ALL") != 0)
                zstrv_remove(caps, name);
        }
    }
    return 0;
}

/* podman also caps swap at twice the memory limit when only --memory is
 * given (memory + swap = 2 x memory); --pids-limit unset leaves no limit
 * (podman's 2048 default on cgroup v2 is not applied). */
int zbundle_resources(const struct zrun_flags *f, struct zspec_resources **out,
                      struct zerr *e)
{
    struct zspec_resources *r;
    *out = NULL;
    if (f->memory < 0)
        return zerr_set(e, EINVAL, "--memory: must not be negative");
    if (f->cpus < 0)
        return zerr_set(e, EINVAL, "--cpus: must not be negative");
    if (f->pids_limit < -1)
        return zerr_set(e, EINVAL, "--pids-limit: must be -1 (unlimited) or positive");
    if (!f->memory && !f->cpus && !f->pids_limit && f->rootless)
        return 0;
    if (!(r = calloc(1, sizeof *r)))
        return zerr_set(e, ENOMEM, "out of memory");
    if (!f->rootless) {
        /* deny every device; the runtime adds what containers need */
        if (!(r->devices = calloc(1, sizeof *r->devices)) ||
            !(r->devices[0].access = strdup("rwm")))
            goto oom;
        r->n_devices = 1;
        r->devices[0].allow = false;
    }
    if (f->memory) {
        if (!(r->memory = calloc(1, sizeof *r->memory)))
            goto oom;
        r->memory->has_limit = true;
        r->memory->limit = f->memory;
        if (f->memory <= INT64_MAX / 2) {
            r->memory->has_swap = true;
            r->memory->swap = f->memory * 2;
        }
    }
    if (f->cpus) {
        const uint64_t period = 100000;
        double quota = f->cpus * (double)period;
        if (quota < 1000 || quota > (double)INT64_MAX) {
            spec_resources_free(r);
            return zerr_set(e, EINVAL, "--cpus: %g is out of range", f->cpus);
        }
        if (!(r->cpu = calloc(1, sizeof *r->cpu)))
            goto oom;
        r->cpu->has_period = true;
        r->cpu->period = period;
        r->cpu->has_quota = true;
        r->cpu->quota = (int64_t)(quota + 0.5);
    }
    if (f->pids_limit) {
        if (!(r->pids = calloc(1, sizeof *r->pids)))
            goto oom;
        r->pids->has_limit = true;
        r->pids->limit = f->pids_limit;
    }
    *out = r;
    return 0;
oom:
    spec_resources_free(r);
    return zerr_set(e, ENOMEM, "out of memory");
}

/* ------------------------------------------------------------ seccomp file */

#if defined(__x86_64__)
static const char go_arch[] = "amd64", native_scmp_arch[] = "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
static const char go_arch[] = "arm64", native_scmp_arch[] = "SCMP_ARCH_AARCH64";
#elif defined(__s390x__)
static const char go_arch[] = "s390x", native_scmp_arch[] = "SCMP_ARCH_S390X";
#else
static const char go_arch[] = "", native_scmp_arch[] = "";
#endif

static bool json_has_string(const struct zjson *arr, const char *s)
{
    for (size_t i = 0; arr && arr->type == ZJSON_ARRAY && i < arr->len; i++)
        if (arr->u.items[i]->type == ZJSON_STRING && strcmp(arr->u.items[i]->u.str, s) == 0)
            return true;
    return false;
}

/* containers' selection of one entry: includes.arches / excludes.arches by
 * Go arch name, every includes.caps present, no excludes.caps present. */
static bool entry_applies(const struct zjson *entry, const struct zstrv *caps)
{
    const struct zjson *inc = zjson_get(entry, "includes");
    const struct zjson *exc = zjson_get(entry, "excludes");
    const struct zjson *v;

    if ((v = zjson_get(inc, "arches")) && v->type == ZJSON_ARRAY && v->len &&
        !json_has_string(v, go_arch))
        return false;
    if ((v = zjson_get(exc, "arches")) && json_has_string(v, go_arch))
        return false;
    if ((v = zjson_get(inc, "caps")) && v->type == ZJSON_ARRAY)
        for (size_t i = 0; i < v->len; i++)
            if (v->u.items[i]->type != ZJSON_STRING || !zstrv_has(caps, v->u.items[i]->u.str))
                return false;
    if ((v = zjson_get(exc, "caps")) && v->type == ZJSON_ARRAY)
        for (size_t i = 0; i < v->len; i++)
            if (v->u.items[i]->type == ZJSON_STRING && zstrv_has(caps, v->u.items[i]->u.str))
                return false;
    return true;
}

static void drop_syscall(struct zspec_seccomp *sc, size_t i)
{
    struct zspec_seccomp_syscall *c = &sc->syscalls[i];
    for (size_t j = 0; j < c->n_names; j++)
        free(c->names[j]);
    free(c->names);
    free(c->action);
    for (size_t j = 0; j < c->n_args; j++)
        free(c->args[j].op);
    free(c->args);
    memmove(c, c + 1, (sc->n_syscalls - i - 1) * sizeof *c);
    sc->n_syscalls--;
}

/* architectures from archMap (native + subArchitectures) when absent */
static int arch_from_map(const struct zjson *root, struct zspec_seccomp *sc, struct zerr *e)
{
    const struct zjson *map = zjson_get(root, "archMap");
    struct zstrv archs = {0};
    for (size_t i = 0; map && map->type == ZJSON_ARRAY && i < map->len; i++) {
        const struct zjson *a = zjson_get(map->u.items[i], "architecture");
        if (!a || a->type != ZJSON_STRING || strcmp(a->u.str, native_scmp_arch) != 0)
            continue;
        const struct zjson *subs = zjson_get(map->u.items[i], "subArchitectures");
        if (zstrv_add(&archs, a->u.str, e) < 0)
            goto fail;
        for (size_t j = 0; subs && subs->type == ZJSON_ARRAY && j < subs->len; j++)
            if (subs->u.items[j]->type == ZJSON_STRING &&
                zstrv_add(&archs, subs->u.items[j]->u.str, e) < 0)
                goto fail;
    }
    sc->architectures = archs.v;
    sc->n_architectures = archs.n;
    return 0;
fail:
    zstrv_free(&archs);
    return -1;
}

static int load_profile_file(const char *file, const struct zstrv *caps,
                             struct zspec_seccomp **out, struct zerr *e)
{
    static const char head[] = "{\"ociVersion\":\"1.0.0\",\"linux\":{\"seccomp\":";
    size_t len = 0;
    _cleanup_free_ char *text = zfile_read(file, 16u << 20, &len, e);
    _cleanup_free_ char *wrapped = NULL;
    struct zjson_doc *doc = NULL;
    struct zspec *s = NULL;
    int rc = -1;

    if (!text)
        return zerr_prefix(e, "seccomp profile %s", file);
    /* the spec parser reads the OCI fields and checks every name */
    if (asprintf(&wrapped, "%s%s}}", head, text) < 0)
        return zerr_set(e, ENOMEM, "out of memory");
    if (!(s = spec_parse(wrapped, strlen(wrapped), file, e)))
        return -1;
    if (!s->linux_ || !s->linux_->seccomp) {
        zerr_set(e, EINVAL, "seccomp profile %s: not a seccomp object", file);
        goto out;
    }
    /* then containers' extensions: includes/excludes and archMap */
    if (!(doc = zjson_parse(text, len, e))) {
        zerr_prefix(e, "seccomp profile %s", file);
        goto out;
    }
    const struct zjson *root = zjson_root(doc);
    const struct zjson *calls = zjson_get(root, "syscalls");
    struct zspec_seccomp *sc = s->linux_->seccomp;
    for (size_t i = calls && calls->type == ZJSON_ARRAY ? calls->len : 0; i-- > 0;)
        if (i < sc->n_syscalls && !entry_applies(calls->u.items[i], caps))
            drop_syscall(sc, i);
    if (!sc->n_architectures && arch_from_map(root, sc, e) < 0)
        goto out;
    *out = steal_ptr(&s->linux_->seccomp);
    rc = 0;
out:
    zjson_doc_free(doc);
    spec_free(s);
    return rc;
}

int zbundle_seccomp(const char *profile, const struct zstrv *caps,
                    struct zspec_seccomp **out, struct zerr *e)
{
    *out = NULL;
    if (profile && strcmp(profile, "unconfined") == 0)
        return 0;
    if (profile)
        return load_profile_file(profile, caps, out, e);
    *out = zengine_default_seccomp(caps->v, caps->n, e);
    return *out ? 0 : -1;
}
