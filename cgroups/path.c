/* cgroupsPath resolution: absolute, relative to our own cgroup, the default
 * "/zone/<id>", and the systemd "slice:prefix:name" form. */
#include "cgroups/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"

#define ZCG_DEFAULT_PARENT "/zone"
#define ZCG_SYSTEMD_DEFAULT_SLICE "system.slice"
#define ZCG_SYSTEMD_DEFAULT_PREFIX "zone"

char *zcg_normalize_path(const char *path, struct zerr *e)
{
    size_t len = strlen(path);
    _cleanup_free_ char *out = NULL;
    size_t o = 0;
    const char *p = path;

    if (len >= PATH_MAX) {
        zerr_set(e, ENAMETOOLONG, "cgroup: path too long: %.64s...", path);
        return NULL;
    }
    if (strchr(path, '\n')) {
        zerr_set(e, EINVAL, "cgroup: path \"%s\": newline not allowed", path);
        return NULL;
    }
    out = malloc(len + 2);
    if (!out) {
        zerr_sys(e, "cgroup: path");
        return NULL;
    }
    while (*p) {
        const char *start, *end;
        size_t clen;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        start = p;
        end = strchr(start, '/');
        if (!end)
            end = start + strlen(start);
        clen = (size_t)(end - start);
        if ((clen == 1 && start[0] == '.') ||
            (clen == 2 && start[0] == '.' && start[1] == '.')) {
            zerr_set(e, EINVAL,
                     "cgroup: path \"%s\": \".\" and \"..\" components are "
                     "not allowed", path);
            return NULL;
        }
        out[o++] = '/';
        memcpy(out + o, start, clen);
        o += clen;
        p = end;
    }
    out[o] = '\0';
    if (o == 0) {
        zerr_set(e, EINVAL, "cgroup: path \"%s\" is the root cgroup", path);
        return NULL;
    }
    return steal_ptr(&out);
}

/* Appends "/<s>" to buf. */
static int append(char *buf, size_t size, size_t *len, const char *s,
                  size_t slen)
{
    if (*len + 1 + slen + 1 > size)
        return -1;
    buf[(*len)++] = '/';
    memcpy(buf + *len, s, slen);
    *len += slen;
    buf[*len] = '\0';
    return 0;
}

static bool valid_unit_part(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") != 0 &&
           strcmp(s, "..") != 0 && !strchr(s, '\n');
}

char *zcg_systemd_path(const char *spn, const char *id, struct zerr *e)
{
    _cleanup_free_ char *copy = NULL;
    char path[PATH_MAX];
    size_t len = 0, stem_len;
    const char *slice, *prefix, *name;
    char *c1, *c2;

    path[0] = '\0';
    if (!spn || !*spn) {
        if (asprintf(&copy, "%s:%s:%s", ZCG_SYSTEMD_DEFAULT_SLICE,
                     ZCG_SYSTEMD_DEFAULT_PREFIX, id) < 0) {
            copy = NULL;
            zerr_sys(e, "cgroup: path");
            return NULL;
        }
    } else if (!(copy = strdup(spn))) {
        zerr_sys(e, "cgroup: path");
        return NULL;
    }
    c1 = strchr(copy, ':');
    c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || strchr(c2 + 1, ':')) {
        zerr_set(e, EINVAL,
                 "systemd cgroup driver: cgroupsPath \"%s\": expected "
                 "\"slice:prefix:name\"", spn);
        return NULL;
    }
    *c1 = *c2 = '\0';
    slice = *copy ? copy : ZCG_SYSTEMD_DEFAULT_SLICE;
    prefix = c1 + 1;
    name = c2 + 1;
    stem_len = strlen(slice) >= 6 ? strlen(slice) - 6 : 0;
    if (!valid_unit_part(slice) || strlen(slice) <= 6 ||
        strcmp(slice + stem_len, ".slice") != 0 || !valid_unit_part(name) ||
        (*prefix && !valid_unit_part(prefix))) {
        zerr_set(e, EINVAL,
                 "systemd cgroup driver: cgroupsPath \"%s\": invalid slice or "
                 "unit name", spn);
        return NULL;
    }
    /* "a-b.slice" lives in "a.slice"; "-.slice" is the root slice. */
    if (strcmp(slice, "-.slice") != 0) {
        if (slice[0] == '-' || slice[stem_len - 1] == '-' ||
            strstr(slice, "--")) {
            zerr_set(e, EINVAL,
                     "systemd cgroup driver: slice \"%s\": invalid name", slice);
            return NULL;
        }
        for (size_t i = 0; i <= stem_len; i++) {
            char part[NAME_MAX + 1];
            if (i < stem_len && slice[i] != '-')
                continue;
            if (i + 6 >= sizeof part)
                goto too_long;
            memcpy(part, slice, i);
            memcpy(part + i, ".slice", 7);
            if (append(path, sizeof path, &len, part, strlen(part)) < 0)
                goto too_long;
        }
    }
    if (strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".slice") == 0) {
        if (append(path, sizeof path, &len, name, strlen(name)) < 0)
            goto too_long;
    } else {
        char unit[NAME_MAX + 1];
        int n = *prefix ? snprintf(unit, sizeof unit, "%s-%s.scope", prefix, name)
                        : snprintf(unit, sizeof unit, "%s.scope", name);
        if (n < 0 || (size_t)n >= sizeof unit ||
            append(path, sizeof path, &len, unit, (size_t)n) < 0)
            goto too_long;
    }
    return zcg_normalize_path(path, e);
too_long:
    zerr_set(e, ENAMETOOLONG, "systemd cgroup driver: cgroupsPath \"%s\": too long",
             spn);
    return NULL;
}

char *zcg_resolve_path(const char *cgroups_path, const char *id, bool systemd,
                       const char *own_path, struct zerr *e)
{
    _cleanup_free_ char *joined = NULL;

    if (!id || !*id || strchr(id, '/') || strcmp(id, ".") == 0 ||
        strcmp(id, "..") == 0) {
        zerr_set(e, EINVAL, "cgroup: invalid container id \"%s\"", id ? id : "");
        return NULL;
    }
    if (systemd)
        return zcg_systemd_path(cgroups_path, id, e);
    if (!cgroups_path || !*cgroups_path) {
        if (asprintf(&joined, "%s/%s", ZCG_DEFAULT_PARENT, id) < 0) {
            joined = NULL;
            zerr_sys(e, "cgroup: path");
            return NULL;
        }
    } else if (cgroups_path[0] == '/') {
        return zcg_normalize_path(cgroups_path, e);
    } else {
        if (!own_path) {
            zerr_set(e, EINVAL, "cgroup: relative path \"%s\" needs the "
                     "caller's own cgroup", cgroups_path);
            return NULL;
        }
        if (asprintf(&joined, "%s/%s", own_path, cgroups_path) < 0) {
            joined = NULL;
            zerr_sys(e, "cgroup: path");
            return NULL;
        }
    }
    return zcg_normalize_path(joined, e);
}
