/* OCI image layouts (image-layout spec 1.0): choosing an image from
 * index.json and importing it from a layout directory (oci:DIR[:TAG]).
 *
 * The resolution (index.json -> nested indexes -> manifest -> config) takes
 * its blobs from a callback, so the same code serves a directory and a tar
 * of one (archive_import.c), where a blob may not have been read yet. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/path.h"
#include "images/transfer_private.h"

#define ZOCI_MAX_DEPTH 4
#define ZOCI_MAX_ENTRIES 10000

void zoci_image_clear(struct zoci_image *im)
{
    free(im->manifest_json);
    free(im->config_json);
    zmanifest_free(&im->manifest);
    memset(im, 0, sizeof *im);
}

int zoci_check_layout_file(const char *json, size_t len, const char *what, struct zerr *e)
{
    struct zjson_doc *doc = zjson_parse(json, len, e);
    const struct zjson *v;
    int r = 0;
    if (!doc)
        return zerr_prefix(e, "%s", what);
    v = zjson_get(zjson_root(doc), "imageLayoutVersion");
    if (!v || v->type != ZJSON_STRING)
        r = zerr_set(e, EINVAL, "%s: imageLayoutVersion: expected a string", what);
    else if (strncmp(v->u.str, "1.", 2))
        r = zerr_set(e, ENOTSUP, "%s: unsupported image layout version \"%.40s\" (1.x is "
                     "supported)", what, v->u.str);
    zjson_doc_free(doc);
    return r;
}

/* One entry of index.json. Strings point into the parsed document. */
struct entry {
    const char *media_type, *ref_name, *os, *arch, *variant;
    char digest[ZDIGEST_MAX];
    int64_t size;
};

static const char *str_member(const struct zjson *obj, const char *key)
{
    const struct zjson *v = zjson_get(obj, key);
    return v && v->type == ZJSON_STRING ? v->u.str : NULL;
}

static int parse_entry(const struct zjson *d, size_t i, const char *what, struct entry *out,
                       struct zerr *e)
{
    const struct zjson *digest = zjson_get(d, "digest"), *size = zjson_get(d, "size");
    const struct zjson *plat = zjson_get(d, "platform"), *ann = zjson_get(d, "annotations");
    char field[64];
    memset(out, 0, sizeof *out);
    if (d->type != ZJSON_OBJECT)
        return zerr_set(e, EINVAL, "%s: manifests[%zu]: expected an object", what, i);
    snprintf(field, sizeof field, "manifests[%zu].digest", i);
    if (!digest || digest->type != ZJSON_STRING)
        return zerr_set(e, EINVAL, "%s: %s: expected a string", what, field);
    if (zdigest_check(digest->u.str, field, e) < 0)
        return zerr_prefix(e, "%s", what);
    snprintf(out->digest, sizeof out->digest, "%s", digest->u.str);
    if (!size || size->type != ZJSON_NUMBER || zjson_int64(size, &out->size) < 0 || out->size < 0)
        return zerr_set(e, EINVAL, "%s: manifests[%zu].size: expected a non-negative integer",
                        what, i);
    out->media_type = str_member(d, "mediaType");
    if (plat && plat->type == ZJSON_OBJECT) {
        out->os = str_member(plat, "os");
        out->arch = str_member(plat, "architecture");
        out->variant = str_member(plat, "variant");
    }
    if (ann && ann->type == ZJSON_OBJECT)
        out->ref_name = str_member(ann, ZANN_REF_NAME);
    return 0;
}

/* Picks the entry of index.json to import: by ref.name, else the only one,
 * else this platform's. */
static int choose_entry(const struct zjson *root, const char *what, const char *tag,
                        const struct zpull_opts *o, struct entry *chosen, struct zerr *e)
{
    const struct zjson *list = zjson_get(root, "manifests");
    _cleanup_free_ struct entry *cands = NULL;
    size_t n = 0;
    char names[512] = "";
    size_t nlen = 0;

    if (root->type != ZJSON_OBJECT)
        return zerr_set(e, EINVAL, "%s: expected a JSON object", what);
    if (!list || list->type != ZJSON_ARRAY)
        return zerr_set(e, EINVAL, "%s: manifests: expected an array", what);
    if (list->len == 0)
        return zerr_set(e, ENOENT, "%s: holds no image (manifests is empty)", what);
    if (list->len > ZOCI_MAX_ENTRIES)
        return zerr_set(e, E2BIG, "%s: more than %d manifests", what, ZOCI_MAX_ENTRIES);
    cands = calloc(list->len, sizeof *cands);
    if (!cands)
        return zerr_set(e, ENOMEM, "%s: out of memory", what);
    for (size_t i = 0; i < list->len; i++) {
        struct entry ent;
        if (parse_entry(list->u.items[i], i, what, &ent, e) < 0)
            return -1;
        if (ent.ref_name && nlen < sizeof names - 1)
            nlen += (size_t)snprintf(names + nlen, sizeof names - nlen, "%s\"%s\"",
                                     nlen ? ", " : "", ent.ref_name);
        if (nlen >= sizeof names)
            nlen = sizeof names - 1;
        if (tag && *tag && (!ent.ref_name || strcmp(ent.ref_name, tag)))
            continue;
        cands[n++] = ent;
    }
    if (n == 0)
        return zerr_set(e, ENOENT, "%s: no image named \"%s\" (names here: %s)", what, tag,
                        nlen ? names : "none");
    if (n == 1) {
        *chosen = cands[0];
        return 0;
    }
    /* Several: if every one names a platform, they are the per-platform
     * manifests of one image. */
    {
        struct zindex x = {.n_manifests = n};
        size_t which;
        int r;
        x.manifests = calloc(n, sizeof *x.manifests);
        if (!x.manifests)
            return zerr_set(e, ENOMEM, "%s: out of memory", what);
        for (size_t i = 0; i < n; i++) {
            if (!cands[i].os || !cands[i].arch) {
                free(x.manifests);
                return zerr_set(e, EINVAL, "%s: holds %zu images; name one (names here: %s)",
                                what, n, nlen ? names : "none");
            }
            x.manifests[i].media_type = (char *)cands[i].media_type;
            memcpy(x.manifests[i].digest, cands[i].digest, ZDIGEST_MAX);
            x.manifests[i].size = cands[i].size;
            x.manifests[i].os = (char *)cands[i].os;
            x.manifests[i].architecture = (char *)cands[i].arch;
            x.manifests[i].variant = (char *)cands[i].variant;
        }
        r = zindex_select(&x, o ? o->os : NULL, o ? o->arch : NULL, o ? o->variant : NULL,
                          &which, e);
        free(x.manifests);
        if (r < 0)
            return zerr_prefix(e, "%s", what);
        *chosen = cands[which];
    }
    return 0;
}

/* Fetches a manifest/index/config blob through fetch with the size bound. */
static int fetch_doc(zoci_fetch_fn fetch, void *ctx, const char *kind, const char *digest,
                     int64_t size, char **data, size_t *len, struct zoci_image *im,
                     struct zerr *e)
{
    int r;
    if (size > (int64_t)ZMANIFEST_MAX)
        return zerr_set(e, EFBIG, "%s %s: declared size %lld is larger than the limit of %u "
                        "bytes", kind, digest, (long long)size, ZMANIFEST_MAX);
    r = fetch(ctx, digest, size, data, len, e);
    if (r < 0)   /* the fetchers' messages name the digest */
        return zerr_prefix(e, "%s", kind);
    if (r == 1)
        snprintf(im->waiting_for, sizeof im->waiting_for, "%s", digest);
    return r;
}

int zoci_resolve(const char *index_json, size_t index_len, const char *what, const char *tag,
                 const struct zpull_opts *o, zoci_fetch_fn fetch, void *ctx,
                 struct zoci_image *im, struct zerr *e)
{
    struct zjson_doc *doc;
    struct entry chosen = {0};
    char digest[ZDIGEST_MAX], media_type[256];
    int64_t size = 0;
    int r;

    memset(im, 0, sizeof *im);
    doc = zjson_parse(index_json, index_len, e);
    if (!doc)
        return zerr_prefix(e, "%s", what);
    r = choose_entry(zjson_root(doc), what, tag, o, &chosen, e);
    if (r == 0) {
        snprintf(im->ref_name, sizeof im->ref_name, "%s", chosen.ref_name ? chosen.ref_name : "");
        snprintf(media_type, sizeof media_type, "%s", chosen.media_type ? chosen.media_type : "");
        memcpy(digest, chosen.digest, ZDIGEST_MAX);
        size = chosen.size;
    }
    zjson_doc_free(doc);
    if (r < 0)
        return -1;

    for (int depth = 0;; depth++) {
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        enum zdoc_kind kind;
        if (depth > ZOCI_MAX_DEPTH)
            return zerr_set(e, ELOOP, "%s: indexes nested deeper than %d", what, ZOCI_MAX_DEPTH);
        r = fetch_doc(fetch, ctx, "manifest", digest, size, &json, &len, im, e);
        if (r != 0)
            return r;
        kind = zdoc_kind_of(json, len, *media_type ? media_type : NULL);
        if (kind == ZDOC_INDEX) {
            struct zindex x;
            size_t which;
            char doc_what[128];
            snprintf(doc_what, sizeof doc_what, "index %s", digest);
            if (zindex_parse(json, len, doc_what, &x, e) < 0)
                return -1;
            if (zindex_select(&x, o ? o->os : NULL, o ? o->arch : NULL, o ? o->variant : NULL,
                              &which, e) < 0) {
                zindex_free(&x);
                return zerr_prefix(e, "%s", doc_what);
            }
            memcpy(digest, x.manifests[which].digest, ZDIGEST_MAX);
            size = x.manifests[which].size;
            snprintf(media_type, sizeof media_type, "%s",
                     x.manifests[which].media_type ? x.manifests[which].media_type : "");
            zindex_free(&x);
            continue;
        }
        if (kind != ZDOC_MANIFEST)
            return zerr_set(e, EINVAL, "%s: %s is neither an image manifest nor an index", what,
                            digest);
        {
            char doc_what[128];
            snprintf(doc_what, sizeof doc_what, "manifest %s", digest);
            if (zmanifest_parse(json, len, doc_what, &im->manifest, e) < 0)
                return -1;
        }
        memcpy(im->manifest_digest, digest, ZDIGEST_MAX);
        im->manifest_json = steal_ptr(&json);
        im->manifest_len = len;
        break;
    }
    r = fetch_doc(fetch, ctx, "config", im->manifest.config.digest, im->manifest.config.size,
                  &im->config_json, &im->config_len, im, e);
    if (r != 0) {
        char keep[ZDIGEST_MAX];
        memcpy(keep, im->waiting_for, ZDIGEST_MAX);
        zoci_image_clear(im);
        memcpy(im->waiting_for, keep, ZDIGEST_MAX);
        return r;
    }
    /* The config must at least parse: a run of this image reads it. */
    {
        struct zimage_config c;
        char doc_what[128];
        snprintf(doc_what, sizeof doc_what, "config %s", im->manifest.config.digest);
        if (zimage_config_parse(im->config_json, im->config_len, doc_what, &c, e) < 0) {
            zoci_image_clear(im);
            return -1;
        }
        zimage_config_free(&c);
    }
    return 0;
}

int zoci_store_documents(struct zstore *s, const struct zoci_image *im, struct zerr *e)
{
    for (size_t i = 0; i < im->manifest.n_layers; i++)
        if (!zstore_has_blob(s, im->manifest.layers[i].digest))
            return zerr_set(e, ENOENT, "layer %zu (%s) of manifest %s is missing", i + 1,
                            im->manifest.layers[i].digest, im->manifest_digest);
    if (zstore_put_blob(s, im->config_json, im->config_len, im->manifest.config.digest, NULL,
                        e) < 0)
        return zerr_prefix(e, "config %s", im->manifest.config.digest);
    if (zstore_put_blob(s, im->manifest_json, im->manifest_len, im->manifest_digest, NULL, e) < 0)
        return zerr_prefix(e, "manifest %s", im->manifest_digest);
    return 0;
}

/* ---- oci:DIR ---- */

struct layout_dir {
    const char *path;
    int fd;
};

static int open_blob(struct layout_dir *ld, const char *digest, struct zerr *e)
{
    char rel[128];
    struct zerr local = {0};
    int fd;
    snprintf(rel, sizeof rel, "blobs/sha256/%s", digest + 7);
    /* Symlinks inside the layout resolve inside it. */
    fd = zpath_open_in_root(ld->fd, rel, O_RDONLY | O_NOCTTY, 0, &local);
    if (fd < 0) {
        if (local.code == ENOENT)
            return zerr_set(e, ENOENT, "blob %s is missing from %s", digest, ld->path);
        *e = local;
        return zerr_prefix(e, "%s/%s", ld->path, rel);
    }
    return fd;
}

static int dir_fetch(void *ctx, const char *digest, int64_t size, char **data, size_t *len,
                     struct zerr *e)
{
    struct layout_dir *ld = ctx;
    _cleanup_close_ int fd = open_blob(ld, digest, e);
    _cleanup_free_ char *buf = NULL;
    char actual[ZDIGEST_MAX];
    size_t used = 0;
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        return zerr_sys(e, "%s: blob %s", ld->path, digest);
    if (!S_ISREG(st.st_mode))
        return zerr_set(e, EINVAL, "%s: blob %s is not a regular file", ld->path, digest);
    if (st.st_size != size)
        return zerr_set(e, EINVAL, "%s: blob %s has %lld bytes, its descriptor says %lld",
                        ld->path, digest, (long long)st.st_size, (long long)size);
    buf = malloc((size_t)size + 1);
    if (!buf)
        return zerr_set(e, ENOMEM, "blob %s: out of memory", digest);
    while (used < (size_t)size) {
        ssize_t n = read(fd, buf + used, (size_t)size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zerr_sys(e, "%s: reading blob %s", ld->path, digest);
        if (n == 0)
            return zerr_set(e, EIO, "%s: blob %s shrank while being read", ld->path, digest);
        used += (size_t)n;
    }
    buf[used] = '\0';
    zdigest_of(buf, used, actual);
    if (strcmp(actual, digest))
        return zerr_set(e, EINVAL, "%s: blob %s: content does not match its digest (it hashes "
                        "to %s)", ld->path, digest, actual);
    *data = steal_ptr(&buf);
    *len = used;
    return 0;
}

/* Streams a layer file into the store; the writer verifies size and
 * digest at commit. */
static int dir_store_layer(struct layout_dir *ld, struct zstore *s, const struct zdescriptor *d,
                           size_t i, struct zerr *e)
{
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buf = NULL;
    struct zblob_writer *w;
    uint64_t resume = 0;
    struct stat st;
    if (zstore_has_blob(s, d->digest))
        return 0;
    fd = open_blob(ld, d->digest, e);
    if (fd < 0)
        return zerr_prefix(e, "layer %zu", i + 1);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return zerr_set(e, EINVAL, "%s: layer %zu (%s) is not a regular file", ld->path, i + 1,
                        d->digest);
    if (zblob_begin(s, d->digest, d->size, &w, &resume, e) < 0)
        return zerr_prefix(e, "layer %zu", i + 1);
    if (zblob_present(w))
        return zblob_commit(w, e);
    if (resume > 0 && lseek(fd, (off_t)resume, SEEK_SET) != (off_t)resume) {
        /* Cannot continue where the partial ends: start over. */
        if (zblob_restart(w, e) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
            zblob_abort(w, false);
            return zerr_set(e, EIO, "%s: layer %zu (%s): cannot restart", ld->path, i + 1,
                            d->digest);
        }
    }
    buf = malloc(1 << 16);
    if (!buf) {
        zblob_abort(w, false);
        return zerr_set(e, ENOMEM, "layer %zu: out of memory", i + 1);
    }
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            zerr_sys(e, "%s: reading layer %zu (%s)", ld->path, i + 1, d->digest);
            zblob_abort(w, false);
            return -1;
        }
        if (n == 0)
            break;
        if (zblob_write(w, buf, (size_t)n, e) < 0) {
            zblob_abort(w, false);
            return zerr_prefix(e, "%s: layer %zu", ld->path, i + 1);
        }
    }
    if (zblob_commit(w, e) < 0)
        return zerr_prefix(e, "%s: layer %zu", ld->path, i + 1);
    return 0;
}

static int read_small_file(int dirfd, const char *dir, const char *name, size_t max, char **data,
                           size_t *len, struct zerr *e)
{
    _cleanup_close_ int fd = zpath_open_in_root(dirfd, name, O_RDONLY | O_NOCTTY, 0, e);
    _cleanup_free_ char *buf = NULL;
    size_t used = 0;
    struct stat st;
    if (fd < 0) {
        if (e->code == ENOENT)
            return zerr_set(e, ENOENT, "%s: no %s here: not an OCI image layout", dir, name);
        return zerr_prefix(e, "%s/%s", dir, name);
    }
    if (fstat(fd, &st) < 0)
        return zerr_sys(e, "%s/%s", dir, name);
    if (!S_ISREG(st.st_mode))
        return zerr_set(e, EINVAL, "%s/%s: not a regular file", dir, name);
    if ((uint64_t)st.st_size > max)
        return zerr_set(e, EFBIG, "%s/%s: larger than %zu bytes", dir, name, max);
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return zerr_set(e, ENOMEM, "%s/%s: out of memory", dir, name);
    for (;;) {
        ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zerr_sys(e, "%s/%s", dir, name);
        if (n == 0 || (used += (size_t)n) == (size_t)st.st_size)
            break;
    }
    buf[used] = '\0';
    *data = steal_ptr(&buf);
    *len = used;
    return 0;
}

int zoci_layout_import(struct zstore *s, const char *dir, const char *tag,
                       const struct zpull_opts *o, char *name_out, size_t name_n,
                       char digest_out[ZDIGEST_MAX], struct zerr *e)
{
    _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_free_ char *layout = NULL, *index = NULL;
    struct zoci_image im = {0};
    struct layout_dir ld = {.path = dir};
    size_t layout_len, index_len;
    char what[300];
    int r;

    if (fd < 0)
        return zerr_sys(e, "oci:%s", dir);
    ld.fd = fd;
    if (read_small_file(fd, dir, "oci-layout", 4096, &layout, &layout_len, e) < 0)
        return -1;
    snprintf(what, sizeof what, "%s/oci-layout", dir);
    if (zoci_check_layout_file(layout, layout_len, what, e) < 0)
        return -1;
    if (read_small_file(fd, dir, "index.json", ZMANIFEST_MAX, &index, &index_len, e) < 0)
        return -1;
    snprintf(what, sizeof what, "%s/index.json", dir);
    if (zstore_lock(s, false, e) < 0)
        return -1;
    r = zoci_resolve(index, index_len, what, tag, o, dir_fetch, &ld, &im, e);
    if (r == 1)  /* dir_fetch never defers: keep the promise anyway */
        r = zerr_set(e, ENOENT, "%s: blob %s is missing", dir, im.waiting_for);
    for (size_t i = 0; r == 0 && i < im.manifest.n_layers; i++)
        r = dir_store_layer(&ld, s, &im.manifest.layers[i], i, e);
    if (r == 0)
        r = zoci_store_documents(s, &im, e);
    if (r == 0) {
        r = zimport_tag(s, im.ref_name[0] ? im.ref_name : tag, dir, im.manifest_digest, name_out,
                        name_n, e);
        if (r == 0 && digest_out)
            memcpy(digest_out, im.manifest_digest, ZDIGEST_MAX);
    }
    zstore_unlock(s);
    zoci_image_clear(&im);
    return r < 0 ? -1 : 0;
}
