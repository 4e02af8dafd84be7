/* Importing image archives: oci-archive (a tar of an OCI image layout) and
 * docker-archive (`docker save` / `podman save`: manifest.json, a config
 * and layer tars).
 *
 * Members come in whatever order the writer chose, and a tar can only be
 * read forward, so each import reads the file in passes. Pass 1 reads the
 * metadata (index.json, manifest.json), keeps small members in memory
 * (bounded, ZTAR_CACHE_MAX) and hashes or stores large ones as soon as it
 * knows they are wanted. Layers that came before the metadata naming them
 * are stored by a second pass over the file (it is a file: re-opened).
 * Archives that put their metadata first (zone save does) take one pass.
 *
 * Every blob goes through the store's verifying writer (digest and size);
 * the tag is set last, so a failure leaves nothing tagged, and any blobs
 * already stored are verified content that gc reclaims. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <yajl/yajl_gen.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "images/reference.h"
#include "images/transfer_private.h"

#define ZARC_MAX_PASSES 6
#define ZARC_MAX_MEMBERS 100000

/* ================================================================ oci-archive */

struct cached_blob {
    char digest[ZDIGEST_MAX];
    char *data;
    size_t len;
};

struct oci_arc {
    struct zstore *s;
    const char *file;
    const char *tag;
    const struct zpull_opts *o;
    char *index; size_t index_len;
    bool have_layout;
    struct cached_blob *cache; size_t n_cache; size_t cache_bytes;
    bool resolved;
    struct zoci_image im;
    bool *stored;              /* per layer of im.manifest */
    bool progress;             /* this pass learnt or stored something */
};

static struct cached_blob *cache_find(struct oci_arc *c, const char *digest)
{
    for (size_t i = 0; i < c->n_cache; i++)
        if (!strcmp(c->cache[i].digest, digest))
            return &c->cache[i];
    return NULL;
}

static int cache_fetch(void *ctx, const char *digest, int64_t size, char **data, size_t *len,
                       struct zerr *e)
{
    struct oci_arc *c = ctx;
    struct cached_blob *b = cache_find(c, digest);
    char actual[ZDIGEST_MAX];
    if (!b)
        return 1;
    if ((int64_t)b->len != size)
        return zerr_set(e, EINVAL, "%s: blob %s has %zu bytes, its descriptor says %lld",
                        c->file, digest, b->len, (long long)size);
    zdigest_of(b->data, b->len, actual);
    if (strcmp(actual, digest))
        return zerr_set(e, EINVAL, "%s: blob %s: content does not match its name (it hashes to "
                        "%s)", c->file, digest, actual);
    *data = malloc(b->len + 1);
    if (!*data)
        return zerr_set(e, ENOMEM, "out of memory");
    memcpy(*data, b->data, b->len);
    (*data)[b->len] = '\0';
    *len = b->len;
    return 0;
}

/* Stores the cached (or already stored) copies of wanted layers. */
static int store_known_layers(struct oci_arc *c, struct zerr *e)
{
    for (size_t i = 0; i < c->im.manifest.n_layers; i++) {
        const struct zdescriptor *d = &c->im.manifest.layers[i];
        struct cached_blob *b;
        if (c->stored[i])
            continue;
        if (zstore_has_blob(c->s, d->digest)) {
            c->stored[i] = true;
            continue;
        }
        b = cache_find(c, d->digest);
        if (!b)
            continue;
        if ((int64_t)b->len != d->size)
            return zerr_set(e, EINVAL, "%s: layer %zu (%s) has %zu bytes, the manifest says %lld",
                            c->file, i + 1, d->digest, b->len, (long long)d->size);
        if (zstore_put_blob(c->s, b->data, b->len, d->digest, NULL, e) < 0)
            return zerr_prefix(e, "%s: layer %zu", c->file, i + 1);
        c->stored[i] = true;
        c->progress = true;
    }
    return 0;
}

static int try_resolve(struct oci_arc *c, struct zerr *e)
{
    char what[4200];
    int r;
    if (c->resolved || !c->index)
        return 0;
    snprintf(what, sizeof what, "%s: index.json", c->file);
    r = zoci_resolve(c->index, c->index_len, what, c->tag, c->o, cache_fetch, c, &c->im, e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    c->resolved = true;
    c->progress = true;
    c->stored = calloc(c->im.manifest.n_layers + 1, sizeof *c->stored);
    if (!c->stored)
        return zerr_set(e, ENOMEM, "out of memory");
    return store_known_layers(c, e);
}

static bool all_layers_stored(const struct oci_arc *c)
{
    if (!c->resolved)
        return false;
    for (size_t i = 0; i < c->im.manifest.n_layers; i++)
        if (!c->stored[i])
            return false;
    return true;
}

/* One blob member: stored if it is a wanted layer, else kept in memory
 * while it may still be needed. */
static int oci_blob_member(struct oci_arc *c, struct archive *a, const char *name,
                           const char *digest, int64_t size, struct zerr *e)
{
    if (c->resolved) {
        bool wanted = false;
        for (size_t i = 0; i < c->im.manifest.n_layers; i++)
            if (!c->stored[i] && !strcmp(c->im.manifest.layers[i].digest, digest))
                wanted = true;
        if (!wanted)
            return 0;
        for (size_t i = 0; i < c->im.manifest.n_layers; i++) {
            const struct zdescriptor *d = &c->im.manifest.layers[i];
            if (strcmp(d->digest, digest))
                continue;
            if (size != d->size)
                return zerr_set(e, EINVAL, "%s: layer %zu (%s) has %lld bytes, the manifest "
                                "says %lld", c->file, i + 1, digest, (long long)size,
                                (long long)d->size);
            break;
        }
        {
            char what[4200];
            snprintf(what, sizeof what, "%s: %s", c->file, name);
            if (ztar_store_member(a, c->s, digest, size, what, e) < 0)
                return -1;
        }
        for (size_t i = 0; i < c->im.manifest.n_layers; i++)
            if (!strcmp(c->im.manifest.layers[i].digest, digest))
                c->stored[i] = true;
        c->progress = true;
        return 0;
    }
    if (cache_find(c, digest))
        return 0;
    /* Keep it if it fits the budget, or if resolution waits for it. */
    if (size <= (int64_t)ZMANIFEST_MAX &&
        (c->cache_bytes + (size_t)size <= ZTAR_CACHE_MAX || !strcmp(digest, c->im.waiting_for))) {
        struct cached_blob *nc = realloc(c->cache, (c->n_cache + 1) * sizeof *nc);
        char what[4200];
        if (!nc)
            return zerr_set(e, ENOMEM, "out of memory");
        c->cache = nc;
        snprintf(what, sizeof what, "%s: %s", c->file, name);
        memcpy(nc[c->n_cache].digest, digest, ZDIGEST_MAX);
        if (ztar_read_all(a, what, ZMANIFEST_MAX, &nc[c->n_cache].data, &nc[c->n_cache].len,
                          e) < 0)
            return -1;
        c->cache_bytes += nc[c->n_cache].len;
        c->n_cache++;
        c->progress = true;
        if (c->index && !strcmp(digest, c->im.waiting_for))
            return try_resolve(c, e);
    }
    return 0;
}

static int oci_pass(struct oci_arc *c, int pass, struct zerr *e)
{
    struct archive *a;
    char name[ZTAR_NAME_MAX], digest[ZDIGEST_MAX], what[4200];
    bool regular;
    int64_t size;
    int r;
    if (ztar_open(c->file, &a, e) < 0)
        return -1;
    while ((r = ztar_next(a, c->file, name, &regular, &size, e)) == 1) {
        if (!regular)
            continue;
        if (!strcmp(name, "index.json")) {
            if (pass > 1)
                continue;
            if (c->index) {
                r = zerr_set(e, EINVAL, "%s: index.json appears twice", c->file);
                break;
            }
            snprintf(what, sizeof what, "%s: index.json", c->file);
            if ((r = ztar_read_all(a, what, ZMANIFEST_MAX, &c->index, &c->index_len, e)) < 0)
                break;
            c->progress = true;
            if ((r = try_resolve(c, e)) < 0)
                break;
        } else if (!strcmp(name, "oci-layout")) {
            _cleanup_free_ char *layout = NULL;
            size_t len;
            if (pass > 1)
                continue;
            if (c->have_layout) {
                r = zerr_set(e, EINVAL, "%s: oci-layout appears twice", c->file);
                break;
            }
            snprintf(what, sizeof what, "%s: oci-layout", c->file);
            if ((r = ztar_read_all(a, what, 4096, &layout, &len, e)) < 0 ||
                (r = zoci_check_layout_file(layout, len, what, e)) < 0)
                break;
            c->have_layout = true;
        } else if (ztar_blob_name(name, digest)) {
            if ((r = oci_blob_member(c, a, name, digest, size, e)) < 0)
                break;
            if (all_layers_stored(c) && c->have_layout)
                break;   /* nothing more to read */
        }
    }
    ztar_close(a);
    return r < 0 ? -1 : 0;
}

static void oci_arc_free(struct oci_arc *c)
{
    for (size_t i = 0; i < c->n_cache; i++)
        free(c->cache[i].data);
    free(c->cache);
    free(c->index);
    free(c->stored);
    zoci_image_clear(&c->im);
}

int zoci_archive_import(struct zstore *s, const char *file, const char *tag,
                        const struct zpull_opts *o, char *name_out, size_t name_n,
                        char digest_out[ZDIGEST_MAX], struct zerr *e)
{
    struct oci_arc c = {.s = s, .file = file, .tag = tag, .o = o};
    int r = 0;
    if (zstore_lock(s, false, e) < 0)
        return -1;
    for (int pass = 1; pass <= ZARC_MAX_PASSES && !all_layers_stored(&c); pass++) {
        c.progress = false;
        if ((r = oci_pass(&c, pass, e)) < 0)
            break;
        if (pass == 1 && !c.index) {
            r = zerr_set(e, EINVAL, "%s: no index.json: not an oci-archive", file);
            break;
        }
        if (pass == 1 && !c.have_layout) {
            r = zerr_set(e, EINVAL, "%s: no oci-layout file: not an oci-archive", file);
            break;
        }
        if (!c.progress)
            break;
    }
    if (r == 0 && !c.resolved)
        r = zerr_set(e, ENOENT, "%s: blob %s (manifest or config) is missing from the archive",
                     file, c.im.waiting_for);
    for (size_t i = 0; r == 0 && i < c.im.manifest.n_layers; i++)
        if (!c.stored[i])
            r = zerr_set(e, ENOENT, "%s: layer %zu (%s) is missing from the archive", file, i + 1,
                         c.im.manifest.layers[i].digest);
    if (r == 0)
        r = zoci_store_documents(s, &c.im, e);
    if (r == 0)
        r = zimport_tag(s, c.im.ref_name[0] ? c.im.ref_name : tag, file, c.im.manifest_digest,
                        name_out, name_n, e);
    if (r == 0 && digest_out)
        memcpy(digest_out, c.im.manifest_digest, ZDIGEST_MAX);
    zstore_unlock(s);
    oci_arc_free(&c);
    return r < 0 ? -1 : 0;
}

/* ============================================================= docker-archive */

struct dmember {
    char *name;
    int64_t size;
    char *data; size_t len;          /* kept in memory (small) */
    bool hashed;                     /* digest/head known */
    bool stored;                     /* in the store as digest */
    char digest[ZDIGEST_MAX];
    unsigned char head[ZTAR_HEAD];
};

struct docker_arc {
    struct zstore *s;
    const char *file;
    const char *ref;                 /* the image asked for, or NULL */
    char *manifest; size_t manifest_len;
    struct zjson_doc *doc;
    const struct zjson *entry;       /* the chosen manifest.json entry */
    const char *config_path;
    const char **layer_paths; size_t n_layers;
    struct dmember *m; size_t n_m;
    size_t cache_bytes;
    struct zimage_config config;     /* parsed once the config was read */
    bool have_config;
};

static struct dmember *member_find(struct docker_arc *d, const char *name)
{
    for (size_t i = 0; i < d->n_m; i++)
        if (!strcmp(d->m[i].name, name))
            return &d->m[i];
    return NULL;
}

static bool is_layer_path(const struct docker_arc *d, const char *name)
{
    for (size_t i = 0; i < d->n_layers; i++)
        if (!strcmp(d->layer_paths[i], name))
            return true;
    return false;
}

/* A path in manifest.json, cleaned the way member names are. */
static int clean_path_field(const struct zjson *v, const char *what, const char **out,
                            struct zerr *e)
{
    if (!v || v->type != ZJSON_STRING || !*v->u.str)
        return zerr_set(e, EINVAL, "%s: expected a non-empty string", what);
    if (v->u.str[0] == '/' || strstr(v->u.str, "..") == v->u.str || strstr(v->u.str, "/../") ||
        (strlen(v->u.str) >= 3 && !strcmp(v->u.str + strlen(v->u.str) - 3, "/..")))
        return zerr_set(e, EINVAL, "%s: \"%.200s\" points outside the archive", what, v->u.str);
    *out = v->u.str;
    while ((*out)[0] == '.' && (*out)[1] == '/')
        *out += 2;
    return 0;
}

static bool repo_tag_matches(const struct zjson *tags, const char *want)
{
    struct zref a, b;
    struct zerr ignored;
    char na[1024], nb[1024];
    if (zref_parse(want, NULL, &a, &ignored) < 0)
        return false;
    zref_format(&a, na, sizeof na);
    for (size_t i = 0; tags && tags->type == ZJSON_ARRAY && i < tags->len; i++) {
        const struct zjson *t = tags->u.items[i];
        if (t->type != ZJSON_STRING || zref_parse(t->u.str, NULL, &b, &ignored) < 0)
            continue;
        zref_format(&b, nb, sizeof nb);
        if (!strcmp(na, nb))
            return true;
    }
    return false;
}

/* Parses manifest.json and picks the entry to import. */
static int docker_plan(struct docker_arc *d, struct zerr *e)
{
    const struct zjson *root, *layers;
    char what[4300];
    size_t pick = 0;
    snprintf(what, sizeof what, "%s: manifest.json", d->file);
    d->doc = zjson_parse(d->manifest, d->manifest_len, e);
    if (!d->doc)
        return zerr_prefix(e, "%s", what);
    root = zjson_root(d->doc);
    if (root->type != ZJSON_ARRAY || root->len == 0)
        return zerr_set(e, EINVAL, "%s: expected a non-empty array of images", what);
    if (d->ref && *d->ref) {
        bool found = false;
        for (size_t i = 0; i < root->len && !found; i++)
            if (repo_tag_matches(zjson_get(root->u.items[i], "RepoTags"), d->ref)) {
                pick = i;
                found = true;
            }
        if (!found)
            return zerr_set(e, ENOENT, "%s: no image tagged \"%s\"", what, d->ref);
    } else if (root->len > 1) {
        return zerr_set(e, EINVAL, "%s: holds %zu images; name one as docker-archive:%s:NAME",
                        what, root->len, d->file);
    }
    d->entry = root->u.items[pick];
    if (d->entry->type != ZJSON_OBJECT)
        return zerr_set(e, EINVAL, "%s: [%zu]: expected an object", what, pick);
    {
        char field[4400];
        snprintf(field, sizeof field, "%s: [%zu].Config", what, pick);
        if (clean_path_field(zjson_get(d->entry, "Config"), field, &d->config_path, e) < 0)
            return -1;
    }
    layers = zjson_get(d->entry, "Layers");
    if (!layers || layers->type != ZJSON_ARRAY)
        return zerr_set(e, EINVAL, "%s: [%zu].Layers: expected an array", what, pick);
    if (layers->len > 1000)
        return zerr_set(e, E2BIG, "%s: [%zu].Layers: more than 1000 layers", what, pick);
    d->layer_paths = calloc(layers->len + 1, sizeof *d->layer_paths);
    if (!d->layer_paths)
        return zerr_set(e, ENOMEM, "out of memory");
    d->n_layers = layers->len;
    for (size_t i = 0; i < layers->len; i++) {
        char field[4400];
        snprintf(field, sizeof field, "%s: [%zu].Layers[%zu]", what, pick, i);
        if (clean_path_field(layers->u.items[i], field, &d->layer_paths[i], e) < 0)
            return -1;
    }
    return 0;
}

/* The config's diff_id for the layer at path, if manifest.json and the
 * config were read already. */
static const char *docker_diff_id(struct docker_arc *d, const char *path)
{
    struct dmember *cfg;
    if (!d->have_config) {
        struct zerr ignored;
        cfg = member_find(d, d->config_path);
        if (!cfg || !cfg->data ||
            zimage_config_parse(cfg->data, cfg->len, "config", &d->config, &ignored) < 0)
            return NULL;
        d->have_config = true;
    }
    for (size_t i = 0; i < d->n_layers && i < d->config.n_diff_ids; i++)
        if (!strcmp(d->layer_paths[i], path))
            return d->config.diff_ids[i];
    return NULL;
}

static int docker_member(struct docker_arc *d, struct archive *a, const char *name,
                         int64_t size, int pass, struct zerr *e)
{
    struct dmember *m = member_find(d, name);
    char what[4200], claimed[ZDIGEST_MAX];
    snprintf(what, sizeof what, "%s: %s", d->file, name);
    if (pass > 1) {
        /* Only layers hashed in pass 1 and not yet stored are left. */
        if (!m || m->stored || !m->hashed || !is_layer_path(d, name) || m->data)
            return 0;
        if (ztar_store_member(a, d->s, m->digest, m->size, what, e) < 0)
            return -1;
        m->stored = true;
        return 0;
    }
    if (m)
        return zerr_set(e, EINVAL, "%s: member \"%s\" appears twice", d->file, name);
    if (d->n_m >= ZARC_MAX_MEMBERS)
        return zerr_set(e, E2BIG, "%s: more than %d members", d->file, ZARC_MAX_MEMBERS);
    {
        struct dmember *nm = realloc(d->m, (d->n_m + 1) * sizeof *nm);
        if (!nm)
            return zerr_set(e, ENOMEM, "out of memory");
        d->m = nm;
        m = &d->m[d->n_m];
        memset(m, 0, sizeof *m);
        m->name = strdup(name);
        if (!m->name)
            return zerr_set(e, ENOMEM, "out of memory");
        m->size = size;
        d->n_m++;
    }
    /* A wanted layer named by its digest goes straight into the store. */
    if (d->entry && is_layer_path(d, name) && ztar_blob_name(name, claimed) &&
        size > (int64_t)ZMANIFEST_MAX) {
        if (ztar_store_member(a, d->s, claimed, size, what, e) < 0)
            return -1;
        memcpy(m->digest, claimed, ZDIGEST_MAX);
        m->stored = m->hashed = true;
        /* the media type needs the first bytes: read them from the store */
        {
            char path[4096];
            FILE *f;
            if (zstore_blob_path(d->s, claimed, path, sizeof path, e) < 0)
                return -1;
            f = fopen(path, "re");
            if (!f)
                return zerr_sys(e, "%s", path);
            if (fread(m->head, 1, ZTAR_HEAD, f) == 0 && ferror(f)) {
                fclose(f);
                return zerr_sys(e, "%s", path);
            }
            fclose(f);
        }
        return 0;
    }
    /* A wanted plain layer is its own diff_id: stored at once, hashed on
     * the way in case it is compressed (then pass 2 stores it). */
    if (d->entry && size > (int64_t)ZMANIFEST_MAX) {
        const char *diff_id = docker_diff_id(d, name);
        if (diff_id) {
            int r = ztar_store_if_digest(a, d->s, diff_id, size, what, m->digest, m->head, e);
            if (r < 0)
                return -1;
            m->hashed = true;
            m->stored = r == 0;
            return 0;
        }
    }
    if (size <= (int64_t)ZMANIFEST_MAX && d->cache_bytes + (size_t)size <= ZTAR_CACHE_MAX) {
        if (ztar_read_all(a, what, ZMANIFEST_MAX, &m->data, &m->len, e) < 0)
            return -1;
        d->cache_bytes += m->len;
        return 0;
    }
    /* Large (a layer): hashed now, stored by pass 2 once it is known to be
     * wanted. Members manifest.json does not name are skipped. */
    if (d->entry && !is_layer_path(d, name))
        return 0;
    if (ztar_hash_member(a, what, m->digest, &m->size, m->head, e) < 0)
        return -1;
    m->hashed = true;
    return 0;
}

static int docker_pass(struct docker_arc *d, int pass, bool *need_more, struct zerr *e)
{
    struct archive *a;
    char name[ZTAR_NAME_MAX];
    bool regular;
    int64_t size;
    int r;
    if (ztar_open(d->file, &a, e) < 0)
        return -1;
    while ((r = ztar_next(a, d->file, name, &regular, &size, e)) == 1) {
        if (!regular)
            continue;
        if (!strcmp(name, "manifest.json")) {
            char what[4200];
            if (pass > 1)
                continue;
            if (d->manifest) {
                r = zerr_set(e, EINVAL, "%s: manifest.json appears twice", d->file);
                break;
            }
            snprintf(what, sizeof what, "%s: manifest.json", d->file);
            if ((r = ztar_read_all(a, what, ZMANIFEST_MAX, &d->manifest, &d->manifest_len, e)) < 0 ||
                (r = docker_plan(d, e)) < 0)
                break;
            continue;
        }
        if (!strcmp(name, "repositories"))
            continue;   /* legacy v1 index: the names are in manifest.json */
        if ((r = docker_member(d, a, name, size, pass, e)) < 0)
            break;
    }
    ztar_close(a);
    if (r < 0)
        return -1;
    *need_more = false;
    for (size_t i = 0; i < d->n_layers; i++) {
        struct dmember *m = member_find(d, d->layer_paths[i]);
        if (m && !m->stored && !m->data && m->hashed && !zstore_has_blob(d->s, m->digest))
            *need_more = true;
    }
    return 0;
}

int zoci_gen_manifest(const char *config_digest, size_t config_len,
                        const struct zdescriptor *layers, size_t n, char **out, size_t *len,
                        struct zerr *e)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    size_t blen;
#define S(x) yajl_gen_string(g, (const unsigned char *)(x), strlen(x))
    if (!g)
        return zerr_set(e, ENOMEM, "out of memory");
    yajl_gen_map_open(g);
    S("schemaVersion"); yajl_gen_integer(g, 2);
    S("mediaType"); S(ZMT_OCI_MANIFEST);
    S("config");
    yajl_gen_map_open(g);
    S("mediaType"); S(ZMT_OCI_CONFIG);
    S("digest"); S(config_digest);
    S("size"); yajl_gen_integer(g, (long long)config_len);
    yajl_gen_map_close(g);
    S("layers");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++) {
        yajl_gen_map_open(g);
        S("mediaType"); S(layers[i].media_type);
        S("digest"); S(layers[i].digest);
        S("size"); yajl_gen_integer(g, (long long)layers[i].size);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
#undef S
    yajl_gen_get_buf(g, &buf, &blen);
    *out = malloc(blen + 1);
    if (!*out) {
        yajl_gen_free(g);
        return zerr_set(e, ENOMEM, "out of memory");
    }
    memcpy(*out, buf, blen);
    (*out)[blen] = '\0';
    *len = blen;
    yajl_gen_free(g);
    return 0;
}

/* "<64 hex>.json" or "blobs/sha256/<hex>": the name claims a digest. */
static bool claimed_digest(const char *path, char digest[ZDIGEST_MAX])
{
    struct zerr ignored;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (ztar_blob_name(path, digest))
        return true;
    if (strlen(base) != 69 || strcmp(base + 64, ".json"))
        return false;
    snprintf(digest, ZDIGEST_MAX, "sha256:%.64s", base);
    return zdigest_check(digest, NULL, &ignored) == 0;
}

/* Converts the chosen entry into an OCI manifest in the store. */
static int docker_store(struct docker_arc *d, char manifest_digest[ZDIGEST_MAX], struct zerr *e)
{
    struct dmember *cfg = member_find(d, d->config_path);
    struct zimage_config config = {0};
    _cleanup_free_ struct zdescriptor *layers = NULL;
    _cleanup_free_ char *manifest = NULL;
    char config_digest[ZDIGEST_MAX], claim[ZDIGEST_MAX], what[4300];
    size_t manifest_len;
    int r = -1;

    if (!cfg)
        return zerr_set(e, ENOENT, "%s: config \"%s\" named by manifest.json is missing from the "
                        "archive", d->file, d->config_path);
    if (!cfg->data)
        return zerr_set(e, EFBIG, "%s: config \"%s\" is larger than %u bytes", d->file,
                        d->config_path, ZMANIFEST_MAX);
    zdigest_of(cfg->data, cfg->len, config_digest);
    if (claimed_digest(d->config_path, claim) && strcmp(claim, config_digest))
        return zerr_set(e, EINVAL, "%s: config \"%s\": content does not match its name (it "
                        "hashes to %s)", d->file, d->config_path, config_digest);
    snprintf(what, sizeof what, "%s: config %s", d->file, d->config_path);
    if (zimage_config_parse(cfg->data, cfg->len, what, &config, e) < 0)
        return -1;
    if (config.n_diff_ids != d->n_layers) {
        zerr_set(e, EINVAL, "%s: manifest.json lists %zu layers but the config has %zu "
                 "rootfs.diff_ids", d->file, d->n_layers, config.n_diff_ids);
        goto out;
    }
    layers = calloc(d->n_layers + 1, sizeof *layers);
    if (!layers) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d->n_layers; i++) {
        struct dmember *m = member_find(d, d->layer_paths[i]);
        const char *mt;
        snprintf(what, sizeof what, "%s: layer %zu (%s)", d->file, i + 1, d->layer_paths[i]);
        if (!m) {
            zerr_set(e, ENOENT, "%s: named by manifest.json but missing from the archive", what);
            goto out;
        }
        if (m->data) {
            memset(m->head, 0, sizeof m->head);
            memcpy(m->head, m->data, m->len < ZTAR_HEAD ? m->len : ZTAR_HEAD);
            if (zstore_put_blob(d->s, m->data, m->len, NULL, m->digest, e) < 0) {
                zerr_prefix(e, "%s", what);
                goto out;
            }
            m->size = (int64_t)m->len;
            m->stored = true;
        }
        if (!m->stored && !(m->hashed && zstore_has_blob(d->s, m->digest))) {
            zerr_set(e, EIO, "%s: could not be read from the archive", what);
            goto out;
        }
        if (zlayer_media_type(m->head, ZTAR_HEAD, &mt, what, e) < 0)
            goto out;
        /* An uncompressed layer is its own diff_id: check it now. */
        if (!strcmp(mt, ZMT_OCI_LAYER) && strcmp(m->digest, config.diff_ids[i])) {
            zerr_set(e, EINVAL, "%s: content (%s) does not match the config's diff_id %s", what,
                     m->digest, config.diff_ids[i]);
            goto out;
        }
        layers[i].media_type = (char *)mt;
        memcpy(layers[i].digest, m->digest, ZDIGEST_MAX);
        layers[i].size = m->size;
    }
    if (zstore_put_blob(d->s, cfg->data, cfg->len, config_digest, NULL, e) < 0) {
        zerr_prefix(e, "%s: config", d->file);
        goto out;
    }
    if (zoci_gen_manifest(config_digest, cfg->len, layers, d->n_layers, &manifest, &manifest_len, e) < 0)
        goto out;
    if (zstore_put_blob(d->s, manifest, manifest_len, NULL, manifest_digest, e) < 0) {
        zerr_prefix(e, "%s: manifest", d->file);
        goto out;
    }
    r = 0;
out:
    zimage_config_free(&config);
    return r;
}

static int docker_tag(struct docker_arc *d, const char *digest, char *name_out, size_t name_n,
                      struct zerr *e)
{
    const struct zjson *tags = zjson_get(d->entry, "RepoTags");
    size_t tagged = 0;
    if (d->ref && *d->ref)
        return zimport_tag(d->s, d->ref, d->file, digest, name_out, name_n, e);
    for (size_t i = 0; tags && tags->type == ZJSON_ARRAY && i < tags->len; i++) {
        const struct zjson *t = tags->u.items[i];
        if (t->type != ZJSON_STRING)
            continue;
        if (zimport_tag(d->s, t->u.str, d->file, digest, tagged ? NULL : name_out,
                        tagged ? 0 : name_n, e) < 0)
            return zerr_prefix(e, "%s: RepoTags[%zu]", d->file, i);
        tagged++;
    }
    if (!tagged)
        return zimport_tag(d->s, NULL, d->file, digest, name_out, name_n, e);
    return 0;
}

static void docker_arc_free(struct docker_arc *d)
{
    for (size_t i = 0; i < d->n_m; i++) {
        free(d->m[i].name);
        free(d->m[i].data);
    }
    free(d->m);
    free(d->layer_paths);
    if (d->have_config)
        zimage_config_free(&d->config);
    zjson_doc_free(d->doc);
    free(d->manifest);
}

int zdocker_archive_import(struct zstore *s, const char *file, const char *ref,
                           char *name_out, size_t name_n, char digest_out[ZDIGEST_MAX],
                           struct zerr *e)
{
    struct docker_arc d = {.s = s, .file = file, .ref = ref};
    char digest[ZDIGEST_MAX];
    bool more = false;
    int r;
    if (zstore_lock(s, false, e) < 0)
        return -1;
    r = docker_pass(&d, 1, &more, e);
    if (r == 0 && !d.manifest)
        r = zerr_set(e, EINVAL, "%s: no manifest.json: not a docker-archive", file);
    if (r == 0 && more)
        r = docker_pass(&d, 2, &more, e);
    if (r == 0)
        r = docker_store(&d, digest, e);
    if (r == 0)
        r = docker_tag(&d, digest, name_out, name_n, e);
    if (r == 0 && digest_out)
        memcpy(digest_out, digest, ZDIGEST_MAX);
    zstore_unlock(s);
    docker_arc_free(&d);
    return r < 0 ? -1 : 0;
}

/* ================================================================== detect */

int zarchive_detect(const char *file, enum zarchive_kind *kind, struct zerr *e)
{
    struct archive *a;
    char name[ZTAR_NAME_MAX];
    bool regular, index = false, layout = false, manifest = false;
    int64_t size;
    int r;
    if (ztar_open(file, &a, e) < 0)
        return -1;
    while ((r = ztar_next(a, file, name, &regular, &size, e)) == 1) {
        if (!regular)
            continue;
        index |= !strcmp(name, "index.json");
        layout |= !strcmp(name, "oci-layout");
        manifest |= !strcmp(name, "manifest.json");
    }
    ztar_close(a);
    if (r < 0)
        return -1;
    if (index && layout)
        *kind = ZARCHIVE_OCI;
    else if (manifest)
        *kind = ZARCHIVE_DOCKER;
    else
        return zerr_set(e, EINVAL, "%s: neither an oci-archive (index.json, oci-layout) nor a "
                        "docker-archive (manifest.json)", file);
    return 0;
}
