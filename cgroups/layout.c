/* Which cgroup hierarchies the host has, read once: statfs() of
 * /sys/fs/cgroup answers pure v2 without reading anything else; otherwise
 * only the cgroup/cgroup2 lines of /proc/self/mountinfo are parsed. */
#include "cgroups/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "core/cleanup.h"
#include "core/log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define ZCG_DEFAULT_ROOT "/sys/fs/cgroup"

static const char *const known_controllers[] = {
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls",
    "net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc",
    "debug",
};

static bool is_controller_option(const char *opt)
{
    if (strncmp(opt, "name=", 5) == 0)
        return opt[5] != '\0';
    for (size_t i = 0; i < ZARRAY_SIZE(known_controllers); i++)
        if (strcmp(opt, known_controllers[i]) == 0)
            return true;
    return false;
}

static void hier_free(struct zcg_hier *h)
{
    free(h->mountpoint);
    free(h->mount_root);
    free(h->key);
    if (h->controllers) {
        for (char **p = h->controllers; *p; p++)
            free(*p);
        free(h->controllers);
    }
    memset(h, 0, sizeof *h);
}

void zcg_layout_free(struct zcg_layout *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        hier_free(&l->h[i]);
    free(l->h);
    l->h = NULL;
    l->n = 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
            s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
                          (s[3] - '0'));
            s += 4;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static bool under_default_root(const char *mp)
{
    size_t n = strlen(ZCG_DEFAULT_ROOT);
    return strncmp(mp, ZCG_DEFAULT_ROOT, n) == 0 &&
           (mp[n] == '\0' || mp[n] == '/');
}

/* Parsed fields of one cgroup mountinfo line. */
struct mline {
    char *dev, *root, *mountpoint, *fstype, *superopts;
};

static int split_line(char *line, struct mline *m)
{
    char *f[6], *save = NULL, *tok;
    int i = 0;

    while (i < 6 && (tok = strtok_r(i ? NULL : line, " ", &save)))
        f[i++] = tok;
    if (i < 6)
        return -1;
    /* optional fields until the lone "-" separator */
    while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-") != 0)
        ;
    if (!tok)
        return -1;
    m->dev = f[2];
    m->root = f[3];
    m->mountpoint = f[4];
    m->fstype = strtok_r(NULL, " ", &save);
    if (!m->fstype || !strtok_r(NULL, " ", &save)) /* source */
        return -1;
    m->superopts = strtok_r(NULL, " ", &save);
    return m->superopts ? 0 : -1;
}

static int controllers_from_opts(const char *opts, char ***out, char **key)
{
    _cleanup_free_ char *copy = strdup(opts);
    char **v = NULL, *save = NULL;
    size_t n = 0, keylen = 0;

    *out = NULL;
    *key = NULL;
    if (!copy)
        return -1;
    for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        char **nv;
        if (!is_controller_option(o))
            continue;
        nv = realloc(v, (n + 2) * sizeof *v);
        if (!nv)
            goto fail;
        v = nv;
        if (!(v[n] = strdup(o)))
            goto fail;
        v[++n] = NULL;
        keylen += strlen(o) + 1;
    }
    if (n == 0)
        return 0;
    if (!(*key = malloc(keylen)))
        goto fail;
    (*key)[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(*key, ",");
        strcat(*key, v[i]);
    }
    *out = v;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

/* Device numbers of the chosen mounts, parallel to l->h while parsing. */
struct seen {
    char dev[32];
};

static int add_mount(struct zcg_layout *l, struct seen **seen,
                     const struct mline *m, struct zerr *e)
{
    bool v2 = strcmp(m->fstype, "cgroup2") == 0;
    struct zcg_hier h = {0};
    struct zcg_hier *nh;
    struct seen *ns;

    h.v2 = v2;
    if (!v2) {
        if (controllers_from_opts(m->superopts, &h.controllers, &h.key) < 0)
            return zerr_sys(e, "cgroup: parsing mountinfo");
        if (!h.key)
            return 0; /* a v1 mount without controllers: nothing to use */
    } else if (!(h.key = strdup(ZCG_V2_KEY))) {
        return zerr_sys(e, "cgroup: parsing mountinfo");
    }
    h.mountpoint = unescape(m->mountpoint);
    h.mount_root = unescape(m->root);
    if (!h.mountpoint || !h.mount_root) {
        hier_free(&h);
        return zerr_sys(e, "cgroup: parsing mountinfo");
    }
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp((*seen)[i].dev, m->dev) != 0)
            continue;
        /* The same hierarchy mounted twice: keep the /sys/fs/cgroup one. */
        if (!under_default_root(l->h[i].mountpoint) &&
            under_default_root(h.mountpoint)) {
            hier_free(&l->h[i]);
            l->h[i] = h;
        } else {
            hier_free(&h);
        }
        return 0;
    }
    nh = realloc(l->h, (l->n + 1) * sizeof *nh);
    if (!nh) {
        hier_free(&h);
        return zerr_sys(e, "cgroup: parsing mountinfo");
    }
    l->h = nh;
    ns = realloc(*seen, (l->n + 1) * sizeof *ns);
    if (!ns) {
        hier_free(&h);
        return zerr_sys(e, "cgroup: parsing mountinfo");
    }
    *seen = ns;
    snprintf(ns[l->n].dev, sizeof ns[l->n].dev, "%s", m->dev);
    l->h[l->n++] = h;
    return 0;
}

int zcg_layout_parse_mountinfo(const char *text, struct zcg_layout *out,
                               struct zerr *e)
{
    _cleanup_free_ char *copy = strdup(text);
    _cleanup_free_ struct seen *seen = NULL;
    struct zcg_layout l = {0};
    bool has_v1_ctrl = false, has_v2 = false;
    char *save = NULL;

    if (!copy)
        return zerr_sys(e, "cgroup: parsing mountinfo");
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct mline m;
        /* cheap filter before splitting: only cgroup filesystems matter */
        if (!strstr(line, " - cgroup"))
            continue;
        if (split_line(line, &m) < 0)
            continue;
        if (strcmp(m.fstype, "cgroup") != 0 && strcmp(m.fstype, "cgroup2") != 0)
            continue;
        if (add_mount(&l, &seen, &m, e) < 0) {
            zcg_layout_free(&l);
            return -1;
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        if (l.h[i].v2)
            has_v2 = true;
        else if (strncmp(l.h[i].key, "name=", 5) != 0)
            has_v1_ctrl = true;
    }
    if (!has_v1_ctrl && !has_v2) {
        zcg_layout_free(&l);
        return zerr_set(e, ENOENT, "cgroup: no cgroup filesystem is mounted");
    }
    if (!has_v1_ctrl) {
        /* Only named v1 hierarchies beside cgroup2: treat as pure v2. */
        size_t k = 0;
        for (size_t i = 0; i < l.n; i++) {
            if (l.h[i].v2)
                l.h[k++] = l.h[i];
            else
                hier_free(&l.h[i]);
        }
        l.n = k;
        l.mode = ZCG_V2;
    } else {
        l.mode = has_v2 ? ZCG_HYBRID : ZCG_V1;
    }
    *out = l;
    return 0;
}

int zcg_layout_v2(const char *mountpoint, struct zcg_layout *out,
                  struct zerr *e)
{
    struct zcg_layout l = {.mode = ZCG_V2};
    l.h = calloc(1, sizeof *l.h);
    if (!l.h)
        return zerr_sys(e, "cgroup: layout");
    l.n = 1;
    l.h[0].v2 = true;
    l.h[0].mountpoint = strdup(mountpoint);
    l.h[0].mount_root = strdup("/");
    l.h[0].key = strdup(ZCG_V2_KEY);
    if (!l.h[0].mountpoint || !l.h[0].mount_root || !l.h[0].key) {
        zcg_layout_free(&l);
        return zerr_sys(e, "cgroup: layout");
    }
    *out = l;
    return 0;
}

const struct zcg_hier *zcg_layout_find_v1(const struct zcg_layout *l,
                                          const char *ctrl)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->h[i].v2)
            continue;
        for (char **c = l->h[i].controllers; c && *c; c++)
            if (strcmp(*c, ctrl) == 0)
                return &l->h[i];
    }
    return NULL;
}

/* Mount options that are not cgroup2 root flags. */
static bool is_generic_mount_option(const char *opt)
{
    return strcmp(opt, "rw") == 0 || strcmp(opt, "ro") == 0 ||
           strcmp(opt, "seclabel") == 0;
}

int zcg_v2_root_flags_from(const char *mountinfo, char *out, size_t size)
{
    _cleanup_free_ char *copy = strdup(mountinfo);
    char *line, *save = NULL;
    size_t len = 0;

    if (!copy)
        return -ENOMEM;
    out[0] = '\0';
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct mline m;
        char *opt, *osave = NULL;
        if (split_line(line, &m) < 0 || strcmp(m.fstype, "cgroup2") != 0)
            continue;
        for (opt = strtok_r(m.superopts, ",", &osave); opt; opt = strtok_r(NULL, ",", &osave)) {
            size_t n = strlen(opt);
            if (is_generic_mount_option(opt))
                continue;
            if (len + (len ? 1 : 0) + n + 1 > size)
                return -ENAMETOOLONG;
            len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "," : "", opt);
        }
        return 1;
    }
    return 0;
}

int zcg_v2_host_root_flags(char *out, size_t size, struct zerr *e)
{
    _cleanup_free_ char *text = zcg_read_all("/proc/self/mountinfo", e);
    int rc;

    if (!text)
        return -1;
    rc = zcg_v2_root_flags_from(text, out, size);
    if (rc < 0)
        return zerr_set(e, -rc, "/proc/self/mountinfo: cgroup2 mount options too long");
    return rc;
}

static struct {
    bool done;
    int rc;
    struct zerr err;
    struct zcg_layout layout;
} host;

const struct zcg_layout *zcg_host_layout(struct zerr *e)
{
    if (!host.done) {
        struct statfs sfs;
        host.done = true;
        if (statfs(ZCG_DEFAULT_ROOT, &sfs) == 0 &&
            sfs.f_type == CGROUP2_SUPER_MAGIC) {
            host.rc = zcg_layout_v2(ZCG_DEFAULT_ROOT, &host.layout, &host.err);
        } else {
            _cleanup_free_ char *text =
                zcg_read_all("/proc/self/mountinfo", &host.err);
            host.rc = text ? zcg_layout_parse_mountinfo(text, &host.layout,
                                                        &host.err)
                           : -1;
        }
        if (host.rc == 0)
            zdebug("cgroup: host layout %s, %zu hierarchies",
                   zcg_mode_name(host.layout.mode), host.layout.n);
    }
    if (host.rc < 0) {
        if (e)
            *e = host.err;
        return NULL;
    }
    return &host.layout;
}

int zcg_host_detect(enum zcg_mode *mode, struct zerr *e)
{
    const struct zcg_layout *l = zcg_host_layout(e);
    if (!l)
        return -1;
    *mode = l->mode;
    return 0;
}

enum zcg_mode zcg_host_mode(void)
{
    const struct zcg_layout *l = zcg_host_layout(NULL);
    return l ? l->mode : ZCG_V2;
}

const char *zcg_mode_name(enum zcg_mode m)
{
    switch (m) {
    case ZCG_V1: return "v1";
    case ZCG_V2: return "v2";
    case ZCG_HYBRID: return "hybrid";
    }
    return "unknown";
}

/* true when the comma list `list` names exactly the controllers of h. */
static bool same_controllers(const char *list, const struct zcg_hier *h)
{
    _cleanup_free_ char *copy = strdup(list);
    char *save = NULL;
    size_t found = 0, total = 0;

    if (!copy)
        return false;
    for (char **c = h->controllers; c && *c; c++)
        total++;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool match = false;
        for (char **c = h->controllers; c && *c; c++)
            if (strcmp(*c, t) == 0)
                match = true;
        if (!match)
            return false;
        found++;
    }
    return found == total && total > 0;
}

char *zcg_own_path(const char *proc_cgroup_text, const struct zcg_hier *h,
                   struct zerr *e)
{
    _cleanup_free_ char *copy = strdup(proc_cgroup_text);
    char *save = NULL;

    if (!copy) {
        zerr_sys(e, "cgroup: /proc/self/cgroup");
        return NULL;
    }
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':'), *c2, *path;
        size_t rl;
        if (!c1 || !(c2 = strchr(c1 + 1, ':')))
            continue;
        *c1 = *c2 = '\0';
        path = c2 + 1;
        if (h->v2 ? !(strcmp(line, "0") == 0 && c1[1] == '\0')
                  : !same_controllers(c1 + 1, h))
            continue;
        /* A bind-mounted sub-tree: paths below its root are relative to it. */
        rl = strlen(h->mount_root);
        if (strcmp(h->mount_root, "/") != 0 &&
            strncmp(path, h->mount_root, rl) == 0 &&
            (path[rl] == '\0' || path[rl] == '/'))
            path += rl;
        if (*path == '\0')
            path = "/";
        char *r = strdup(path);
        if (!r)
            zerr_sys(e, "cgroup: /proc/self/cgroup");
        return r;
    }
    zerr_set(e, ENOENT, "cgroup: /proc/self/cgroup: no entry for hierarchy %s",
             h->key);
    return NULL;
}
