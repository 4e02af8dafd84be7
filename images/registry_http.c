/* The HTTP side of registry pulls: curl handle options, registry URLs,
 * scheme probing and small bounded GETs (manifests, pings). Blob downloads
 * use the same options from registry_fetch.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "images/manifest.h"
#include "images/registry.h"

#ifndef ZONE_VERSION
#define ZONE_VERSION "dev"
#endif

/* Schema 1 is not in the list: a registry that can convert will answer
 * with what we ask for. */
const char zreg_manifest_accept[] =
    "Accept: " ZMT_OCI_MANIFEST ", " ZMT_OCI_INDEX ", " ZMT_DOCKER_MANIFEST ", " ZMT_DOCKER_LIST;

const char *zreg_api_host(const char *registry)
{
    if (!strcmp(registry, "docker.io") || !strcmp(registry, "index.docker.io"))
        return "registry-1.docker.io";
    return registry;
}

static bool all_chars_in(const char *s, const char *extra, bool upper_ok)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (islower(ch) || isdigit(ch) || (upper_ok && isupper(ch)) || (ch && strchr(extra, ch)))
            continue;
        return false;
    }
    return true;
}

int zreg_build_url(const char *scheme, const char *registry, const char *repo,
                   const char *kind, const char *ref, char *buf, size_t n, struct zerr *e)
{
    if (strcmp(scheme, "https") && strcmp(scheme, "http"))
        return zerr_set(e, EINVAL, "registry URL: unsupported scheme \"%s\"", scheme);
    /* The host and path come from a parsed reference, but a digest or
     * a repository can also come from a registry's own answer (an index
     * entry): check every part so nothing can add a path or query. */
    if (!all_chars_in(registry, ".-:[]", true))
        return zerr_set(e, EINVAL, "registry URL: invalid registry host \"%s\"", registry);
    if (!all_chars_in(repo, "._-/", false) || strstr(repo, "..") || repo[0] == '/')
        return zerr_set(e, EINVAL, "registry URL: invalid repository name \"%s\"", repo);
    if (strcmp(kind, "manifests") && strcmp(kind, "blobs"))
        return zerr_set(e, EINVAL, "registry URL: unknown endpoint \"%s\"", kind);
    if (!all_chars_in(ref, "._-:+", true) || !strcmp(ref, ".") || !strcmp(ref, ".."))
        return zerr_set(e, EINVAL, "registry URL: invalid tag or digest \"%s\"", ref);
    int len = snprintf(buf, n, "%s://%s/v2/%s/%s/%s", scheme, zreg_api_host(registry), repo,
                       kind, ref);
    if (len < 0 || (size_t)len >= n)
        return zerr_set(e, ENAMETOOLONG, "registry URL for %s/%s is too long", registry, repo);
    return 0;
}

bool zreg_is_schema1(const char *content_type, const char *body, size_t len)
{
    if (content_type && !strncmp(content_type, "application/vnd.docker.distribution.manifest.v1",
                                 strlen("application/vnd.docker.distribution.manifest.v1")))
        return true;
    struct zerr ignored;
    struct zjson_doc *doc = zjson_parse(body, len, &ignored);
    if (!doc)
        return false;
    const struct zjson *v = zjson_get(zjson_root(doc), "schemaVersion");
    int64_t version = 0;
    bool one = v && zjson_int64(v, &version) == 0 && version == 1;
    zjson_doc_free(doc);
    return one;
}

void zreg_response_clear(struct zreg_response *r)
{
    free(r->body);
    free(r->www_authenticate);
    memset(r, 0, sizeof *r);
}

static void copy_trimmed(char *dst, size_t n, const char *src, size_t len)
{
    while (len && isspace((unsigned char)*src))
        src++, len--;
    while (len && isspace((unsigned char)src[len - 1]))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = 0;
}

/* Called once per header line of every response, including the ones of
 * redirects: a status line starts a new set. */
size_t zreg_header_cb(char *line, size_t size, size_t n, void *response)
{
    struct zreg_response *r = response;
    size_t len = size * n;
    if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
        r->content_type[0] = r->docker_digest[0] = r->content_range[0] = 0;
        free(r->www_authenticate);
        r->www_authenticate = NULL;
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return len;
    size_t name_len = (size_t)(colon - line);
    const char *value = colon + 1;
    size_t value_len = len - name_len - 1;
#define IS(h) (name_len == strlen(h) && !strncasecmp(line, h, name_len))
    if (IS("Content-Type")) {
        copy_trimmed(r->content_type, sizeof r->content_type, value, value_len);
        /* "application/json; charset=utf-8" -> the media type alone */
        char *semi = strchr(r->content_type, ';');
        if (semi) {
            *semi = 0;
            copy_trimmed(r->content_type, sizeof r->content_type, r->content_type,
                         strlen(r->content_type));
        }
    } else if (IS("Docker-Content-Digest")) {
        copy_trimmed(r->docker_digest, sizeof r->docker_digest, value, value_len);
    } else if (IS("Content-Range")) {
        copy_trimmed(r->content_range, sizeof r->content_range, value, value_len);
    } else if (IS("WWW-Authenticate") && value_len < 16384) {
        char tmp[16384];
        copy_trimmed(tmp, sizeof tmp, value, value_len);
        /* Several challenge headers: keep a Bearer one over others. */
        if (!r->www_authenticate || !strncasecmp(tmp, "Bearer", 6)) {
            free(r->www_authenticate);
            r->www_authenticate = strdup(tmp);
        }
    }
#undef IS
    return len;
}

struct body_sink {
    struct zreg_response *r;
    size_t max;
};

static size_t body_cb(char *data, size_t size, size_t n, void *arg)
{
    struct body_sink *b = arg;
    struct zreg_response *r = b->r;
    size_t len = size * n;
    if (len > b->max - r->len) {
        r->too_large = true;
        return 0;   /* aborts the transfer right away */
    }
    char *grown = realloc(r->body, r->len + len + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, data, len);
    r->body = grown;
    r->len += len;
    r->body[r->len] = 0;
    return len;
}

int zreg_easy_setup(struct zreg_client *c, void *curl, void **headers, struct zerr *e)
{
    CURL *h = curl;
    struct curl_slist **list = (struct curl_slist **)headers;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
    /* Realms and redirect targets come from the server: never let them
     * name file://, ftp:// or others; with TLS verification on, never
     * leave HTTPS. */
    SET(CURLOPT_PROTOCOLS_STR, c->tls_verify ? "https" : "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, c->tls_verify ? "https" : "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 5L);
    SET(CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    SET(CURLOPT_USERAGENT, "zone/" ZONE_VERSION);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT, 30L);
    /* A server that stops sending for two minutes is given up on. */
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, 120L);
#undef SET
    if (rc != CURLE_OK)
        return zerr_set(e, EIO, "curl: %s", curl_easy_strerror(rc));
    if (c->auth_header) {
        struct curl_slist *grown = curl_slist_append(*list, c->auth_header);
        if (!grown)
            return zerr_set(e, ENOMEM, "curl: out of memory");
        *list = grown;
    }
    return 0;
}

int zreg_client_init(struct zreg_client *c, const struct zref *ref, const struct zpull_opts *o,
                     struct zerr *e)
{
    memset(c, 0, sizeof *c);
    snprintf(c->registry, sizeof c->registry, "%s", ref->registry);
    snprintf(c->repo, sizeof c->repo, "%s", ref->repository);
    c->tls_verify = o->tls_verify;
    c->opts = o;
    if (o->creds) {
        if (zreg_split_creds(o->creds, &c->creds, e) < 0)
            return zerr_prefix(e, "--creds");
        c->creds_looked_up = true;
    }
    c->easy = curl_easy_init();
    if (!c->easy)
        return zerr_set(e, ENOMEM, "curl: cannot create a handle");
    return 0;
}

void zreg_client_free(struct zreg_client *c)
{
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->auth_header);
    /* the password stays in memory no longer than needed */
    explicit_bzero(&c->creds, sizeof c->creds);
    c->easy = NULL;
    c->auth_header = NULL;
}

/* One GET without the 401 handling. Returns the curl code; r filled. */
static CURLcode get_once(struct zreg_client *c, const char *url, const char *accept, size_t max,
                         struct zreg_response *r, char errbuf[CURL_ERROR_SIZE], struct zerr *e,
                         bool *setup_failed, bool token_request)
{
    CURL *h = c->easy;
    struct curl_slist *headers = NULL;
    struct body_sink sink = {.r = r, .max = max};
    zreg_response_clear(r);
    curl_easy_reset(h);
    errbuf[0] = 0;
    *setup_failed = false;
    /* The token request carries the credentials itself, never an older
     * token. */
    char *saved_auth = c->auth_header;
    if (token_request)
        c->auth_header = NULL;
    int setup = zreg_easy_setup(c, h, (void **)&headers, e);
    c->auth_header = saved_auth;
    if (token_request && c->creds.have) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->creds.user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->creds.pass);
    }
    if (setup < 0) {
        *setup_failed = true;
        curl_slist_free_all(headers);
        return CURLE_FAILED_INIT;
    }
    if (accept) {
        struct curl_slist *grown = curl_slist_append(headers, accept);
        if (!grown) {
            *setup_failed = true;
            curl_slist_free_all(headers);
            zerr_set(e, ENOMEM, "curl: out of memory");
            return CURLE_OUT_OF_MEMORY;
        }
        headers = grown;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, zreg_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
    return rc;
}

static int curl_failure(const char *url, CURLcode rc, const char *errbuf,
                        const struct zreg_response *r, size_t max, struct zerr *e)
{
    if (r->too_large)
        return zerr_set(e, EFBIG, "GET %s: the answer is larger than the limit of %zu bytes",
                        url, max);
    return zerr_set(e, EIO, "GET %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

int zreg_get(struct zreg_client *c, const char *url, const char *accept, size_t max,
             struct zreg_response *r, struct zerr *e)
{
    char errbuf[CURL_ERROR_SIZE];
    bool setup_failed;
    for (int attempt = 0;; attempt++) {
        CURLcode rc = get_once(c, url, accept, max, r, errbuf, e, &setup_failed, false);
        if (setup_failed)
            return -1;
        if (rc != CURLE_OK)
            return curl_failure(url, rc, errbuf, r, max, e);
        if (r->status != 401 || attempt > 0)
            return 0;
        if (!r->www_authenticate)
            return 0;   /* a 401 without a challenge: the caller reports it */
        _cleanup_free_ char *challenge = strdup(r->www_authenticate);
        if (!challenge)
            return zerr_set(e, ENOMEM, "out of memory");
        if (zreg_authenticate(c, challenge, e) < 0)
            return -1;
    }
}

int zreg_get_token(struct zreg_client *c, const char *url, struct zreg_response *r,
                   struct zerr *e)
{
    char errbuf[CURL_ERROR_SIZE];
    bool setup_failed;
    CURLcode rc = get_once(c, url, NULL, ZREG_TOKEN_MAX, r, errbuf, e, &setup_failed, true);
    if (setup_failed)
        return -1;
    if (rc != CURLE_OK)
        return curl_failure(url, rc, errbuf, r, ZREG_TOKEN_MAX, e);
    return 0;
}

int zreg_probe(struct zreg_client *c, struct zerr *e)
{
    static const char *const schemes[] = {"https", "http"};
    size_t n_schemes = c->tls_verify ? 1 : 2;
    char url[1024];
    char errbuf[CURL_ERROR_SIZE];
    struct zreg_response r = {0};
    bool setup_failed;
    int ret = -1;
    char first_error[1024 + CURL_ERROR_SIZE + 8] = "";
    for (size_t i = 0; i < n_schemes; i++) {
        snprintf(url, sizeof url, "%s://%s/v2/", schemes[i], zreg_api_host(c->registry));
        c->scheme = schemes[i];
        CURLcode rc = get_once(c, url, NULL, ZREG_ERRBODY_MAX, &r, errbuf, e, &setup_failed,
                               false);
        if (setup_failed)
            goto out;
        /* A body too large for a ping is still an answer from a registry. */
        if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r.too_large)) {
            if (!first_error[0])
                snprintf(first_error, sizeof first_error, "%s: %s", url,
                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
            continue;
        }
        if (r.status == 401 && r.www_authenticate) {
            _cleanup_free_ char *challenge = strdup(r.www_authenticate);
            if (!challenge) {
                zerr_set(e, ENOMEM, "out of memory");
                goto out;
            }
            ret = zreg_authenticate(c, challenge, e);
            goto out;
        }
        if (r.status / 100 == 2 || r.status == 401) {
            ret = 0;
            goto out;
        }
        char desc[512];
        zreg_describe_status(&r, desc, sizeof desc);
        zerr_set(e, EPROTO, "%s does not answer as a container registry (GET %s: %s)",
                 c->registry, url, desc);
        goto out;
    }
    c->scheme = NULL;
    if (c->tls_verify)
        zerr_set(e, EIO, "cannot reach registry %s: %s (for a registry without valid TLS, "
                 "use --tls-verify=false)", c->registry, first_error);
    else
        zerr_set(e, EIO, "cannot reach registry %s over HTTPS or HTTP: %s", c->registry,
                 first_error);
out:
    zreg_response_clear(&r);
    return ret;
}

void zreg_describe_status(const struct zreg_response *r, char *buf, size_t n)
{
    int len = snprintf(buf, n, "HTTP %ld", r->status);
    if (!r->body || !r->len || len < 0 || (size_t)len >= n)
        return;
    /* {"errors": [{"code": "...", "message": "..."}]} per the distribution
     * spec; only printable text of a bounded length is shown. */
    struct zerr ignored;
    struct zjson_doc *doc = zjson_parse(r->body, r->len, &ignored);
    if (!doc)
        return;
    const struct zjson *errors = zjson_get(zjson_root(doc), "errors");
    if (errors && errors->type == ZJSON_ARRAY && errors->len > 0) {
        const struct zjson *code = zjson_get(errors->u.items[0], "code");
        const struct zjson *msg = zjson_get(errors->u.items[0], "message");
        char clean[2][200] = {"", ""};
        const struct zjson *parts[2] = {code, msg};
        for (int k = 0; k < 2; k++) {
            if (!parts[k] || parts[k]->type != ZJSON_STRING)
                continue;
            size_t j = 0;
            for (size_t i = 0; i < parts[k]->len && j + 1 < sizeof clean[k]; i++) {
                unsigned char ch = (unsigned char)parts[k]->u.str[i];
                clean[k][j++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
            }
            clean[k][j] = 0;
        }
        if (clean[0][0] || clean[1][0])
            snprintf(buf + len, n - (size_t)len, " (%s%s%s)", clean[0],
                     clean[0][0] && clean[1][0] ? ": " : "", clean[1]);
    }
    zjson_doc_free(doc);
}
