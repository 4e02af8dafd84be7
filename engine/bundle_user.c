/* The container's user from the image's own /etc/passwd and /etc/group,
 * read from the layers as the overlay will show them (the files are
 * untrusted: bounded reads, lines parsed by hand, numbers range-checked). */
#include "engine/bundle_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"

/* ------------------------------------------------------------ zstrv */

int zstrv_add(struct zstrv *s, const char *str, struct zerr *e)
{
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return zerr_set(e, ENOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(str)))
        return zerr_set(e, ENOMEM, "out of memory");
    s->v[++s->n] = NULL;
    return 0;
}

int zstrv_addf(struct zstrv *s, struct zerr *e, const char *fmt, ...)
{
    va_list ap;
    char *str = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&str, fmt, ap);
    va_end(ap);
    if (n < 0)
        return zerr_set(e, ENOMEM, "out of memory");
    int rc = zstrv_add(s, str, e);
    free(str);
    return rc;
}

bool zstrv_has(const struct zstrv *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return true;
    return false;
}

void zstrv_remove(struct zstrv *s, const char *str)
{
    size_t o = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i], str) == 0)
            free(s->v[i]);
        else
            s->v[o++] = s->v[i];
    }
    s->n = o;
    if (s->v)
        s->v[o] = NULL;
}

void zstrv_free(struct zstrv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ layers */

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static bool is_opaque(const char *dir)
{
    char v[2];
    ssize_t n = lgetxattr(dir, "trusted.overlay.opaque", v, sizeof v);
    if (n < 0)
        n = lgetxattr(dir, "user.overlay.opaque", v, sizeof v);
    return n == 1 && v[0] == 'y';
}

char *zbundle_layer_file(char *const *lowerdirs, size_t n_lower, const char *rel,
                         struct zerr *e)
{
    _cleanup_free_ char *clean = zpath_clean(rel);
    if (!clean)
        return zerr_set(e, ENOMEM, "out of memory"), NULL;
    for (size_t l = 0; l < n_lower; l++) {
        _cleanup_free_ char *path = zpath_join(lowerdirs[l], clean);
        struct stat st;
        bool hides_below = false;
        if (!path)
            return zerr_set(e, ENOMEM, "out of memory"), NULL;
        /* each ancestor inside the layer, then the file itself */
        for (char *p = path + strlen(path) - strlen(clean);; p++) {
            bool last = !*p;
            if (*p != '/' && !last)
                continue;
            char saved = *p;
            *p = '\0';
            int rc = lstat(path, &st);
            bool opaque = rc == 0 && !last && S_ISDIR(st.st_mode) && is_opaque(path);
            *p = saved;
            if (rc < 0)
                break;                 /* not in this layer: look lower */
            if (is_whiteout(&st))
                return zerr_set(e, ENOENT, "%s: not found in the image", rel), NULL;
            if (last) {
                if (S_ISREG(st.st_mode))
                    return steal_ptr(&path);
                /* a directory, symlink or device */
                return zerr_set(e, ENOENT, "%s: not a regular file in the image", rel), NULL;
            }
            if (!S_ISDIR(st.st_mode)) {
                hides_below = true;    /* a file where a directory should be */
                break;
            }
            if (opaque)
                hides_below = true;    /* nothing below this layer shows */
        }
        if (hides_below)
            break;
    }
    zerr_set(e, ENOENT, "%s: not found in the image", rel);
    return NULL;
}

/* ------------------------------------------------------------ files */

/* Splits a passwd/group line into at most max ':' fields (in place);
 * returns the count. */
static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = line;
        char *c = strchr(line, ':');
        if (!c)
            break;
        *c = '\0';
        line = c + 1;
    }
    return n;
}

static bool parse_id(const char *s, uint32_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v >= UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Reads an id file of the image; NULL (no error) when the image has none. */
static char *read_id_file(char *const *lowerdirs, size_t n_lower, const char *rel,
                          struct zerr *e, bool *failed)
{
    struct zerr le = {0};
    *failed = false;
    _cleanup_free_ char *path = zbundle_layer_file(lowerdirs, n_lower, rel, &le);
    if (!path)
        return NULL;
    char *text = zfile_read(path, ZBUNDLE_IDFILE_MAX, NULL, e);
    if (!text)
        *failed = true;
    return text;
}

struct passwd_hit { bool found; uint32_t uid, gid; char name[256]; };

/* by name (name != NULL) or by uid */
static void passwd_lookup(char *text, const char *name, uint32_t uid, struct passwd_hit *h)
{
    memset(h, 0, sizeof *h);
    for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        uint32_t u, g;
        if (split_fields(line, f, 7) < 4 || !parse_id(f[2], &u) || !parse_id(f[3], &g))
            continue;
        if (name ? strcmp(f[0], name) == 0 : u == uid) {
            h->found = true;
            h->uid = u;
            h->gid = g;
            snprintf(h->name, sizeof h->name, "%s", f[0]);
            return;
        }
    }
}

/* Resolves a group name; collects the gids of groups listing member. */
static int group_scan(char *text, const char *group, bool *found, uint32_t *gid,
                      const char *member, uint32_t **gids, size_t *n_gids)
{
    for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {0};
        uint32_t g;
        if (split_fields(line, f, 4) < 3 || !parse_id(f[2], &g))
            continue;
        if (group && !*found && strcmp(f[0], group) == 0) {
            *found = true;
            *gid = g;
        }
        if (!member || !f[3])
            continue;
        for (char *s2 = NULL, *m = strtok_r(f[3], ",", &s2); m; m = strtok_r(NULL, ",", &s2)) {
            if (strcmp(m, member) != 0)
                continue;
            bool dup = false;
            for (size_t i = 0; i < *n_gids; i++)
                dup |= (*gids)[i] == g;
            if (dup)
                break;
            uint32_t *ng = realloc(*gids, (*n_gids + 1) * sizeof *ng);
            if (!ng)
                return -1;
            *gids = ng;
            (*gids)[(*n_gids)++] = g;
            break;
        }
    }
    return 0;
}

int zbundle_resolve_user(const char *spec, char *const *lowerdirs, size_t n_lower,
                         const char *image, struct zspec_user *out, struct zerr *e)
{
    _cleanup_free_ char *copy = strdup(spec ? spec : "");
    _cleanup_free_ char *passwd = NULL, *group = NULL, *group2 = NULL;
    struct passwd_hit pw;
    bool failed = false, uid_numeric, group_found = false;
    uint32_t uid = 0, gid = 0;
    char *user_part, *group_part;
    const char *member;

    memset(out, 0, sizeof *out);
    if (!copy)
        return zerr_set(e, ENOMEM, "out of memory");
    user_part = copy;
    group_part = strchr(copy, ':');
    if (group_part)
        *group_part++ = '\0';
    if (!*user_part)
        user_part = "0";   /* "" and ":group" mean root */

    passwd = read_id_file(lowerdirs, n_lower, "etc/passwd", e, &failed);
    if (failed)
        return zerr_prefix(e, "image %s: /etc/passwd", image);
    uid_numeric = parse_id(user_part, &uid);
    passwd_lookup(passwd, uid_numeric ? NULL : user_part, uid, &pw);
    if (!uid_numeric && !pw.found)
        return zerr_set(e, ENOENT, "unable to find user %s: no matching entries in passwd "
                        "file of image %s", user_part, image);
    if (!uid_numeric)
        uid = pw.uid;
    gid = pw.found ? pw.gid : 0;
    member = pw.found ? pw.name : NULL;

    group = read_id_file(lowerdirs, n_lower, "etc/group", e, &failed);
    if (failed)
        return zerr_prefix(e, "image %s: /etc/group", image);
    if (group_part && *group_part) {
        if (!parse_id(group_part, &gid)) {
            /* scan a copy: group_scan cuts the text */
            group2 = group ? strdup(group) : NULL;
            if (group && !group2)
                return zerr_set(e, ENOMEM, "out of memory");
            if (group_scan(group2, group_part, &group_found, &gid, NULL, NULL, NULL) < 0)
                return zerr_set(e, ENOMEM, "out of memory");
            if (!group_found)
                return zerr_set(e, ENOENT, "unable to find group %s: no matching entries in "
                                "group file of image %s", group_part, image);
        }
    }
    if (member && group_scan(group, NULL, &group_found, NULL, member,
                             &out->additional_gids, &out->n_additional_gids) < 0)
        return zerr_set(e, ENOMEM, "out of memory");
    out->uid = uid;
    out->gid = gid;
    return 0;
}
