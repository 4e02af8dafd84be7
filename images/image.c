/* Finding and loading a stored image: names, digests and ID prefixes to a
 * manifest digest (following an index to this platform), then manifest
 * and config parsed and checked against each other. */
#include "images/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "images/reference.h"
#include "images/store_private.h"

int zimage_resolve_manifest(struct zstore *s, const char *digest,
                            char manifest_out[ZDIGEST_MAX], struct zerr *e)
{
    _cleanup_free_ char *json = NULL;
    size_t len, which;
    struct zindex x;
    char what[ZDIGEST_MAX + 16];

    if (zstore_read_blob(s, digest, ZMANIFEST_MAX, &json, &len, e) < 0)
        return -1;
    if (zdoc_kind_of(json, len, NULL) != ZDOC_INDEX) {
        memcpy(manifest_out, digest, ZDIGEST_MAX);
        return 0;
    }
    snprintf(what, sizeof what, "index %s", digest);
    if (zindex_parse(json, len, what, &x, e) < 0)
        return -1;
    if (zindex_select(&x, NULL, NULL, NULL, &which, e) < 0) {
        zindex_free(&x);
        return zerr_prefix(e, "%s", what);
    }
    memcpy(manifest_out, x.manifests[which].digest, ZDIGEST_MAX);
    zindex_free(&x);
    if (!zstore_has_blob(s, manifest_out))
        return zerr_set(e, ENOENT, "%s: this platform's manifest %s is not in the store",
                        what, manifest_out);
    return 0;
}

static bool is_hex(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

/* The config digest of a stored manifest, or "" if it cannot be read. */
static void config_digest_of(struct zstore *s, const char *manifest, char out[ZDIGEST_MAX])
{
    _cleanup_free_ char *json = NULL;
    struct zmanifest m;
    struct zerr ignored;
    size_t len;
    out[0] = '\0';
    if (zstore_read_blob(s, manifest, ZMANIFEST_MAX, &json, &len, &ignored) < 0 ||
        zmanifest_parse(json, len, "manifest", &m, &ignored) < 0)
        return;
    memcpy(out, m.config.digest, ZDIGEST_MAX);
    zmanifest_free(&m);
}

/* The tagged image whose digest starts with hex: the tag target, this
 * platform's manifest of an index, or the config digest (the image ID
 * podman and `zone pull` print). 1 found, 0 none, -1 error (ambiguous). */
static int find_by_prefix(struct zstore *s, const char *hex, char digest_out[ZDIGEST_MAX],
                          struct zerr *e)
{
    struct ztag *tags;
    size_t n, hlen = strlen(hex);
    char found[ZDIGEST_MAX] = "";
    int r = 0;

    if (zstore_tag_list(s, &tags, &n, e) < 0)
        return -1;
    for (size_t i = 0; i < n && r >= 0; i++) {
        char resolved[ZDIGEST_MAX], config[ZDIGEST_MAX];
        const char *match = NULL;
        struct zerr ignored;
        if (!strncmp(zdigest_hex(tags[i].digest), hex, hlen))
            match = tags[i].digest;
        else if (zimage_resolve_manifest(s, tags[i].digest, resolved, &ignored) == 0) {
            config_digest_of(s, resolved, config);
            if (!strncmp(zdigest_hex(resolved), hex, hlen) ||
                (config[0] && !strncmp(zdigest_hex(config), hex, hlen)))
                match = resolved;
        }
        if (!match)
            continue;
        if (found[0] && strcmp(found, match)) {
            r = zerr_set(e, EINVAL, "%s: ambiguous image ID prefix (matches %.19s and %.19s)",
                         hex, found, match);
            break;
        }
        memcpy(found, match, ZDIGEST_MAX);
        r = 1;
    }
    zstore_tag_list_free(tags, n);
    if (r == 1)
        memcpy(digest_out, found, ZDIGEST_MAX);
    return r;
}

int zimage_lookup(struct zstore *s, const char *name, char *tag_out, size_t tag_n,
                  char digest_out[ZDIGEST_MAX], struct zerr *e)
{
    static const char *const registries[] = {"docker.io", "localhost"};
    struct zref ref;
    struct zerr parse_err = {0};
    const char *hex = name;
    char key[1024];
    bool parsed = false;

    if (tag_out && tag_n)
        tag_out[0] = '\0';
    digest_out[0] = '\0';
    if (!name || !*name)
        return zerr_set(e, EINVAL, "empty image name");
    if (!strncmp(name, "sha256:", 7)) {
        hex = name + 7;
        if (strlen(hex) == 64) {
            if (zdigest_check(name, "image", e) < 0)
                return -1;
            if (!zstore_has_blob(s, name))
                return zerr_set(e, ENOENT, "%s: image not known", name);
            memcpy(digest_out, name, ZDIGEST_MAX);
            return 0;
        }
    }
    if (strlen(hex) >= 12 && strlen(hex) <= 64 && is_hex(hex, strlen(hex))) {
        int r = find_by_prefix(s, hex, digest_out, e);
        if (r != 0)
            return r > 0 ? 0 : -1;
        if (hex != name)
            return zerr_set(e, ENOENT, "%s: image not known", name);
    }
    for (size_t i = 0; i < ZARRAY_SIZE(registries); i++) {
        struct zerr te;
        if (zref_parse(name, registries[i], &ref, &parse_err) < 0)
            break;
        parsed = true;
        zref_format(&ref, key, sizeof key);
        if (zstore_tag_get(s, key, digest_out, &te) == 0) {
            if (tag_out && tag_n)
                snprintf(tag_out, tag_n, "%s", key);
            return 0;
        }
        if (te.code != ENOENT) {
            *e = te;
            return -1;
        }
        if (ref.digest[0] && zstore_has_blob(s, ref.digest)) {
            memcpy(digest_out, ref.digest, ZDIGEST_MAX);
            return 0;
        }
    }
    if (!parsed) {
        *e = parse_err;
        return -1;
    }
    return zerr_set(e, ENOENT, "%s: image not known", name);
}

void zimage_free(struct zimage *im)
{
    if (!im)
        return;
    zmanifest_free(&im->manifest);
    zimage_config_free(&im->config);
    memset(im, 0, sizeof *im);
}

int zimage_load(struct zstore *s, const char *name_or_digest, struct zimage *out,
                struct zerr *e)
{
    char digest[ZDIGEST_MAX], what[ZDIGEST_MAX + 16];
    _cleanup_free_ char *json = NULL;
    size_t len;

    memset(out, 0, sizeof *out);
    if (zimage_lookup(s, name_or_digest, NULL, 0, digest, e) < 0)
        return -1;
    if (zimage_resolve_manifest(s, digest, out->manifest_digest, e) < 0)
        return zerr_prefix(e, "%s", name_or_digest);
    snprintf(what, sizeof what, "manifest %s", out->manifest_digest);
    if (zstore_read_blob(s, out->manifest_digest, ZMANIFEST_MAX, &json, &len, e) < 0)
        return zerr_prefix(e, "%s", name_or_digest);
    if (zdoc_kind_of(json, len, NULL) != ZDOC_MANIFEST &&
        zdoc_kind_of(json, len, NULL) != ZDOC_UNKNOWN)
        return zerr_set(e, EINVAL, "%s: %s is not an image manifest", name_or_digest, what);
    if (zmanifest_parse(json, len, what, &out->manifest, e) < 0)
        goto fail;
    free(json);
    json = NULL;
    snprintf(what, sizeof what, "config %s", out->manifest.config.digest);
    if (zstore_read_blob(s, out->manifest.config.digest, ZMANIFEST_MAX, &json, &len, e) < 0)
        goto fail;
    if ((int64_t)len != out->manifest.config.size) {
        zerr_set(e, EINVAL, "%s: %zu bytes, but the manifest says %lld", what, len,
                 (long long)out->manifest.config.size);
        goto fail;
    }
    if (zimage_config_parse(json, len, what, &out->config, e) < 0)
        goto fail;
    if (out->config.n_diff_ids != out->manifest.n_layers) {
        zerr_set(e, EINVAL, "manifest %s has %zu layers but its config lists %zu diff_ids",
                 out->manifest_digest, out->manifest.n_layers, out->config.n_diff_ids);
        goto fail;
    }
    return 0;
fail:
    zerr_prefix(e, "%s", name_or_digest);
    zimage_free(out);
    return -1;
}
