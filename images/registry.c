/* zregistry_pull: one image from a distribution registry into the store.
 *
 * Order matters for consistency: the manifest (and index) are fetched and
 * checked first, then every config and layer blob is downloaded and
 * verified, then the manifests are stored, and only then is the tag set. A
 * pull that fails or is killed at any point leaves no tag pointing at
 * missing content; what was downloaded stays (blobs, or partial files in
 * ingest/ that the next pull resumes) until gc. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/cleanup.h"
#include "images/manifest.h"
#include "images/registry.h"

int zregistry_parse_platform(const char *text, char *buf, size_t n, const char **os,
                             const char **arch, const char **variant, struct zerr *e)
{
    if (strlen(text) >= n)
        return zerr_set(e, EINVAL, "platform \"%.100s\": too long", text);
    snprintf(buf, n, "%s", text);
    char *parts[4] = {0};
    size_t count = 0;
    for (char *p = buf, *slash;; p = slash + 1) {
        if (count == 3)
            return zerr_set(e, EINVAL, "platform \"%s\": expected OS/ARCH[/VARIANT]", text);
        parts[count++] = p;
        slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = 0;
    }
    if (count < 2)
        return zerr_set(e, EINVAL, "platform \"%s\": expected OS/ARCH[/VARIANT]", text);
    for (size_t i = 0; i < count; i++) {
        if (!*parts[i])
            return zerr_set(e, EINVAL, "platform \"%s\": empty component", text);
        for (char *p = parts[i]; *p; p++) {
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
                return zerr_set(e, EINVAL, "platform \"%s\": invalid character '%c'", text, *p);
            *p = (char)tolower((unsigned char)*p);
        }
    }
    /* The names images use are Go's GOOS/GOARCH. */
    static const char *const aliases[][2] = {
        {"x86_64", "amd64"}, {"x86-64", "amd64"}, {"aarch64", "arm64"},
        {"i386", "386"},     {"i686", "386"},     {"armhf", "arm"},
    };
    *os = parts[0];
    *arch = parts[1];
    for (size_t i = 0; i < ZARRAY_SIZE(aliases); i++)
        if (!strcmp(parts[1], aliases[i][0]))
            *arch = aliases[i][1];
    *variant = count == 3 ? parts[2] : NULL;
    return 0;
}

/* A manifest or index as fetched: body, its digest, what kind it is. */
struct fetched {
    struct zreg_response r;
    char digest[ZDIGEST_MAX];
    enum zdoc_kind kind;
};

static void fetched_clear(struct fetched *f)
{
    zreg_response_clear(&f->r);
}

/* GET /v2/<repo>/manifests/<reference>, bounded by ZMANIFEST_MAX, and its
 * digest checked against the one asked for (expect) or the one the
 * registry announced. `what` names it in errors. */
static int fetch_manifest(struct zreg_client *c, const char *reference, const char *expect,
                          int64_t expect_size, const char *what, struct fetched *f,
                          struct zerr *e)
{
    char url[2048];
    if (zreg_build_url(c->scheme, c->registry, c->repo, "manifests", reference, url, sizeof url,
                       e) < 0)
        return -1;
    if (zreg_get(c, url, zreg_manifest_accept, ZMANIFEST_MAX, &f->r, e) < 0) {
        if (e->code == EFBIG)
            return zerr_set(e, EFBIG, "%s: the manifest is larger than the limit of %u bytes",
                            what, ZMANIFEST_MAX);
        return zerr_prefix(e, "%s", what);
    }
    if (f->r.status != 200) {
        char desc[512];
        zreg_describe_status(&f->r, desc, sizeof desc);
        if (f->r.status == 404)
            return zerr_set(e, ENOENT, "%s: not found in the registry (%s)", what, desc);
        if (f->r.status == 401 || f->r.status == 403)
            return zerr_set(e, EACCES, "%s: access denied (%s)%s", what, desc,
                            c->creds.have ? "" : "; use --creds USER:PASSWORD or an auth file");
        return zerr_set(e, EPROTO, "%s: GET %s: %s", what, url, desc);
    }
    const char *body = f->r.body ? f->r.body : "";
    if (zreg_is_schema1(f->r.content_type, body, f->r.len))
        return zerr_set(e, ENOTSUP, "%s: Docker image manifest schema 1 is not supported (a "
                        "deprecated format); push the image again with a current docker, "
                        "podman or skopeo to convert it to schema 2", what);
    zdigest_of(body, f->r.len, f->digest);
    if (expect && strcmp(expect, f->digest))
        return zerr_set(e, EPROTO, "%s: the registry sent content with digest %s", what,
                        f->digest);
    if (expect_size >= 0 && (uint64_t)expect_size != f->r.len)
        return zerr_set(e, EPROTO, "%s: the registry sent %zu bytes, the index declares %" PRId64,
                        what, f->r.len, expect_size);
    /* Other algorithms than sha256 in the header are not checked here: the
     * content is stored under its sha256 anyway. */
    if (!strncmp(f->r.docker_digest, "sha256:", 7) && strcmp(f->r.docker_digest, f->digest))
        return zerr_set(e, EPROTO, "%s: content digest %s does not match the registry's "
                        "Docker-Content-Digest %s", what, f->digest, f->r.docker_digest);
    f->kind = zdoc_kind_of(body, f->r.len, f->r.content_type[0] ? f->r.content_type : NULL);
    return 0;
}

/* Checks a config against its manifest before anything is tagged, so that
 * a pulled image can always be run. */
static int check_config(struct zstore *s, const struct zmanifest *m, struct zerr *e)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    struct zimage_config cfg;
    char what[128];
    snprintf(what, sizeof what, "config %s", m->config.digest);
    if (zstore_read_blob(s, m->config.digest, ZMANIFEST_MAX, &data, &len, e) < 0)
        return -1;
    memset(&cfg, 0, sizeof cfg);
    if (zimage_config_parse(data, len, what, &cfg, e) < 0)
        return -1;
    int ret = 0;
    if (cfg.n_diff_ids != m->n_layers)
        ret = zerr_set(e, EPROTO, "%s: rootfs.diff_ids lists %zu layers, the manifest %zu", what,
                       cfg.n_diff_ids, m->n_layers);
    zimage_config_free(&cfg);
    return ret;
}

static int pull_locked(struct zstore *s, struct zreg_client *c, const struct zref *ref,
                       const struct zpull_opts *o, const char *name,
                       char digest_out[ZDIGEST_MAX], struct zerr *e)
{
    struct fetched top = {0}, platform = {0};
    struct zindex index = {0};
    struct zmanifest manifest = {0};
    struct zreg_blob *blobs = NULL;
    struct zprogress *progress = NULL;
    bool have_index = false, have_manifest = false;
    int ret = -1;
    char what[2048];

    snprintf(what, sizeof what, "manifest %s", name);
    const char *reference = ref->digest[0] ? ref->digest : ref->tag;
    if (fetch_manifest(c, reference, ref->digest[0] ? ref->digest : NULL, -1, what, &top, e) < 0)
        goto out;
    const struct fetched *m_doc = &top;
    if (top.kind == ZDOC_INDEX) {
        snprintf(what, sizeof what, "index %s", name);
        if (zindex_parse(top.r.body, top.r.len, what, &index, e) < 0)
            goto out;
        have_index = true;
        size_t which;
        if (zindex_select(&index, o->os, o->arch, o->variant, &which, e) < 0) {
            zerr_prefix(e, "%s", name);
            goto out;
        }
        const struct zdescriptor *d = &index.manifests[which];
        snprintf(what, sizeof what, "manifest %s (from index %s)", d->digest, name);
        if (zdigest_check(d->digest, what, e) < 0)
            goto out;
        if (d->size < 0 || d->size > (int64_t)ZMANIFEST_MAX) {
            zerr_set(e, EFBIG, "%s: declared size %" PRId64 " is outside the limit of %u bytes",
                     what, d->size, ZMANIFEST_MAX);
            goto out;
        }
        if (fetch_manifest(c, d->digest, d->digest, d->size, what, &platform, e) < 0)
            goto out;
        if (platform.kind != ZDOC_MANIFEST) {
            zerr_set(e, EPROTO, "%s: an index entry for a platform must be an image manifest",
                     what);
            goto out;
        }
        m_doc = &platform;
    } else if (top.kind != ZDOC_MANIFEST) {
        zerr_set(e, EPROTO, "%s: neither an image manifest nor an index (Content-Type \"%s\")",
                 what, top.r.content_type);
        goto out;
    }
    if (zmanifest_parse(m_doc->r.body, m_doc->r.len, what, &manifest, e) < 0)
        goto out;
    have_manifest = true;

    size_t n_blobs = 1 + manifest.n_layers;
    blobs = calloc(n_blobs, sizeof *blobs);
    if (!blobs) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    blobs[0] = (struct zreg_blob){manifest.config.digest, manifest.config.size,
                                  (int64_t)ZMANIFEST_MAX, "config"};
    for (size_t i = 0; i < manifest.n_layers; i++)
        blobs[1 + i] = (struct zreg_blob){manifest.layers[i].digest, manifest.layers[i].size,
                                          (int64_t)ZREG_LAYER_MAX, "layer"};
    progress = zprogress_new(o->progress, o->quiet, n_blobs);
    if (zreg_fetch_blobs(c, s, blobs, n_blobs, o->parallel, progress, e) < 0) {
        zerr_prefix(e, "%s", name);
        goto out;
    }
    if (check_config(s, &manifest, e) < 0) {
        zerr_prefix(e, "%s", name);
        goto out;
    }
    zprogress_note(progress, "Writing manifest to image destination");
    if (zstore_put_blob(s, m_doc->r.body, m_doc->r.len, m_doc->digest, NULL, e) < 0)
        goto out;
    if (m_doc != &top && zstore_put_blob(s, top.r.body, top.r.len, top.digest, NULL, e) < 0)
        goto out;
    snprintf(digest_out, ZDIGEST_MAX, "%s", top.digest);
    ret = 0;
out:
    zprogress_free(progress);
    free(blobs);
    if (have_manifest)
        zmanifest_free(&manifest);
    if (have_index)
        zindex_free(&index);
    fetched_clear(&top);
    fetched_clear(&platform);
    return ret;
}

int zregistry_pull(struct zstore *s, const struct zref *ref, const struct zpull_opts *o,
                   char digest_out[ZDIGEST_MAX], struct zerr *e)
{
    char name[1024];
    char digest[ZDIGEST_MAX] = "";
    struct zreg_client c;
    zref_format(ref, name, sizeof name);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return zerr_set(e, EIO, "curl: global initialisation failed");
    int ret = -1;
    if (zreg_client_init(&c, ref, o, e) < 0)
        goto out;
    if (zreg_probe(&c, e) < 0)
        goto out;
    /* Shared from the first blob to the tag: gc cannot remove what this
     * pull stored before the tag protects it. */
    if (zstore_lock(s, false, e) < 0)
        goto out;
    if (pull_locked(s, &c, ref, o, name, digest, e) == 0 &&
        zstore_tag_set(s, name, digest, e) == 0) {
        snprintf(digest_out, ZDIGEST_MAX, "%s", digest);
        ret = 0;
    }
    zstore_unlock(s);
out:
    zreg_client_free(&c);
    curl_global_cleanup();
    return ret;
}
