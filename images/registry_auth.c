/* Registry authentication: WWW-Authenticate challenges (Bearer token and
 * Basic), the token endpoint, and credentials from --creds or the auth
 * files docker and podman write. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "images/registry.h"

#define AUTH_FILE_MAX (4u << 20)

/* ------------------------------------------------------- challenges */

struct cursor { const char *p; };

static void skip_ws(struct cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t')
        c->p++;
}

static bool is_tchar(char ch)
{
    return ch && (isalnum((unsigned char)ch) || strchr("!#$%&'*+-.^_`|~/", ch));
}

static size_t read_token(struct cursor *c, char *buf, size_t n)
{
    size_t len = 0;
    while (is_tchar(*c->p)) {
        if (len + 1 < n)
            buf[len++] = *c->p;
        c->p++;
    }
    if (n)
        buf[len < n ? len : n - 1] = 0;
    return len;
}

/* A token or a quoted-string (with \-escapes); -1 on an unterminated quote
 * or a value longer than n. */
static int read_value(struct cursor *c, char *buf, size_t n)
{
    size_t len = 0;
    if (*c->p != '"') {
        while (is_tchar(*c->p) || *c->p == '=' || *c->p == ':') {
            if (len + 1 >= n)
                return -1;
            buf[len++] = *c->p++;
        }
        buf[len] = 0;
        return 0;
    }
    c->p++;
    while (*c->p && *c->p != '"') {
        if (*c->p == '\\' && c->p[1])
            c->p++;
        if ((unsigned char)*c->p < 0x20 || len + 1 >= n)
            return -1;
        buf[len++] = *c->p++;
    }
    if (*c->p != '"')
        return -1;
    c->p++;
    buf[len] = 0;
    return 0;
}

/* True when the cursor is at "name =" (a parameter, not a new scheme). */
static bool at_param(struct cursor c)
{
    char name[64];
    if (!read_token(&c, name, sizeof name))
        return false;
    skip_ws(&c);
    return *c.p == '=';
}

int zreg_parse_challenge(const char *header, struct zreg_challenge *out, struct zerr *e)
{
    struct cursor c = {header};
    struct zreg_challenge cur;
    bool have = false;
    memset(out, 0, sizeof *out);
    for (;;) {
        while (*c.p == ' ' || *c.p == '\t' || *c.p == ',')
            c.p++;
        if (!*c.p)
            break;
        memset(&cur, 0, sizeof cur);
        if (!read_token(&c, cur.scheme, sizeof cur.scheme))
            return zerr_set(e, EPROTO, "WWW-Authenticate \"%.200s\": expected a scheme", header);
        bool after_comma = false;
        for (;;) {
            skip_ws(&c);
            if (!at_param(c))
                break;
            after_comma = false;
            char name[64], value[2048];
            read_token(&c, name, sizeof name);
            skip_ws(&c);
            c.p++;   /* '=' */
            skip_ws(&c);
            if (read_value(&c, value, sizeof value) < 0)
                return zerr_set(e, EPROTO, "WWW-Authenticate \"%.200s\": bad value of %s",
                                header, name);
            char *field = NULL;
            size_t field_n = 0;
            if (!strcasecmp(name, "realm"))
                field = cur.realm, field_n = sizeof cur.realm;
            else if (!strcasecmp(name, "service"))
                field = cur.service, field_n = sizeof cur.service;
            else if (!strcasecmp(name, "scope"))
                field = cur.scope, field_n = sizeof cur.scope;
            if (field) {
                if (strlen(value) >= field_n)
                    return zerr_set(e, EPROTO, "WWW-Authenticate: %s is too long", name);
                memcpy(field, value, strlen(value) + 1);
            }
            skip_ws(&c);
            if (*c.p != ',')
                break;
            c.p++;
            after_comma = true;
        }
        /* Unless a comma led to the next scheme, skip what is left of
         * this challenge (a token68, or junk). */
        if (!after_comma)
            while (*c.p && *c.p != ',')
                c.p++;
        bool bearer = !strcasecmp(cur.scheme, "Bearer");
        bool basic = !strcasecmp(cur.scheme, "Basic");
        if (bearer && !cur.realm[0])
            return zerr_set(e, EPROTO, "WWW-Authenticate \"%.200s\": Bearer without a realm",
                            header);
        if ((bearer && (!have || strcasecmp(out->scheme, "Bearer"))) || (basic && !have)) {
            *out = cur;
            snprintf(out->scheme, sizeof out->scheme, "%s", bearer ? "Bearer" : "Basic");
            have = true;
        }
    }
    if (!have)
        return zerr_set(e, EPROTO, "WWW-Authenticate \"%.200s\": no Bearer or Basic challenge",
                        header);
    return 0;
}

/* ------------------------------------------------------- credentials */

int zreg_split_creds(const char *text, struct zreg_creds *out, struct zerr *e)
{
    memset(out, 0, sizeof *out);
    const char *colon = strchr(text, ':');
    if (!colon)
        return zerr_set(e, EINVAL, "expected USER:PASSWORD");
    size_t ulen = (size_t)(colon - text);
    if (ulen == 0)
        return zerr_set(e, EINVAL, "empty user name in USER:PASSWORD");
    if (ulen >= sizeof out->user || strlen(colon + 1) >= sizeof out->pass)
        return zerr_set(e, EINVAL, "user name or password too long");
    memcpy(out->user, text, ulen);
    snprintf(out->pass, sizeof out->pass, "%s", colon + 1);
    out->have = true;
    return 0;
}

/* base64 -> bytes (NUL-terminated); -1 if not valid base64. OpenSSL's
 * block decoder counts padding as zero bytes, which are taken off here. */
static int base64_decode(const char *in, size_t len, char *out, size_t n)
{
    if (len == 0 || len % 4 || len / 4 * 3 + 1 > n)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (!isalnum(ch) && ch != '+' && ch != '/' && !(ch == '=' && i >= len - 2))
            return -1;
        if (ch != '=' && i > 0 && in[i - 1] == '=')
            return -1;
    }
    int got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
    if (got < 0)
        return -1;
    got -= (in[len - 1] == '=') + (in[len - 2] == '=');
    out[got] = 0;
    return got;
}

static int base64_encode(const char *in, size_t len, char *out, size_t n)
{
    if ((len + 2) / 3 * 4 + 1 > n)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
    return 0;
}

/* Canonical host for matching: Docker Hub's many names are one. */
static const char *canonical_host(const char *h)
{
    if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io") ||
        !strcmp(h, "docker.io"))
        return "docker.io";
    return h;
}

/* How well an auth-file key matches registry/repo: -1 not at all, else
 * the length of the repository path it names (0 = the whole registry). */
static int key_score(const char *key, const char *registry, const char *repo)
{
    char buf[1024];
    if (!strncmp(key, "https://", 8))
        key += 8;
    else if (!strncmp(key, "http://", 7))
        key += 7;
    snprintf(buf, sizeof buf, "%s", key);
    size_t len = strlen(buf);
    while (len && buf[len - 1] == '/')
        buf[--len] = 0;
    char *slash = strchr(buf, '/');
    const char *path = "";
    if (slash) {
        *slash = 0;
        path = slash + 1;
        /* "index.docker.io/v1" is the registry itself, not a repository */
        if (!strcmp(path, "v1") || !strcmp(path, "v2"))
            path = "";
    }
    if (strcmp(canonical_host(buf), canonical_host(registry)))
        return -1;
    size_t plen = strlen(path);
    if (plen && (strncmp(repo, path, plen) || (repo[plen] && repo[plen] != '/')))
        return -1;
    return (int)plen;
}

int zreg_auth_lookup(const char *json, size_t len, const char *what, const char *registry,
                     const char *repo, struct zreg_creds *out, struct zerr *e)
{
    memset(out, 0, sizeof *out);
    struct zjson_doc *doc = zjson_parse(json, len, e);
    if (!doc)
        return zerr_prefix(e, "%s", what);
    int ret = -1;
    const struct zjson *root = zjson_root(doc);
    const struct zjson *auths = zjson_get(root, "auths");
    if (root->type != ZJSON_OBJECT) {
        zerr_set(e, EINVAL, "%s: expected a JSON object", what);
        goto out;
    }
    if (!auths) {
        ret = 0;
        goto out;
    }
    if (auths->type != ZJSON_OBJECT) {
        zerr_set(e, EINVAL, "%s: auths: expected an object", what);
        goto out;
    }
    int best = -1;
    const struct zjson_member *chosen = NULL;
    for (size_t i = 0; i < auths->len; i++) {
        const struct zjson_member *m = &auths->u.members[i];
        if (strlen(m->key) != m->key_len)
            continue;   /* a NUL inside a key matches nothing */
        const struct zjson *auth = zjson_get(m->value, "auth");
        if (!auth)
            continue;   /* e.g. only an identitytoken: not supported */
        int score = key_score(m->key, registry, repo);
        if (score > best) {
            best = score;
            chosen = m;
        }
    }
    if (chosen) {
        const struct zjson *auth = zjson_get(chosen->value, "auth");
        char decoded[2048];
        if (auth->type != ZJSON_STRING ||
            base64_decode(auth->u.str, auth->len, decoded, sizeof decoded) < 0) {
            zerr_set(e, EINVAL, "%s: auths.\"%.200s\".auth: not base64 of USER:PASSWORD", what,
                     chosen->key);
            goto out;
        }
        if (strlen(decoded) != (size_t)(auth->len / 4 * 3) - (auth->u.str[auth->len - 1] == '=') -
                                   (auth->u.str[auth->len - 2] == '=') ||
            zreg_split_creds(decoded, out, e) < 0) {
            explicit_bzero(decoded, sizeof decoded);
            zerr_set(e, EINVAL, "%s: auths.\"%.200s\".auth: not base64 of USER:PASSWORD", what,
                     chosen->key);
            goto out;
        }
        explicit_bzero(decoded, sizeof decoded);
    }
    ret = 0;
out:
    zjson_doc_free(doc);
    return ret;
}

/* Reads a whole small file; -1 with ENOENT in e->code when it is absent. */
static int read_small_file(const char *path, char **data, size_t *len, struct zerr *e)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return zerr_sys(e, "%s", path);
    if (fstat(fd, &st) < 0)
        return zerr_sys(e, "%s", path);
    if (!S_ISREG(st.st_mode))
        return zerr_set(e, EINVAL, "%s: not a regular file", path);
    if (st.st_size > AUTH_FILE_MAX)
        return zerr_set(e, EFBIG, "%s: larger than %u bytes", path, AUTH_FILE_MAX);
    _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return zerr_set(e, ENOMEM, "%s: out of memory", path);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return zerr_sys(e, "%s", path);
        if (r == 0)
            break;
        got += (size_t)r;
    }
    buf[got] = 0;
    *len = got;
    *data = steal_ptr(&buf);
    return 0;
}

static int lookup_file(const char *path, bool must_exist, const char *registry, const char *repo,
                       struct zreg_creds *out, struct zerr *e)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    if (read_small_file(path, &data, &len, e) < 0) {
        if (e->code == ENOENT && !must_exist) {
            zerr_clear(e);
            return 0;
        }
        return zerr_prefix(e, "auth file");
    }
    int r = zreg_auth_lookup(data, len, path, registry, repo, out, e);
    explicit_bzero(data, len);
    return r;
}

int zreg_find_creds(const struct zpull_opts *o, const char *registry, const char *repo,
                    struct zreg_creds *out, struct zerr *e)
{
    memset(out, 0, sizeof *out);
    if (o->creds)
        return zreg_split_creds(o->creds, out, e) < 0 ? zerr_prefix(e, "--creds") : 0;
    if (o->auth_file)
        return lookup_file(o->auth_file, true, registry, repo, out, e);
    char paths[3][4096];
    size_t n = 0;
    const char *env = getenv("REGISTRY_AUTH_FILE");
    if (env && *env)
        snprintf(paths[n++], sizeof paths[0], "%s", env);
    const char *home = getenv("HOME");
    if (home && *home)
        snprintf(paths[n++], sizeof paths[0], "%s/.docker/config.json", home);
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg)
        snprintf(paths[n++], sizeof paths[0], "%s/containers/auth.json", xdg);
    else if (geteuid() == 0)
        snprintf(paths[n++], sizeof paths[0], "/run/containers/0/auth.json");
    for (size_t i = 0; i < n; i++) {
        if (lookup_file(paths[i], false, registry, repo, out, e) < 0)
            return -1;
        if (out->have)
            return 0;
    }
    return 0;
}

/* ------------------------------------------------------- tokens */

int zreg_parse_token(const char *json, size_t len, char **token, struct zerr *e)
{
    struct zjson_doc *doc = zjson_parse(json, len, e);
    if (!doc)
        return zerr_prefix(e, "token answer");
    const struct zjson *root = zjson_root(doc);
    const struct zjson *t = zjson_get(root, "token");
    if (!t || t->type != ZJSON_STRING || !t->len)
        t = zjson_get(root, "access_token");
    int ret = -1;
    if (!t || t->type != ZJSON_STRING || !t->len) {
        zerr_set(e, EPROTO, "token answer: no \"token\" or \"access_token\" string");
        goto out;
    }
    /* It goes into a header line: printable ASCII without spaces only. */
    for (size_t i = 0; i < t->len; i++) {
        unsigned char ch = (unsigned char)t->u.str[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            zerr_set(e, EPROTO, "token answer: the token holds a character not allowed in "
                     "an HTTP header (byte %zu)", i);
            goto out;
        }
    }
    *token = strdup(t->u.str);
    if (!*token) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    ret = 0;
out:
    zjson_doc_free(doc);
    return ret;
}

static int set_header(struct zreg_client *c, const char *kind, const char *value, struct zerr *e)
{
    char *h = NULL;
    if (asprintf(&h, "Authorization: %s %s", kind, value) < 0)
        return zerr_set(e, ENOMEM, "out of memory");
    if (c->auth_header)
        explicit_bzero(c->auth_header, strlen(c->auth_header));
    free(c->auth_header);
    c->auth_header = h;
    return 0;
}

static int fetch_token(struct zreg_client *c, const struct zreg_challenge *ch, struct zerr *e)
{
    char scope[1200];
    if (ch->scope[0])
        snprintf(scope, sizeof scope, "%s", ch->scope);
    else
        snprintf(scope, sizeof scope, "repository:%s:pull", c->repo);
    /* The realm comes from the registry: with TLS verification on, the
     * credentials never travel over plain HTTP. */
    bool https = !strncasecmp(ch->realm, "https://", 8);
    if (!https && strncasecmp(ch->realm, "http://", 7))
        return zerr_set(e, EPROTO, "registry %s: token realm \"%.200s\" is not an HTTP(S) URL",
                        c->registry, ch->realm);
    if (!https && c->tls_verify)
        return zerr_set(e, EPROTO, "registry %s: token realm %s is not HTTPS (use "
                        "--tls-verify=false to allow it)", c->registry, ch->realm);
    char *esc_service = curl_easy_escape(NULL, ch->service, 0);
    char *esc_scope = curl_easy_escape(NULL, scope, 0);
    _cleanup_free_ char *url = NULL;
    _cleanup_free_ char *token = NULL;
    struct zreg_response r = {0};
    int ret = -1;
    if (!esc_service || !esc_scope ||
        asprintf(&url, "%s%s%s%s%sscope=%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
                 ch->service[0] ? "service=" : "", ch->service[0] ? esc_service : "",
                 ch->service[0] ? "&" : "", esc_scope) < 0) {
        url = NULL;
        zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    if (zreg_get_token(c, url, &r, e) < 0)
        goto out;
    if (r.status != 200) {
        char desc[512];
        zreg_describe_status(&r, desc, sizeof desc);
        if (r.status == 401 || r.status == 403)
            zerr_set(e, EACCES, "registry %s: the token server %s refused %s: %s%s", c->registry,
                     ch->realm, c->creds.have ? "the credentials" : "an anonymous request", desc,
                     c->creds.have ? "" : " (use --creds USER:PASSWORD or an auth file)");
        else
            zerr_set(e, EPROTO, "registry %s: token server %s: %s", c->registry, ch->realm, desc);
        goto out;
    }
    if (zreg_parse_token(r.body ? r.body : "", r.len, &token, e) < 0) {
        zerr_prefix(e, "registry %s: token server %s", c->registry, ch->realm);
        goto out;
    }
    ret = set_header(c, "Bearer", token, e);
    explicit_bzero(token, strlen(token));
out:
    curl_free(esc_service);
    curl_free(esc_scope);
    zreg_response_clear(&r);
    return ret;
}

int zreg_authenticate(struct zreg_client *c, const char *www_authenticate, struct zerr *e)
{
    struct zreg_challenge ch;
    if (zreg_parse_challenge(www_authenticate, &ch, e) < 0)
        return zerr_prefix(e, "registry %s", c->registry);
    if (!c->creds_looked_up) {
        if (zreg_find_creds(c->opts, c->registry, c->repo, &c->creds, e) < 0)
            return -1;
        c->creds_looked_up = true;
    }
    if (!strcmp(ch.scheme, "Basic")) {
        if (!c->creds.have)
            return zerr_set(e, EACCES, "registry %s asks for a user name and password: use "
                            "--creds USER:PASSWORD or an auth file", c->registry);
        if (c->auth_header && !strncmp(c->auth_header, "Authorization: Basic ", 21))
            return zerr_set(e, EACCES, "registry %s refused the credentials of user \"%s\"",
                            c->registry, c->creds.user);
        char pair[sizeof c->creds.user + sizeof c->creds.pass + 1];
        char encoded[sizeof pair / 3 * 4 + 8];
        snprintf(pair, sizeof pair, "%s:%s", c->creds.user, c->creds.pass);
        int r = base64_encode(pair, strlen(pair), encoded, sizeof encoded);
        explicit_bzero(pair, sizeof pair);
        if (r < 0)
            return zerr_set(e, EINVAL, "credentials too long");
        r = set_header(c, "Basic", encoded, e);
        explicit_bzero(encoded, sizeof encoded);
        return r;
    }
    return fetch_token(c, &ch, e);
}
