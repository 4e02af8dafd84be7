/* zengine_default_seccomp: podman's default seccomp profile for this host's
 * architecture, built from the groups in engine/seccomp_profile_data.c.
 *
 * The rules that apply are chosen the way containers-common does when it
 * turns its seccomp.json into a spec: a group limited to architectures
 * applies only on those (judged by the native one), a capability group
 * applies when the container has (or lacks) that capability. Unknown
 * syscalls fail with ENOSYS (defaultErrnoRet 38), so programs fall back
 * from newer calls the profile does not know yet. */
#include "engine/bundle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/seccomp_profile_data.h"

#if defined(__x86_64__) && defined(__ILP32__)
#define HOST_ARCH ZSC_ARCH_X32
static const char *const host_arches[] = { "SCMP_ARCH_X32", NULL };
#elif defined(__x86_64__)
#define HOST_ARCH ZSC_ARCH_X86_64
static const char *const host_arches[] = {
    "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL
};
#elif defined(__i386__)
#define HOST_ARCH ZSC_ARCH_X86
static const char *const host_arches[] = { "SCMP_ARCH_X86", NULL };
#elif defined(__aarch64__)
#define HOST_ARCH ZSC_ARCH_AARCH64
static const char *const host_arches[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL };
#elif defined(__arm__)
#define HOST_ARCH ZSC_ARCH_ARM
static const char *const host_arches[] = { "SCMP_ARCH_ARM", NULL };
#elif defined(__s390x__)
#define HOST_ARCH ZSC_ARCH_S390X
static const char *const host_arches[] = { "SCMP_ARCH_S390X", "SCMP_ARCH_S390", NULL };
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH ZSC_ARCH_PPC64LE
static const char *const host_arches[] = { "SCMP_ARCH_PPC64LE", NULL };
#else
#define HOST_ARCH 0u
static const char *const host_arches[] = { NULL };
#endif

/* The unknown-syscall answer of podman's profile (defaultErrnoRet). */
#define DEFAULT_ERRNO ENOSYS

static bool has_cap(char *const *caps, size_t n, const char *cap)
{
    for (size_t i = 0; i < n; i++) {
        const char *c = caps[i];
        if (!c)
            continue;
        /* accept "SYS_ADMIN" as well as "CAP_SYS_ADMIN" */
        if (strncmp(c, "CAP_", 4) != 0 && strncmp(cap, "CAP_", 4) == 0
            && strcmp(c, cap + 4) == 0)
            return true;
        if (strcmp(c, cap) == 0)
            return true;
    }
    return false;
}

static bool group_applies(const struct zsc_group *g, char *const *caps, size_t n_caps)
{
    if (g->arches && !(g->arches & HOST_ARCH))
        return false;
    switch (g->when) {
    case ZSC_WITH_CAP:
        return has_cap(caps, n_caps, g->cap);
    case ZSC_WITHOUT_CAP:
        return !has_cap(caps, n_caps, g->cap);
    case ZSC_ALWAYS:
        break;
    }
    return true;
}

static char **strv_dup(const char *const *v, size_t *n_out)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(out[i] = strdup(v[i]))) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    *n_out = n;
    return out;
}

static int fill_syscall(struct zspec_seccomp_syscall *sc, const struct zsc_group *g)
{
    if (!(sc->names = strv_dup(g->names, &sc->n_names)) || !(sc->action = strdup(g->action)))
        return -1;
    if (g->errno_ret >= 0) {
        sc->has_errno_ret = true;
        sc->errno_ret = (uint32_t)g->errno_ret;
    }
    if (g->n_args) {
        sc->args = calloc(g->n_args, sizeof *sc->args);
        if (!sc->args)
            return -1;
        sc->n_args = g->n_args;
        for (size_t i = 0; i < g->n_args; i++) {
            sc->args[i].index = g->args[i].index;
            sc->args[i].value = g->args[i].value;
            if (!(sc->args[i].op = strdup(g->args[i].op)))
                return -1;
        }
    }
    return 0;
}

struct zspec_seccomp *zengine_default_seccomp(char *const *caps, size_t n_caps,
                                              struct zerr *e)
{
    struct zspec_seccomp *sc = calloc(1, sizeof *sc);
    size_t n = 0;

    if (!sc)
        goto oom;
    if (!(sc->default_action = strdup("SCMP_ACT_ERRNO")))
        goto oom;
    sc->has_default_errno_ret = true;
    sc->default_errno_ret = DEFAULT_ERRNO;
    if (!(sc->architectures = strv_dup(host_arches, &sc->n_architectures)))
        goto oom;
    sc->syscalls = calloc(zsc_n_groups, sizeof *sc->syscalls);
    if (!sc->syscalls)
        goto oom;
    for (size_t i = 0; i < zsc_n_groups; i++) {
        if (!group_applies(&zsc_groups[i], caps, n_caps))
            continue;
        /* count first, so a partial entry is freed with the rest */
        sc->n_syscalls = ++n;
        if (fill_syscall(&sc->syscalls[n - 1], &zsc_groups[i]) < 0)
            goto oom;
    }
    return sc;
oom:
    spec_seccomp_free(sc);
    zerr_set(e, ENOMEM, "default seccomp profile: out of memory");
    return NULL;
}
