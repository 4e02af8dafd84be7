/* Resolving module names to a load order from modules.dep, whose lines are
 *   kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko
 * (a module's path, then the paths of everything it needs). The order is a
 * depth-first walk of each module's own line, so it does not depend on
 * the order depmod happened to print. Works on the text as read, with one
 * array of line offsets: no per-line allocation for the ~4000 lines. */
#include "vm-sandbox/initramfs/initramfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64

struct dep_line {
    const char *path;
    size_t path_len;
    const char *deps;
    size_t deps_len;
};

struct resolver {
    struct dep_line *lines;
    unsigned nlines;
    unsigned char *state;   /* 0 new, 1 being visited, 2 done */
    struct moddep_list *out;
    struct zerr *e;
};

static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };

int moddep_name_of(const char *path, size_t path_len, char *buf, size_t cap)
{
    const char *base = path, *slash;
    size_t len;
    while ((slash = memchr(base, '/', path_len - (size_t)(base - path))))
        base = slash + 1;
    len = path_len - (size_t)(base - path);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && !memcmp(base + len - sl, suffixes[i], sl)) {
            size_t n = len - sl;
            if (n + 1 > cap)
                return -1;
            for (size_t j = 0; j < n; j++)
                buf[j] = base[j] == '-' ? '_' : base[j];
            buf[n] = '\0';
            return 0;
        }
    }
    return -1;
}

static void fold(const char *in, char *buf, size_t cap)
{
    size_t i;
    for (i = 0; in[i] && i + 1 < cap; i++)
        buf[i] = in[i] == '-' ? '_' : in[i];
    buf[i] = '\0';
}

static int parse_lines(const char *dep, size_t len, struct resolver *r)
{
    unsigned cap = 0;
    unsigned lineno = 0;
    for (const char *p = dep, *end = dep + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        char name[256];
        lineno++;
        if (eol == p) {
            p = eol + 1;
            continue;
        }
        if (!colon || memchr(p, '\0', (size_t)(eol - p)))
            return zerr_set(r->e, EINVAL, "modules.dep line %u: expected \"path: dependencies\"", lineno);
        if (moddep_name_of(p, (size_t)(colon - p), name, sizeof name) < 0)
            return zerr_set(r->e, EINVAL, "modules.dep line %u: \"%.*s\" is not a module path", lineno,
                            (int)((colon - p) > 200 ? 200 : colon - p), p);
        if (r->nlines == cap) {
            struct dep_line *n;
            cap = cap ? cap * 2 : 1024;
            n = realloc(r->lines, cap * sizeof *n);
            if (!n)
                return zerr_set(r->e, ENOMEM, "modules.dep: out of memory");
            r->lines = n;
        }
        r->lines[r->nlines++] = (struct dep_line){ p, (size_t)(colon - p), colon + 1, (size_t)(eol - colon - 1) };
        p = eol + (nl ? 1 : 0);
    }
    return 0;
}

static int find_by_name(const struct resolver *r, const char *name)
{
    char buf[256];
    for (unsigned i = 0; i < r->nlines; i++)
        if (moddep_name_of(r->lines[i].path, r->lines[i].path_len, buf, sizeof buf) == 0 && !strcmp(buf, name))
            return (int)i;
    return -1;
}

static int find_by_path(const struct resolver *r, const char *path, size_t len)
{
    for (unsigned i = 0; i < r->nlines; i++)
        if (r->lines[i].path_len == len && !memcmp(r->lines[i].path, path, len))
            return (int)i;
    return -1;
}

static bool is_builtin(const char *builtin, size_t len, const char *name)
{
    char buf[256];
    for (const char *p = builtin, *end = builtin + len; p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (moddep_name_of(p, (size_t)(eol - p), buf, sizeof buf) == 0 && !strcmp(buf, name))
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

static int append(struct resolver *r, const struct dep_line *l)
{
    char name[256];
    struct moddep_module *m, *mods = realloc(r->out->mods, (r->out->n + 1) * sizeof *mods);
    if (!mods)
        return zerr_set(r->e, ENOMEM, "modules: out of memory");
    r->out->mods = mods;
    m = &mods[r->out->n];
    moddep_name_of(l->path, l->path_len, name, sizeof name);
    m->name = strdup(name);
    m->path = strndup(l->path, l->path_len);
    if (!m->name || !m->path) {
        free(m->name);
        free(m->path);
        return zerr_set(r->e, ENOMEM, "modules: out of memory");
    }
    r->out->n++;
    return 0;
}

static int visit(struct resolver *r, unsigned idx, unsigned depth)
{
    const struct dep_line *l = &r->lines[idx];
    if (r->state[idx] == 2)
        return 0;
    if (r->state[idx] == 1)
        return zerr_set(r->e, ELOOP, "modules.dep: dependency cycle through %.*s", (int)l->path_len, l->path);
    if (depth > DEPTH_MAX)
        return zerr_set(r->e, ELOOP, "modules.dep: dependencies nested deeper than %d", DEPTH_MAX);
    r->state[idx] = 1;
    for (const char *p = l->deps, *end = l->deps + l->deps_len; p < end;) {
        const char *w;
        int dep;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        w = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        dep = find_by_path(r, w, (size_t)(p - w));
        if (dep < 0)
            return zerr_set(r->e, ENOENT, "modules.dep: %.*s needs %.*s, which has no line of its own",
                            (int)l->path_len, l->path, (int)(p - w > 200 ? 200 : p - w), w);
        if (visit(r, (unsigned)dep, depth + 1) < 0)
            return -1;
    }
    r->state[idx] = 2;
    return append(r, l);
}

int moddep_resolve(const char *dep, size_t dep_len, const char *builtin, size_t builtin_len,
                   const char *const *names, struct moddep_list *out, struct zerr *e)
{
    struct resolver r = { .out = out, .e = e };
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (parse_lines(dep, dep_len, &r) < 0)
        goto done;
    r.state = calloc(r.nlines ? r.nlines : 1, 1);
    if (!r.state) {
        zerr_set(e, ENOMEM, "modules: out of memory");
        goto done;
    }
    for (const char *const *n = names; *n; n++) {
        char name[256];
        int idx;
        fold(*n, name, sizeof name);
        idx = find_by_name(&r, name);
        if (idx < 0) {
            if (builtin && is_builtin(builtin, builtin_len, name))
                continue;
            zerr_set(e, ENOENT, "module %s: not in modules.dep (nor built in)", *n);
            goto done;
        }
        if (visit(&r, (unsigned)idx, 0) < 0)
            goto done;
    }
    rc = 0;
done:
    free(r.lines);
    free(r.state);
    if (rc < 0)
        moddep_list_free(out);
    return rc;
}

void moddep_list_free(struct moddep_list *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        free(l->mods[i].name);
        free(l->mods[i].path);
    }
    free(l->mods);
    memset(l, 0, sizeof *l);
}
