/* Pulling images from OCI distribution registries (the "docker://" source).
 *
 * zregistry_pull fetches GET /v2/<repo>/manifests/<ref> (OCI manifest or
 * index, Docker schema 2 manifest or list; schema 1 is refused), picks this
 * platform's manifest from an index, then downloads the config and layers
 * in parallel with curl's multi interface into resumable ingest files, and
 * sets the tag only after every blob is stored and verified.
 *
 * Files: registry.c (the pull itself), registry_http.c (curl handles, URLs,
 * small GETs), registry_auth.c (challenges, tokens, credential files),
 * registry_fetch.c (parallel resumable blob downloads), progress.c. The
 * second half of this header is internal: shared by those files and
 * exposed for the unit tests. */
#ifndef ZONE_IMAGES_REGISTRY_H
#define ZONE_IMAGES_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "images/reference.h"
#include "images/store.h"
#include "images/transfer.h"

/* Pulls ref into s. digest_out gets the digest of the top-level document
 * (the index for a multi-platform image, else the manifest); that is what
 * the tag (zref_format of ref) points to. */
int zregistry_pull(struct zstore *s, const struct zref *ref, const struct zpull_opts *o,
                   char digest_out[ZDIGEST_MAX], struct zerr *e);

/* Parses "os/arch[/variant]" (--platform). Architecture aliases are
 * normalized as Go names them (x86_64 -> amd64, aarch64 -> arm64). The
 * outputs point into buf (of n bytes); variant is NULL when absent. */
int zregistry_parse_platform(const char *text, char *buf, size_t n, const char **os,
                             const char **arch, const char **variant, struct zerr *e);

/* ------------------------------------------------------------ internals */

/* Largest layer accepted (declared size); configs and manifests are bounded
 * by ZMANIFEST_MAX. */
#define ZREG_LAYER_MAX (64ull << 30)
/* Largest token response and registry error body read. */
#define ZREG_TOKEN_MAX (1u << 20)
#define ZREG_ERRBODY_MAX 4096u

/* The host to talk to for a registry name: docker.io -> registry-1.docker.io. */
const char *zreg_api_host(const char *registry);
/* scheme://api-host/v2/<repo>/<kind>/<ref>; kind is "manifests" or "blobs".
 * repo and ref are checked to hold only reference characters. */
int zreg_build_url(const char *scheme, const char *registry, const char *repo,
                   const char *kind, const char *ref, char *buf, size_t n, struct zerr *e);

/* One WWW-Authenticate challenge. Bearer is preferred when several are
 * offered. Empty strings for absent parameters. */
struct zreg_challenge {
    char scheme[16];           /* "Bearer" or "Basic" */
    char realm[2048];
    char service[512];
    char scope[1024];
};
int zreg_parse_challenge(const char *header, struct zreg_challenge *out, struct zerr *e);

/* Credentials: "user:password". */
struct zreg_creds {
    bool have;
    char user[512];
    char pass[1024];
};
int zreg_split_creds(const char *text, struct zreg_creds *out, struct zerr *e);
/* Looks up registry (and the repository, for per-repository keys as
 * podman writes them: "host/ns/repo") in an auth file's JSON
 * ({"auths": {"key": {"auth": base64("user:pass")}}}). Keys may carry a
 * scheme and a path ("https://index.docker.io/v1/"). The longest matching
 * key wins. *found is false when nothing matches. `what` names the file. */
int zreg_auth_lookup(const char *json, size_t len, const char *what, const char *registry,
                     const char *repo, struct zreg_creds *out, struct zerr *e);
/* o->creds, else the first auth file (o->auth_file, or $REGISTRY_AUTH_FILE,
 * ~/.docker/config.json, $XDG_RUNTIME_DIR/containers/auth.json) holding an
 * entry for the registry. A named file that cannot be read is an error;
 * default files that do not exist are skipped. */
int zreg_find_creds(const struct zpull_opts *o, const char *registry, const char *repo,
                    struct zreg_creds *out, struct zerr *e);
/* Parses a token endpoint answer ({"token": ..} or {"access_token": ..}). */
int zreg_parse_token(const char *json, size_t len, char **token, struct zerr *e);

/* What to do with a blob response, given the resume offset we asked from. */
enum zreg_range_action {
    ZRA_APPEND,       /* the body continues the partial file */
    ZRA_RESTART,      /* 200 to a Range request: drop the partial, body from 0 */
    ZRA_RETRY_FULL,   /* 416 or a 206 at another offset: drop the partial and
                         request the whole blob again */
    ZRA_ERROR,        /* any other status */
};
enum zreg_range_action zreg_range_decide(uint64_t resume, long status,
                                         const char *content_range);

/* The Accept header value for manifests. */
extern const char zreg_manifest_accept[];
/* True for schema 1 media types or a body with "schemaVersion": 1. */
bool zreg_is_schema1(const char *content_type, const char *body, size_t len);

/* A connection to one registry repository. */
struct zreg_client {
    char registry[256];        /* as in the reference: "docker.io" */
    char repo[512];
    bool tls_verify;
    const char *scheme;        /* "https" or "http" once probed, NULL before */
    struct zreg_creds creds;
    char *auth_header;         /* "Authorization: ..." or NULL */
    bool creds_looked_up;
    const struct zpull_opts *opts;
    void *easy;                /* CURL * for the small requests */
};

struct zreg_response {
    long status;
    char *body;                /* NUL-terminated; free() */
    size_t len;
    bool too_large;            /* the body passed max and was cut */
    char content_type[256];
    char docker_digest[ZDIGEST_MAX];
    char content_range[128];
    char *www_authenticate;    /* free() */
};
void zreg_response_clear(struct zreg_response *r);

int zreg_client_init(struct zreg_client *c, const struct zref *ref, const struct zpull_opts *o,
                     struct zerr *e);
void zreg_client_free(struct zreg_client *c);
/* Finds the scheme (GET /v2/): https; with tls_verify off, https without
 * verification then plain http. Authenticates if the ping asks for it. */
int zreg_probe(struct zreg_client *c, struct zerr *e);
/* GET url with optional Accept, body limited to max bytes (the transfer is
 * aborted as soon as it passes). A 401 is answered once by authenticating
 * and retrying. HTTP errors are not errors here: look at r->status. */
int zreg_get(struct zreg_client *c, const char *url, const char *accept, size_t max,
             struct zreg_response *r, struct zerr *e);
/* GET of a token endpoint: without the current Authorization header, with
 * Basic credentials when there are some; body bounded by ZREG_TOKEN_MAX. */
int zreg_get_token(struct zreg_client *c, const char *url, struct zreg_response *r,
                   struct zerr *e);
/* Answers a 401 challenge: fetches a token (Bearer) or uses the
 * credentials (Basic) and stores the header for later requests. */
int zreg_authenticate(struct zreg_client *c, const char *www_authenticate, struct zerr *e);
/* Common options for every handle of this client (TLS, protocols,
 * redirects, timeouts, user agent). headers gets the Authorization header
 * (if any) appended; the caller frees it with curl_slist_free_all. */
int zreg_easy_setup(struct zreg_client *c, void *curl, void **headers, struct zerr *e);
/* Header callback state shared by small and blob requests. */
size_t zreg_header_cb(char *line, size_t size, size_t n, void *response);
/* A short description of a registry error answer:
 * "HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)". */
void zreg_describe_status(const struct zreg_response *r, char *buf, size_t n);

/* ---- parallel blob downloads (registry_fetch.c) ---- */
struct zprogress;
struct zreg_blob {
    const char *digest;
    int64_t size;
    int64_t limit;             /* refuse a declared size above this */
    const char *kind;          /* "config" or "layer" (for messages) */
};
int zreg_fetch_blobs(struct zreg_client *c, struct zstore *s, const struct zreg_blob *blobs,
                     size_t n, int parallel, struct zprogress *p, struct zerr *e);

/* ---- progress (progress.c) ---- */
/* n items; out NULL or quiet = silent. On a tty each item has a bar line
 * redrawn in place; otherwise one line per finished item. */
struct zprogress *zprogress_new(FILE *out, bool quiet, size_t n);
void zprogress_free(struct zprogress *p);
void zprogress_set(struct zprogress *p, size_t i, const char *label, uint64_t total);
void zprogress_update(struct zprogress *p, size_t i, uint64_t done);
/* status: "done", "skipped: already exists", "failed" ... */
void zprogress_finish(struct zprogress *p, size_t i, const char *status);
/* A line of text above the bars ("Copying config ..."). */
void zprogress_note(struct zprogress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Formats bytes as "12.3 MiB" into buf. */
void zprogress_human(uint64_t bytes, char *buf, size_t n);

#endif
