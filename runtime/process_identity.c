/* Capabilities and the identity switch of the container's process: umask,
 * bounding set, supplementary groups, uid/gid, capability sets, ambient
 * capabilities and no_new_privs. */
#include "runtime/process_attrs.h"
#include "vm-sandbox/handler/handler.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "additionalGids are passed to setgroups as is");

/* ------------------------------------------------------------ names */

struct cap_set_ref {
    const char *field;          /* "bounding" ... as in the spec */
    char *const *names;
    size_t n;
    uint64_t *mask;
};

/* The capabilities the running kernel supports (CAP_LAST_CAP + 1). */
static unsigned kernel_cap_count(void)
{
    int n = (int)cap_max_bits();
    return n > 0 && n <= 64 ? (unsigned)n : 64;
}

/* Accepts exactly "CAP_" followed by an upper-case name libcap knows. */
static int resolve_cap_name(const char *name, cap_value_t *value)
{
    if (!name || strncmp(name, "CAP_", 4) != 0 || !name[4])
        return -1;
    for (const char *c = name + 4; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return -1;
    if (cap_from_name(name, value) < 0 || *value < 0 || *value >= 64)
        return -1;
    return 0;
}

static int resolve_masks(const struct zspec_capabilities *caps, struct zcap_masks *out,
                         bool warn_skipped, struct zerr *e)
{
    memset(out, 0, sizeof *out);
    if (!caps)
        return 0;
    const struct cap_set_ref sets[] = {
        { "bounding", caps->bounding, caps->n_bounding, &out->bounding },
        { "effective", caps->effective, caps->n_effective, &out->effective },
        { "inheritable", caps->inheritable, caps->n_inheritable, &out->inheritable },
        { "permitted", caps->permitted, caps->n_permitted, &out->permitted },
        { "ambient", caps->ambient, caps->n_ambient, &out->ambient },
    };
    unsigned known = kernel_cap_count();

    for (size_t s = 0; s < ZARRAY_SIZE(sets); s++) {
        for (size_t i = 0; i < sets[s].n; i++) {
            const char *name = sets[s].names[i];
            cap_value_t v;
            if (resolve_cap_name(name, &v) < 0) {
                /* as runc: a profile may name capabilities of newer kernels */
                if (warn_skipped)
                    zwarn("process.capabilities.%s[%zu]: ignoring unknown capability \"%s\"",
                          sets[s].field, i, name ? name : "");
                continue;
            }
            if ((unsigned)v >= known) {
                if (warn_skipped)
                    zwarn("process.capabilities.%s[%zu]: %s is not supported by the "
                          "running kernel, ignoring it", sets[s].field, i, name);
                continue;
            }
            *sets[s].mask |= 1ULL << v;
        }
    }
    return 0;
}

int zproc_capability_masks(const struct zspec_capabilities *caps, struct zcap_masks *out,
                           struct zerr *e)
{
    return resolve_masks(caps, out, false, e);
}

int zproc_vm_caps(const struct zspec_capabilities *caps, struct zvm_resolved *out, struct zerr *e)
{
    struct zcap_masks m;
    if (resolve_masks(caps, &m, false, e) < 0)
        return -1;
    *out = (struct zvm_resolved){ .caps_set = caps != NULL, .bounding = m.bounding, .effective = m.effective,
                              .permitted = m.permitted, .inheritable = m.inheritable,
                              .ambient = m.ambient };
    return 0;
}

static const char *first_cap_name(uint64_t mask, char *buf, size_t size)
{
    for (unsigned c = 0; c < 64; c++) {
        if (mask & (1ULL << c)) {
            char *name = cap_to_name((cap_value_t)c);
            if (!name) {
                snprintf(buf, size, "capability %u", c);
                return buf;
            }
            snprintf(buf, size, "%s", name);
            cap_free(name);
            for (char *p = buf; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                    *p = (char)(*p - 'a' + 'A');
            return buf;
        }
    }
    return "";
}

int zproc_validate_capabilities(const struct zspec_capabilities *caps, struct zerr *e)
{
    struct zcap_masks m;
    char name[64];
    if (resolve_masks(caps, &m, true, e) < 0)
        return -1;
    /* The kernel refuses a capset whose effective set exceeds the permitted
     * one; say so now rather than from inside init. */
    if (m.effective & ~m.permitted)
        return zerr_set(e, EINVAL, "process.capabilities.effective: %s is not in the "
                        "permitted set", first_cap_name(m.effective & ~m.permitted,
                                                        name, sizeof name));
    uint64_t unraisable = m.ambient & ~(m.permitted & m.inheritable);
    if (unraisable)
        /* runc's default spec asks for ambient caps it never makes
         * inheritable: common enough that a warning would be noise */
        zdebug("process.capabilities.ambient: %s is not both permitted and inheritable, "
              "it cannot be raised and will be ignored",
              first_cap_name(unraisable, name, sizeof name));
    return 0;
}

/* ------------------------------------------------------------ identity */

static int drop_bounding_set(uint64_t keep, struct zerr *e)
{
    unsigned known = kernel_cap_count();
    for (unsigned c = 0; c < known; c++) {
        if (keep & (1ULL << c))
            continue;
        if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
            return zerr_sys(e, "process.capabilities.bounding: dropping capability %u", c);
    }
    return 0;
}

static int set_capability_sets(const struct zcap_masks *m, struct zerr *e)
{
    cap_t caps = cap_init();
    if (!caps)
        return zerr_sys(e, "process.capabilities: cap_init");
    for (unsigned c = 0; c < 64; c++) {
        cap_value_t v = (cap_value_t)c;
        uint64_t bit = 1ULL << c;
        if ((m->effective & bit) && cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
            goto fail;
        if ((m->permitted & bit) && cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) < 0)
            goto fail;
        if ((m->inheritable & bit) && cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_SET) < 0)
            goto fail;
    }
    if (cap_set_proc(caps) < 0) {
        zerr_sys(e, "process.capabilities: setting the effective, permitted and "
                 "inheritable sets (inheritable ones must be in the bounding set)");
        cap_free(caps);
        return -1;
    }
    cap_free(caps);
    return 0;
fail:
    zerr_sys(e, "process.capabilities: building the capability sets");
    cap_free(caps);
    return -1;
}

static int raise_ambient(uint64_t ambient, struct zerr *e)
{
    /* Whatever the runtime inherited must not leak into the container. */
    if (cap_reset_ambient() < 0 && errno != EINVAL)
        return zerr_sys(e, "process.capabilities.ambient: clearing the ambient set");
    for (unsigned c = 0; c < 64; c++) {
        if (!(ambient & (1ULL << c)))
            continue;
        if (cap_set_ambient((cap_value_t)c, CAP_SET) == 0)
            continue;
        /* EPERM: not permitted+inheritable (warned about at validation);
         * EINVAL: a kernel without ambient capabilities. Both are skipped,
         * as crun does. */
        if (errno == EPERM || errno == EINVAL)
            continue;
        return zerr_sys(e, "process.capabilities.ambient: raising capability %u", c);
    }
    return 0;
}

/* EINVAL from setresuid & co: an id has no mapping in our user namespace.
 * Says so with the map (e.g. exec --user 1000 in a one-id container). */
static int unmapped(struct zerr *e, bool is_gid, const char *field, const char *what)
{
    char map[256] = "";
    _cleanup_close_ int fd = open(is_gid ? "/proc/self/gid_map" : "/proc/self/uid_map",
                                  O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, map, sizeof map - 1) : -1;
    size_t w = 0;

    map[n > 0 ? n : 0] = '\0';
    /* "   0  1001  1\n   1 100000 65536\n" -> "0 1001 1; 1 100000 65536" */
    for (size_t r = 0; map[r]; r++) {
        char c = map[r] == '\n' ? ';' : map[r];
        if (c == ' ' && (w == 0 || map[w - 1] == ' '))
            continue;
        if (c == ';') {
            while (w > 0 && map[w - 1] == ' ')
                w--;
            map[w++] = ';';
            map[w++] = ' ';
            continue;
        }
        map[w++] = c;
    }
    while (w > 0 && (map[w - 1] == ';' || map[w - 1] == ' '))
        w--;
    map[w] = '\0';
    return zerr_set(e, EINVAL, "%s: %s is not mapped in the container's user namespace "
                    "(%s_map: %s)", field, what, is_gid ? "gid" : "uid",
                    map[0] ? map : "empty");
}

int zproc_apply_identity(const struct zspec_process *p, bool setgroups_denied,
                         struct zerr *e)
{
    const struct zspec_user *u = &p->user;
    struct zcap_masks m;

    if (resolve_masks(p->capabilities, &m, false, e) < 0)
        return -1;
    /* Checked before anything changes. */
    if (setgroups_denied && u->n_additional_gids > 0)
        return zerr_set(e, EPERM, "process.user.additionalGids: cannot set "
                        "supplementary groups: setgroups is denied in this user "
                        "namespace");
    umask(u->has_umask ? (mode_t)(u->umask & 0777) : 0022);

    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return zerr_sys(e, "prctl(PR_SET_KEEPCAPS)");
    if (drop_bounding_set(m.bounding, e) < 0)
        return -1;

    if (!setgroups_denied &&
        setgroups(u->n_additional_gids, (const gid_t *)u->additional_gids) < 0)
        return errno == EINVAL ? unmapped(e, true, "process.user.additionalGids", "a gid")
                               : zerr_sys(e, "process.user.additionalGids: setgroups");
    if (setresgid(u->gid, u->gid, u->gid) < 0) {
        char what[32];
        snprintf(what, sizeof what, "gid %u", u->gid);
        return errno == EINVAL ? unmapped(e, true, "process.user.gid", what)
                               : zerr_sys(e, "process.user.gid: setresgid(%u)", u->gid);
    }
    if (setresuid(u->uid, u->uid, u->uid) < 0) {
        char what[32];
        snprintf(what, sizeof what, "uid %u", u->uid);
        return errno == EINVAL ? unmapped(e, false, "process.user.uid", what)
                               : zerr_sys(e, "process.user.uid: setresuid(%u)", u->uid);
    }

    if (set_capability_sets(&m, e) < 0)
        return -1;
    if (raise_ambient(m.ambient, e) < 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return zerr_sys(e, "prctl(PR_SET_KEEPCAPS, 0)");
    return 0;
}

int zproc_confine_monitor(const struct zvm_resolved *caps, struct zerr *e)
{
    uint64_t keep = caps->caps_set ? caps->bounding : 0;
    struct zcap_masks m = { .bounding = keep, .effective = keep, .permitted = keep };
    if (drop_bounding_set(keep, e) < 0 || set_capability_sets(&m, e) < 0 || raise_ambient(0, e) < 0)
        return zerr_prefix(e, "VM mode: confining the monitor");
    return 0;
}

int zproc_apply_no_new_privs(const struct zspec_process *p, struct zerr *e)
{
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return zerr_sys(e, "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
    return 0;
}
