/* Image reference parsing and normalization, following the grammar of the
 * distribution project's reference package (what docker and podman accept):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component ( "/" path-component )*
 *   domain     := host [ ":" port ]        host: DNS labels, or [IPv6]
 *   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *
 * The first component is a domain when it contains '.' or ':', is
 * "localhost", or has upper-case letters (which a path cannot). */
#include "images/reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define REF_TEXT_MAX 1024
#define NAME_TOTAL_MAX 255

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One path component [p, p+len). */
static bool valid_path_component(const char *p, size_t len)
{
    size_t i = 0;
    if (len == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[len - 1]))
        return false;
    while (i < len) {
        if (is_lower_alnum(p[i])) {
            i++;
            continue;
        }
        /* a separator: ".", "_", "__" or a run of "-", then alnum */
        if (p[i] == '.' || p[i] == '_') {
            if (p[i] == '_' && i + 1 < len && p[i + 1] == '_')
                i++;
            i++;
        } else if (p[i] == '-') {
            while (i < len && p[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i >= len || !is_lower_alnum(p[i]))
            return false;
    }
    return true;
}

static bool valid_host_label(const char *p, size_t len)
{
    if (len == 0 || !is_alnum(p[0]) || !is_alnum(p[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(p[i]) && p[i] != '-')
            return false;
    return true;
}

static bool valid_domain(const char *d, size_t len)
{
    const char *end = d + len, *host_end, *p;
    if (len == 0)
        return false;
    if (d[0] == '[') {
        /* [IPv6]: hex digits, ':' and '.' (embedded IPv4) */
        host_end = memchr(d, ']', len);
        if (!host_end || host_end == d + 1)
            return false;
        for (p = d + 1; p < host_end; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return false;
        host_end++;
    } else {
        host_end = memchr(d, ':', len);
        if (!host_end)
            host_end = end;
        p = d;
        while (p <= host_end) {
            const char *dot = memchr(p, '.', (size_t)(host_end - p));
            const char *label_end = dot ? dot : host_end;
            if (!valid_host_label(p, (size_t)(label_end - p)))
                return false;
            if (!dot)
                break;
            p = dot + 1;
        }
    }
    if (host_end == end)
        return true;
    if (*host_end != ':' || host_end + 1 == end)
        return false;
    for (p = host_end + 1; p < end; p++)
        if (*p < '0' || *p > '9')
            return false;
    return end - (host_end + 1) <= 5;
}

static bool valid_tag(const char *t)
{
    size_t len = strlen(t);
    if (len == 0 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        bool word = is_alnum(c) || c == '_';
        if (!word && (i == 0 || (c != '.' && c != '-')))
            return false;
    }
    return true;
}

static bool is_hex64(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int zref_parse(const char *text, const char *default_registry, struct zref *out,
               struct zerr *e)
{
    char name[REF_TEXT_MAX + 1];
    const char *at, *slash, *colon, *path, *comp;
    size_t text_len, name_len, domain_len;
    bool has_domain = false;

    memset(out, 0, sizeof *out);
    if (!default_registry)
        default_registry = "docker.io";
    if (!text || !*text)
        return zerr_set(e, EINVAL, "invalid reference \"\": empty name");
    text_len = strlen(text);
    if (text_len > REF_TEXT_MAX)
        return zerr_set(e, EINVAL, "invalid reference \"%.60s...\": longer than %d characters",
                        text, REF_TEXT_MAX);

    /* digest */
    at = strchr(text, '@');
    name_len = at ? (size_t)(at - text) : text_len;
    if (at) {
        struct zerr de;
        if (zdigest_check(at + 1, NULL, &de) < 0)
            return zerr_set(e, de.code, "invalid reference \"%s\": %s", text, de.msg + strlen("digest: "));
        snprintf(out->digest, sizeof out->digest, "%s", at + 1);
    }
    memcpy(name, text, name_len);
    name[name_len] = '\0';

    /* tag: a ':' after the last '/' */
    slash = strrchr(name, '/');
    colon = strrchr(slash ? slash : name, ':');
    if (colon) {
        if (!valid_tag(colon + 1))
            return zerr_set(e, EINVAL, "invalid reference \"%s\": invalid tag \"%s\"", text, colon + 1);
        snprintf(out->tag, sizeof out->tag, "%s", colon + 1);
        name[colon - name] = '\0';
        name_len = (size_t)(colon - name);
    }
    if (name_len == 0)
        return zerr_set(e, EINVAL, "invalid reference \"%s\": empty name", text);

    /* domain */
    slash = strchr(name, '/');
    path = name;
    if (slash) {
        domain_len = (size_t)(slash - name);
        bool upper = false;
        for (size_t i = 0; i < domain_len; i++)
            upper |= name[i] >= 'A' && name[i] <= 'Z';
        if (memchr(name, '.', domain_len) || memchr(name, ':', domain_len) || upper ||
            (domain_len == 9 && !memcmp(name, "localhost", 9))) {
            if (!valid_domain(name, domain_len))
                return zerr_set(e, EINVAL, "invalid reference \"%s\": invalid registry \"%.*s\"",
                                text, (int)domain_len, name);
            if (domain_len >= sizeof out->registry)
                return zerr_set(e, EINVAL, "invalid reference \"%s\": registry name too long", text);
            memcpy(out->registry, name, domain_len);
            out->registry[domain_len] = '\0';
            path = slash + 1;
            has_domain = true;
        }
    }
    if (!has_domain)
        snprintf(out->registry, sizeof out->registry, "%s", default_registry);
    if (!strcmp(out->registry, "index.docker.io"))
        snprintf(out->registry, sizeof out->registry, "docker.io");

    /* path */
    comp = path;
    for (;;) {
        const char *end = strchr(comp, '/');
        size_t len = end ? (size_t)(end - comp) : strlen(comp);
        if (!valid_path_component(comp, len)) {
            for (size_t i = 0; i < len; i++)
                if (comp[i] >= 'A' && comp[i] <= 'Z')
                    return zerr_set(e, EINVAL, "invalid reference \"%s\": repository name must be "
                                    "lowercase", text);
            return zerr_set(e, EINVAL, "invalid reference \"%s\": invalid repository name "
                            "component \"%.*s\"", text, (int)len, comp);
        }
        if (!end)
            break;
        comp = end + 1;
    }
    if (!has_domain && is_hex64(path, strlen(path)))
        return zerr_set(e, EINVAL, "invalid reference \"%s\": a 64-digit hexadecimal string "
                        "names an image ID, not a repository", text);
    if (!strcmp(out->registry, "docker.io") && !strchr(path, '/'))
        snprintf(out->repository, sizeof out->repository, "library/%s", path);
    else if ((size_t)snprintf(out->repository, sizeof out->repository, "%s", path) >=
             sizeof out->repository)
        return zerr_set(e, EINVAL, "invalid reference \"%s\": repository name too long", text);
    if (strlen(out->registry) + 1 + strlen(out->repository) > NAME_TOTAL_MAX)
        return zerr_set(e, EINVAL, "invalid reference \"%s\": repository name must not be more "
                        "than %d characters", text, NAME_TOTAL_MAX);
    if (!out->tag[0] && !out->digest[0])
        snprintf(out->tag, sizeof out->tag, "latest");
    return 0;
}

void zref_format(const struct zref *r, char *buf, size_t n)
{
    if (r->digest[0])
        snprintf(buf, n, "%s/%s@%s", r->registry, r->repository, r->digest);
    else
        snprintf(buf, n, "%s/%s:%s", r->registry, r->repository, r->tag);
}
