/* `zone import ROOTFS.tar NAME`: a root filesystem tarball becomes a
 * one-layer image.
 *
 * The layer is stored uncompressed (ZMT_OCI_LAYER), also when the input was
 * gzip/zstd/xz compressed: the store is local, so compression would only
 * cost CPU at import and at every unpack; the blob digest then equals the
 * diff_id, so one hash serves both; and `zone save` to a docker-archive
 * (which wants plain layer tars) copies it as is. Being a file, the input
 * is read twice: once to hash it (the store's writer needs the digest up
 * front), once to store it; the writer checks the second read against the
 * first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_gen.h>

#include "core/cleanup.h"
#include "images/reference.h"
#include "images/transfer_private.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct hash_state {
    struct zdigester *d;
    uint64_t size;
    unsigned char first[512];
};

static int hash_chunk(void *ctx, const void *buf, size_t len, struct zerr *e)
{
    struct hash_state *h = ctx;
    if (h->size < sizeof h->first) {
        size_t take = sizeof h->first - h->size < len ? sizeof h->first - h->size : len;
        memcpy(h->first + h->size, buf, take);
    }
    zdigester_update(h->d, buf, len);
    h->size += len;
    return 0;
}

static int store_chunk(void *ctx, const void *buf, size_t len, struct zerr *e)
{
    return zblob_write(ctx, buf, len, e);
}

/* The first block must be a tar header with a correct checksum. */
static bool looks_like_tar(const unsigned char *b, uint64_t n)
{
    unsigned long want = 0, sum = 0;
    if (n < 512)
        return false;
    for (int i = 148; i < 156 && b[i]; i++) {
        if (b[i] == ' ')
            continue;
        if (b[i] < '0' || b[i] > '7')
            return false;
        want = want * 8 + (unsigned long)(b[i] - '0');
    }
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : b[i];
    return sum == want && b[0] != '\0';
}

static void now_rfc3339(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int gen_config(const char *diff_id, const char *source, char **out, size_t *len,
                      struct zerr *e)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    size_t blen;
    char created[64], by[4200];
#define S(x) yajl_gen_string(g, (const unsigned char *)(x), strlen(x))
    if (!g)
        return zerr_set(e, ENOMEM, "out of memory");
    now_rfc3339(created, sizeof created);
    snprintf(by, sizeof by, "zone import %s", source);
    yajl_gen_map_open(g);
    S("created"); S(created);
    S("architecture"); S(zhost_arch());
    S("os"); S("linux");
    S("config");
    yajl_gen_map_open(g);
    S("Env"); yajl_gen_array_open(g); S(DEFAULT_PATH); yajl_gen_array_close(g);
    S("Cmd"); yajl_gen_array_open(g); S("/bin/sh"); yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    S("rootfs");
    yajl_gen_map_open(g);
    S("type"); S("layers");
    S("diff_ids"); yajl_gen_array_open(g); S(diff_id); yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    S("history");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    S("created"); S(created);
    S("created_by"); S(by);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
#undef S
    if (yajl_gen_get_buf(g, &buf, &blen) != yajl_gen_status_ok || !(*out = malloc(blen + 1))) {
        yajl_gen_free(g);
        return zerr_set(e, ENOMEM, "out of memory");
    }
    memcpy(*out, buf, blen);
    (*out)[blen] = '\0';
    *len = blen;
    yajl_gen_free(g);
    return 0;
}

/* Stores the decompressed tar as blob diff_id of size bytes. */
static int store_layer(struct zstore *s, const char *path, const char *diff_id, uint64_t size,
                       struct zerr *e)
{
    struct zblob_writer *w;
    uint64_t resume = 0;
    if (zblob_begin(s, diff_id, (int64_t)size, &w, &resume, e) < 0)
        return zerr_prefix(e, "%s", path);
    if (zblob_present(w))
        return zblob_commit(w, e);
    if (resume > 0 && zblob_restart(w, e) < 0) {
        zblob_abort(w, false);
        return zerr_prefix(e, "%s", path);
    }
    if (zdecompress_file(path, store_chunk, w, e) < 0) {
        zblob_abort(w, false);
        return -1;
    }
    if (zblob_commit(w, e) < 0)
        return zerr_prefix(e, "%s (did it change while being imported?)", path);
    return 0;
}

int zimage_import_rootfs(struct zstore *s, const char *tar_path, const char *name,
                         char digest_out[ZDIGEST_MAX], struct zerr *e)
{
    struct hash_state h = {0};
    char diff_id[ZDIGEST_MAX], config_digest[ZDIGEST_MAX], manifest_digest[ZDIGEST_MAX];
    char full[1024];
    _cleanup_free_ char *config = NULL, *manifest = NULL;
    size_t config_len = 0, manifest_len = 0;
    struct zdescriptor layer = {.media_type = (char *)ZMT_OCI_LAYER};
    struct zref ref;
    const char *base = strrchr(tar_path, '/');
    int r;

    /* The name first: a bad one should not cost a whole import. */
    if (zref_parse(name, "localhost", &ref, e) < 0)
        return -1;
    if (ref.digest[0])
        return zerr_set(e, EINVAL, "%s: an imported image is named by a tag, not a digest", name);
    zref_format(&ref, full, sizeof full);

    h.d = zdigester_new();
    if (!h.d)
        return zerr_set(e, ENOMEM, "out of memory");
    r = zdecompress_file(tar_path, hash_chunk, &h, e);
    zdigester_final(h.d, diff_id);
    zdigester_free(h.d);
    if (r < 0)
        return -1;
    if (!looks_like_tar(h.first, h.size))
        return zerr_set(e, EINVAL, "%s: not a tar archive (no valid tar header at the start)",
                        tar_path);

    if (zstore_lock(s, false, e) < 0)
        return -1;
    r = store_layer(s, tar_path, diff_id, h.size, e);
    if (r == 0)
        r = gen_config(diff_id, base ? base + 1 : tar_path, &config, &config_len, e);
    if (r == 0)
        r = zstore_put_blob(s, config, config_len, NULL, config_digest, e);
    if (r == 0) {
        memcpy(layer.digest, diff_id, ZDIGEST_MAX);
        layer.size = (int64_t)h.size;
        r = zoci_gen_manifest(config_digest, config_len, &layer, 1, &manifest, &manifest_len, e);
    }
    if (r == 0)
        r = zstore_put_blob(s, manifest, manifest_len, NULL, manifest_digest, e);
    if (r == 0 && (r = zstore_tag_set(s, full, manifest_digest, e)) < 0)
        zerr_prefix(e, "tagging %s", full);
    zstore_unlock(s);
    if (r < 0)
        return -1;
    if (digest_out)
        memcpy(digest_out, manifest_digest, ZDIGEST_MAX);
    return 0;
}
