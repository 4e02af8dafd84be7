/* OCI / Docker schema 2 manifests, indexes and image configs, parsed from
 * untrusted JSON (core/json.h tree). Every field is type-checked, strings
 * with an embedded NUL are refused, digests must be sha256, sizes >= 0,
 * and the number of layers / index entries is bounded. Errors name the
 * document (`what`) and the field ("manifest sha256:ab..: layers[2].size:
 * expected a non-negative integer"). */
#include "images/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/json.h"

#define MAX_LAYERS 1000
#define MAX_INDEX_ENTRIES 1000
#define MAX_CONFIG_ITEMS 100000

/* ------------------------------------------------------------- helpers */

static int type_error(const char *what, const char *field, const char *expected,
                      const struct zjson *v, struct zerr *e)
{
    return zerr_set(e, EINVAL, "%s: %s: expected %s, got %s", what, field, expected,
                    zjson_type_name(v->type));
}

/* Copies a JSON string (refusing embedded NULs) into a new buffer. */
static int dup_string(const struct zjson *v, const char *what, const char *field, char **out,
                      struct zerr *e)
{
    if (v->type != ZJSON_STRING)
        return type_error(what, field, "string", v, e);
    if (strlen(v->u.str) != v->len)
        return zerr_set(e, EINVAL, "%s: %s: string contains a NUL byte", what, field);
    *out = strdup(v->u.str);
    if (!*out)
        return zerr_sys(e, "%s: %s", what, field);
    return 0;
}

/* Optional string member: absent or null leaves *out NULL. */
static int opt_string(const struct zjson *obj, const char *key, const char *what,
                      const char *field, char **out, struct zerr *e)
{
    const struct zjson *v = zjson_get(obj, key);
    *out = NULL;
    if (!v || v->type == ZJSON_NULL)
        return 0;
    return dup_string(v, what, field, out, e);
}

static void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Optional array of strings: absent or null leaves *out NULL, n 0. An empty
 * array gives a non-NULL empty vector (Entrypoint [] differs from none). */
static int opt_strv(const struct zjson *obj, const char *key, const char *what,
                    const char *field, char ***out, size_t *n, struct zerr *e)
{
    const struct zjson *v = zjson_get(obj, key);
    char **vec;
    *out = NULL;
    *n = 0;
    if (!v || v->type == ZJSON_NULL)
        return 0;
    if (v->type != ZJSON_ARRAY)
        return type_error(what, field, "array of strings", v, e);
    if (v->len > MAX_CONFIG_ITEMS)
        return zerr_set(e, E2BIG, "%s: %s: more than %d entries", what, field, MAX_CONFIG_ITEMS);
    vec = calloc(v->len + 1, sizeof *vec);
    if (!vec)
        return zerr_sys(e, "%s: %s", what, field);
    for (size_t i = 0; i < v->len; i++) {
        char sub[160];
        snprintf(sub, sizeof sub, "%s[%zu]", field, i);
        if (dup_string(v->u.items[i], what, sub, &vec[i], e) < 0) {
            strv_free(vec, i);
            return -1;
        }
    }
    *out = vec;
    *n = v->len;
    return 0;
}

/* Optional object whose keys are what matters (Volumes, ExposedPorts). */
static int opt_keys(const struct zjson *obj, const char *key, const char *what,
                    const char *field, char ***out, size_t *n, struct zerr *e)
{
    const struct zjson *v = zjson_get(obj, key);
    char **vec;
    *out = NULL;
    *n = 0;
    if (!v || v->type == ZJSON_NULL)
        return 0;
    if (v->type != ZJSON_OBJECT)
        return type_error(what, field, "object", v, e);
    if (v->len > MAX_CONFIG_ITEMS)
        return zerr_set(e, E2BIG, "%s: %s: more than %d entries", what, field, MAX_CONFIG_ITEMS);
    vec = calloc(v->len + 1, sizeof *vec);
    if (!vec)
        return zerr_sys(e, "%s: %s", what, field);
    for (size_t i = 0; i < v->len; i++) {
        const struct zjson_member *m = &v->u.members[i];
        if (strlen(m->key) != m->key_len) {
            strv_free(vec, i);
            return zerr_set(e, EINVAL, "%s: %s: key contains a NUL byte", what, field);
        }
        vec[i] = strdup(m->key);
        if (!vec[i]) {
            strv_free(vec, i);
            return zerr_sys(e, "%s: %s", what, field);
        }
    }
    *out = vec;
    *n = v->len;
    return 0;
}

static int parse_size(const struct zjson *obj, const char *what, const char *field,
                      int64_t *out, struct zerr *e)
{
    const struct zjson *v = zjson_get(obj, "size");
    if (!v)
        return zerr_set(e, EINVAL, "%s: %s.size: missing", what, field);
    if (v->type != ZJSON_NUMBER || zjson_int64(v, out) < 0 || *out < 0)
        return zerr_set(e, EINVAL, "%s: %s.size: expected a non-negative integer", what, field);
    return 0;
}

static void descriptor_clear(struct zdescriptor *d)
{
    free(d->media_type);
    free(d->os);
    free(d->architecture);
    free(d->variant);
    memset(d, 0, sizeof *d);
}

static int parse_descriptor(const struct zjson *v, const char *what, const char *field,
                            bool platform, struct zdescriptor *d, struct zerr *e)
{
    const struct zjson *dg, *p;
    char sub[200];

    memset(d, 0, sizeof *d);
    if (v->type != ZJSON_OBJECT)
        return type_error(what, field, "object", v, e);
    snprintf(sub, sizeof sub, "%s.mediaType", field);
    if (opt_string(v, "mediaType", what, sub, &d->media_type, e) < 0)
        goto fail;
    dg = zjson_get(v, "digest");
    snprintf(sub, sizeof sub, "%s.digest", field);
    if (!dg) {
        zerr_set(e, EINVAL, "%s: %s: missing", what, sub);
        goto fail;
    }
    if (dg->type != ZJSON_STRING) {
        type_error(what, sub, "string", dg, e);
        goto fail;
    }
    if (strlen(dg->u.str) != dg->len || zdigest_check(dg->u.str, sub, e) < 0) {
        if (strlen(dg->u.str) != dg->len)
            zerr_set(e, EINVAL, "%s: string contains a NUL byte", sub);
        zerr_prefix(e, "%s", what);
        goto fail;
    }
    snprintf(d->digest, sizeof d->digest, "%s", dg->u.str);
    if (parse_size(v, what, field, &d->size, e) < 0)
        goto fail;
    p = platform ? zjson_get(v, "platform") : NULL;
    if (p && p->type != ZJSON_NULL) {
        snprintf(sub, sizeof sub, "%s.platform", field);
        if (p->type != ZJSON_OBJECT) {
            type_error(what, sub, "object", p, e);
            goto fail;
        }
        snprintf(sub, sizeof sub, "%s.platform.os", field);
        if (opt_string(p, "os", what, sub, &d->os, e) < 0)
            goto fail;
        snprintf(sub, sizeof sub, "%s.platform.architecture", field);
        if (opt_string(p, "architecture", what, sub, &d->architecture, e) < 0)
            goto fail;
        snprintf(sub, sizeof sub, "%s.platform.variant", field);
        if (opt_string(p, "variant", what, sub, &d->variant, e) < 0)
            goto fail;
    }
    return 0;
fail:
    descriptor_clear(d);
    return -1;
}

static const struct zjson *parse_root(const char *json, size_t len, const char *what,
                                      struct zjson_doc **doc, struct zerr *e)
{
    const struct zjson *root;
    *doc = NULL;
    if (len > ZMANIFEST_MAX) {
        zerr_set(e, EFBIG, "%s: %zu bytes, more than the %u allowed", what, len, ZMANIFEST_MAX);
        return NULL;
    }
    *doc = zjson_parse(json, len, e);
    if (!*doc) {
        zerr_prefix(e, "%s", what);
        return NULL;
    }
    root = zjson_root(*doc);
    if (root->type != ZJSON_OBJECT) {
        type_error(what, "document", "object", root, e);
        zjson_doc_free(*doc);
        *doc = NULL;
        return NULL;
    }
    return root;
}

/* schemaVersion must be 2 when present (schema 1 manifests are refused). */
static int check_schema(const struct zjson *root, const char *what, struct zerr *e)
{
    const struct zjson *v = zjson_get(root, "schemaVersion");
    int64_t n;
    if (!v)
        return 0;
    if (v->type != ZJSON_NUMBER || zjson_int64(v, &n) < 0)
        return zerr_set(e, EINVAL, "%s: schemaVersion: expected an integer", what);
    if (n != 2)
        return zerr_set(e, ENOTSUP, "%s: schemaVersion %lld is not supported (only 2)", what,
                        (long long)n);
    return 0;
}

/* --------------------------------------------------------------- kinds */

static enum zdoc_kind kind_of_media_type(const char *mt)
{
    if (!mt)
        return ZDOC_UNKNOWN;
    if (!strcmp(mt, ZMT_OCI_MANIFEST) || !strcmp(mt, ZMT_DOCKER_MANIFEST))
        return ZDOC_MANIFEST;
    if (!strcmp(mt, ZMT_OCI_INDEX) || !strcmp(mt, ZMT_DOCKER_LIST))
        return ZDOC_INDEX;
    return ZDOC_UNKNOWN;
}

enum zdoc_kind zdoc_kind_of(const char *json, size_t len, const char *declared_media_type)
{
    struct zerr e;
    struct zjson_doc *doc;
    const struct zjson *root, *mt;
    enum zdoc_kind k = kind_of_media_type(declared_media_type);

    if (k != ZDOC_UNKNOWN)
        return k;
    root = parse_root(json, len, "document", &doc, &e);
    if (!root)
        return ZDOC_UNKNOWN;
    mt = zjson_get(root, "mediaType");
    if (mt && mt->type == ZJSON_STRING)
        k = kind_of_media_type(mt->u.str);
    if (k == ZDOC_UNKNOWN) {
        const struct zjson *m = zjson_get(root, "manifests");
        const struct zjson *l = zjson_get(root, "layers");
        if (m && m->type == ZJSON_ARRAY)
            k = ZDOC_INDEX;
        else if (l && l->type == ZJSON_ARRAY && zjson_get(root, "config"))
            k = ZDOC_MANIFEST;
    }
    zjson_doc_free(doc);
    return k;
}

/* ------------------------------------------------------------ manifest */

void zmanifest_free(struct zmanifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    descriptor_clear(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        descriptor_clear(&m->layers[i]);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

int zmanifest_parse(const char *json, size_t len, const char *what, struct zmanifest *out,
                    struct zerr *e)
{
    struct zjson_doc *doc;
    const struct zjson *root, *cfg, *layers;

    memset(out, 0, sizeof *out);
    root = parse_root(json, len, what, &doc, e);
    if (!root)
        return -1;
    if (check_schema(root, what, e) < 0)
        goto fail;
    if (opt_string(root, "mediaType", what, "mediaType", &out->media_type, e) < 0)
        goto fail;
    if (out->media_type && kind_of_media_type(out->media_type) == ZDOC_INDEX) {
        zerr_set(e, EINVAL, "%s: mediaType: \"%s\" is an index, not a manifest", what,
                 out->media_type);
        goto fail;
    }
    if (!out->media_type) {
        out->media_type = strdup(ZMT_OCI_MANIFEST);
        if (!out->media_type) {
            zerr_sys(e, "%s", what);
            goto fail;
        }
    }
    cfg = zjson_get(root, "config");
    if (!cfg) {
        zerr_set(e, EINVAL, "%s: config: missing", what);
        goto fail;
    }
    if (parse_descriptor(cfg, what, "config", false, &out->config, e) < 0)
        goto fail;
    layers = zjson_get(root, "layers");
    if (!layers) {
        zerr_set(e, EINVAL, "%s: layers: missing", what);
        goto fail;
    }
    if (layers->type != ZJSON_ARRAY) {
        type_error(what, "layers", "array", layers, e);
        goto fail;
    }
    if (layers->len > MAX_LAYERS) {
        zerr_set(e, E2BIG, "%s: layers: %zu layers, more than the %d allowed", what, layers->len,
                 MAX_LAYERS);
        goto fail;
    }
    if (layers->len) {
        out->layers = calloc(layers->len, sizeof *out->layers);
        if (!out->layers) {
            zerr_sys(e, "%s", what);
            goto fail;
        }
    }
    for (size_t i = 0; i < layers->len; i++) {
        char field[40];
        snprintf(field, sizeof field, "layers[%zu]", i);
        if (parse_descriptor(layers->u.items[i], what, field, false, &out->layers[i], e) < 0)
            goto fail;
        out->n_layers = i + 1;
    }
    zjson_doc_free(doc);
    return 0;
fail:
    zjson_doc_free(doc);
    zmanifest_free(out);
    return -1;
}

/* --------------------------------------------------------------- index */

void zindex_free(struct zindex *x)
{
    if (!x)
        return;
    free(x->media_type);
    for (size_t i = 0; i < x->n_manifests; i++)
        descriptor_clear(&x->manifests[i]);
    free(x->manifests);
    memset(x, 0, sizeof *x);
}

int zindex_parse(const char *json, size_t len, const char *what, struct zindex *out,
                 struct zerr *e)
{
    struct zjson_doc *doc;
    const struct zjson *root, *list;

    memset(out, 0, sizeof *out);
    root = parse_root(json, len, what, &doc, e);
    if (!root)
        return -1;
    if (check_schema(root, what, e) < 0)
        goto fail;
    if (opt_string(root, "mediaType", what, "mediaType", &out->media_type, e) < 0)
        goto fail;
    if (out->media_type && kind_of_media_type(out->media_type) == ZDOC_MANIFEST) {
        zerr_set(e, EINVAL, "%s: mediaType: \"%s\" is a manifest, not an index", what,
                 out->media_type);
        goto fail;
    }
    if (!out->media_type) {
        out->media_type = strdup(ZMT_OCI_INDEX);
        if (!out->media_type) {
            zerr_sys(e, "%s", what);
            goto fail;
        }
    }
    list = zjson_get(root, "manifests");
    if (!list) {
        zerr_set(e, EINVAL, "%s: manifests: missing", what);
        goto fail;
    }
    if (list->type != ZJSON_ARRAY) {
        type_error(what, "manifests", "array", list, e);
        goto fail;
    }
    if (list->len > MAX_INDEX_ENTRIES) {
        zerr_set(e, E2BIG, "%s: manifests: %zu entries, more than the %d allowed", what,
                 list->len, MAX_INDEX_ENTRIES);
        goto fail;
    }
    if (list->len) {
        out->manifests = calloc(list->len, sizeof *out->manifests);
        if (!out->manifests) {
            zerr_sys(e, "%s", what);
            goto fail;
        }
    }
    for (size_t i = 0; i < list->len; i++) {
        char field[40];
        snprintf(field, sizeof field, "manifests[%zu]", i);
        if (parse_descriptor(list->u.items[i], what, field, true, &out->manifests[i], e) < 0)
            goto fail;
        out->n_manifests = i + 1;
    }
    zjson_doc_free(doc);
    return 0;
fail:
    zjson_doc_free(doc);
    zindex_free(out);
    return -1;
}

/* The host's platform in Go's names (what image indexes use). */
static void host_platform(const char **arch, const char **variant)
{
    static struct utsname u;
    static const struct { const char *machine, *arch, *variant; } map[] = {
        {"x86_64", "amd64", NULL},   {"aarch64", "arm64", NULL}, {"arm64", "arm64", NULL},
        {"armv7l", "arm", "v7"},     {"armv6l", "arm", "v6"},    {"armv5tel", "arm", "v5"},
        {"i686", "386", NULL},       {"i386", "386", NULL},      {"ppc64le", "ppc64le", NULL},
        {"s390x", "s390x", NULL},    {"riscv64", "riscv64", NULL}, {"mips64", "mips64", NULL},
        {"loongarch64", "loong64", NULL},
    };
    *arch = "amd64";
    *variant = NULL;
    if (uname(&u) < 0)
        return;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (!strcmp(u.machine, map[i].machine)) {
            *arch = map[i].arch;
            *variant = map[i].variant;
            return;
        }
    }
    *arch = u.machine;
}

/* A variant an index may leave out because it is the only one in use. */
static bool default_variant(const char *arch, const char *variant)
{
    return !strcmp(arch, "arm64") && !strcmp(variant, "v8");
}

int zindex_select(const struct zindex *x, const char *os, const char *arch,
                  const char *variant, size_t *which, struct zerr *e)
{
    char offered[1024] = "";
    size_t used = 0;
    long best = -1;
    int best_score = 0;

    if (!os)
        os = "linux";
    if (!arch) {
        host_platform(&arch, &variant);
    }
    if (variant && !*variant)
        variant = NULL;
    for (size_t i = 0; i < x->n_manifests; i++) {
        const struct zdescriptor *d = &x->manifests[i];
        const char *dv = d->variant && *d->variant ? d->variant : NULL;
        int score;
        if (!d->os || !d->architecture)
            continue;
        if (used < sizeof offered - 1)
            used += (size_t)snprintf(offered + used, sizeof offered - used, "%s%s/%s%s%s",
                                     used ? ", " : "", d->os, d->architecture, dv ? "/" : "",
                                     dv ? dv : "");
        if (used >= sizeof offered)
            used = sizeof offered - 1;
        if (strcmp(d->os, os) || strcmp(d->architecture, arch))
            continue;
        /* exact variant 3, default-variant equivalence 2, any variant when
         * none was asked 1 */
        if (variant && dv && !strcmp(variant, dv))
            score = 3;
        else if (!variant && !dv)
            score = 3;
        else if ((variant && !dv && default_variant(arch, variant)) ||
                 (!variant && dv && default_variant(arch, dv)))
            score = 2;
        else if (!variant)
            score = 1;
        else
            continue;
        if (score > best_score) {
            best_score = score;
            best = (long)i;
        }
    }
    if (best < 0)
        return zerr_set(e, ENOENT, "no image for platform %s/%s%s%s (offered: %s)", os, arch,
                        variant ? "/" : "", variant ? variant : "",
                        used ? offered : "no platforms");
    *which = (size_t)best;
    return 0;
}

/* -------------------------------------------------------------- config */

void zimage_config_free(struct zimage_config *c)
{
    if (!c)
        return;
    free(c->architecture);
    free(c->os);
    free(c->user);
    free(c->working_dir);
    free(c->stop_signal);
    free(c->created);
    strv_free(c->env, c->n_env);
    strv_free(c->entrypoint, c->n_entrypoint);
    strv_free(c->cmd, c->n_cmd);
    strv_free(c->volumes, c->n_volumes);
    strv_free(c->exposed_ports, c->n_exposed_ports);
    strv_free(c->diff_ids, c->n_diff_ids);
    for (size_t i = 0; i < c->n_labels; i++) {
        free(c->labels[i].key);
        free(c->labels[i].value);
    }
    free(c->labels);
    memset(c, 0, sizeof *c);
}

static int parse_labels(const struct zjson *obj, const char *what, struct zimage_config *c,
                        struct zerr *e)
{
    const struct zjson *v = zjson_get(obj, "Labels");
    if (!v || v->type == ZJSON_NULL)
        return 0;
    if (v->type != ZJSON_OBJECT)
        return type_error(what, "config.Labels", "object", v, e);
    if (v->len > MAX_CONFIG_ITEMS)
        return zerr_set(e, E2BIG, "%s: config.Labels: more than %d entries", what, MAX_CONFIG_ITEMS);
    if (!v->len)
        return 0;
    c->labels = calloc(v->len, sizeof *c->labels);
    if (!c->labels)
        return zerr_sys(e, "%s: config.Labels", what);
    for (size_t i = 0; i < v->len; i++) {
        const struct zjson_member *m = &v->u.members[i];
        char field[300];
        snprintf(field, sizeof field, "config.Labels.%.200s", m->key);
        if (strlen(m->key) != m->key_len)
            return zerr_set(e, EINVAL, "%s: config.Labels: key contains a NUL byte", what);
        if (dup_string(m->value, what, field, &c->labels[i].value, e) < 0)
            return -1;
        c->labels[i].key = strdup(m->key);
        c->n_labels = i + 1;
        if (!c->labels[i].key)
            return zerr_sys(e, "%s: %s", what, field);
    }
    return 0;
}

int zimage_config_parse(const char *json, size_t len, const char *what,
                        struct zimage_config *out, struct zerr *e)
{
    struct zjson_doc *doc;
    const struct zjson *root, *cfg, *rootfs;

    memset(out, 0, sizeof *out);
    root = parse_root(json, len, what, &doc, e);
    if (!root)
        return -1;
    if (opt_string(root, "architecture", what, "architecture", &out->architecture, e) < 0 ||
        opt_string(root, "os", what, "os", &out->os, e) < 0 ||
        opt_string(root, "created", what, "created", &out->created, e) < 0)
        goto fail;
    cfg = zjson_get(root, "config");
    if (cfg && cfg->type != ZJSON_NULL) {
        if (cfg->type != ZJSON_OBJECT) {
            type_error(what, "config", "object", cfg, e);
            goto fail;
        }
        if (opt_string(cfg, "User", what, "config.User", &out->user, e) < 0 ||
            opt_string(cfg, "WorkingDir", what, "config.WorkingDir", &out->working_dir, e) < 0 ||
            opt_string(cfg, "StopSignal", what, "config.StopSignal", &out->stop_signal, e) < 0 ||
            opt_strv(cfg, "Env", what, "config.Env", &out->env, &out->n_env, e) < 0 ||
            opt_strv(cfg, "Entrypoint", what, "config.Entrypoint", &out->entrypoint,
                     &out->n_entrypoint, e) < 0 ||
            opt_strv(cfg, "Cmd", what, "config.Cmd", &out->cmd, &out->n_cmd, e) < 0 ||
            opt_keys(cfg, "Volumes", what, "config.Volumes", &out->volumes, &out->n_volumes, e) < 0 ||
            opt_keys(cfg, "ExposedPorts", what, "config.ExposedPorts", &out->exposed_ports,
                     &out->n_exposed_ports, e) < 0 ||
            parse_labels(cfg, what, out, e) < 0)
            goto fail;
    }
    rootfs = zjson_get(root, "rootfs");
    if (!rootfs) {
        zerr_set(e, EINVAL, "%s: rootfs: missing", what);
        goto fail;
    }
    if (rootfs->type != ZJSON_OBJECT) {
        type_error(what, "rootfs", "object", rootfs, e);
        goto fail;
    }
    {
        const struct zjson *t = zjson_get(rootfs, "type");
        if (t && (t->type != ZJSON_STRING || strcmp(t->u.str, "layers"))) {
            zerr_set(e, EINVAL, "%s: rootfs.type: expected \"layers\"", what);
            goto fail;
        }
    }
    if (opt_strv(rootfs, "diff_ids", what, "rootfs.diff_ids", &out->diff_ids, &out->n_diff_ids,
                 e) < 0)
        goto fail;
    if (out->n_diff_ids > MAX_LAYERS) {
        zerr_set(e, E2BIG, "%s: rootfs.diff_ids: %zu entries, more than the %d allowed", what,
                 out->n_diff_ids, MAX_LAYERS);
        goto fail;
    }
    for (size_t i = 0; i < out->n_diff_ids; i++) {
        char field[40];
        snprintf(field, sizeof field, "rootfs.diff_ids[%zu]", i);
        if (zdigest_check(out->diff_ids[i], field, e) < 0) {
            zerr_prefix(e, "%s", what);
            goto fail;
        }
    }
    zjson_doc_free(doc);
    return 0;
fail:
    zjson_doc_free(doc);
    zimage_config_free(out);
    return -1;
}
