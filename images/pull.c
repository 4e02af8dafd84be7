/* zimage_pull: one entry point for every source, dispatched on the
 * transport prefix as podman names them (docker://, oci:, oci-archive:,
 * docker-archive:; a bare reference is a registry). Also the naming rule
 * shared by the local imports. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "images/reference.h"
#include "images/registry.h"
#include "images/transfer_private.h"

const char *zhost_arch(void)
{
    static const struct { const char *uname, *oci; } map[] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"}, {"armv6l", "arm"},
        {"i686", "386"}, {"i386", "386"}, {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
        {"riscv64", "riscv64"}, {"mips64", "mips64"}, {"loongarch64", "loong64"},
    };
    static char buf[65];
    struct utsname u;
    if (uname(&u) < 0)
        return "amd64";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(u.machine, map[i].uname))
            return map[i].oci;
    snprintf(buf, sizeof buf, "%s", u.machine);
    return buf;
}

/* A tag as the distribution spec allows it: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
static bool is_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || strchr("_.-", s[i])))
            return false;
    return true;
}

/* A repository name from a file or directory name: lower case, without
 * archive extensions, other characters turned into '-'. */
static void repo_from_path(const char *path, char *out, size_t n)
{
    static const char *const exts[] = {".tar.gz", ".tar.zst", ".tar.xz", ".tgz", ".tar", ".oci"};
    char base[256];
    const char *slash;
    size_t len, o = 0;
    snprintf(base, sizeof base, "%s", path);
    while ((len = strlen(base)) > 1 && base[len - 1] == '/')
        base[len - 1] = '\0';
    slash = strrchr(base, '/');
    memmove(base, slash ? slash + 1 : base, strlen(slash ? slash + 1 : base) + 1);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t el = strlen(exts[i]);
        len = strlen(base);
        if (len > el && !strcasecmp(base + len - el, exts[i])) {
            base[len - el] = '\0';
            break;
        }
    }
    for (const char *p = base; *p && o + 1 < n; p++) {
        char c = (char)tolower((unsigned char)*p);
        bool ok = isalnum((unsigned char)c) || ((c == '.' || c == '_' || c == '-') && o > 0 &&
                                                out[o - 1] != '-');
        if (!ok && (o == 0 || out[o - 1] == '-'))
            continue;
        out[o++] = ok ? c : '-';
    }
    while (o > 0 && !isalnum((unsigned char)out[o - 1]))
        o--;
    out[o] = '\0';
    if (o == 0)
        snprintf(out, n, "image");
}

int zimport_name(const char *label, const char *path, char *out, size_t n, struct zerr *e)
{
    struct zref ref;
    char text[1024];
    if (label && *label && !is_tag(label)) {
        /* A full reference, normalized the way docker and podman read the
         * RepoTags of an archive. */
        if (zref_parse(label, NULL, &ref, e) < 0)
            return -1;
    } else {
        char repo[200];
        repo_from_path(path, repo, sizeof repo);
        snprintf(text, sizeof text, "localhost/%s:%s", repo, label && *label ? label : "latest");
        if (zref_parse(text, NULL, &ref, e) < 0)
            return -1;
    }
    zref_format(&ref, out, n);
    return 0;
}

int zimport_tag(struct zstore *s, const char *label, const char *path, const char *digest,
                char *name_out, size_t name_n, struct zerr *e)
{
    char name[1024];
    if (zimport_name(label, path, name, sizeof name, e) < 0)
        return -1;
    if (zstore_tag_set(s, name, digest, e) < 0)
        return zerr_prefix(e, "tagging %s", name);
    if (name_out && name_n)
        snprintf(name_out, name_n, "%s", name);
    return 0;
}

/* Splits "PATH[:REST]" at the first ':' (as containers/image does on
 * Linux: a path cannot hold one). */
static int split_path(const char *text, const char *transport, char *path, size_t n,
                      const char **rest, struct zerr *e)
{
    const char *colon = strchr(text, ':');
    size_t len = colon ? (size_t)(colon - text) : strlen(text);
    if (len == 0)
        return zerr_set(e, EINVAL, "%s%s: no path given", transport, text);
    if (len >= n)
        return zerr_set(e, ENAMETOOLONG, "%s: path too long", transport);
    memcpy(path, text, len);
    path[len] = '\0';
    *rest = colon ? colon + 1 : NULL;
    return 0;
}

int zimage_pull(struct zstore *s, const char *src, const struct zpull_opts *o,
                char *name_out, size_t name_n, char digest_out[ZDIGEST_MAX],
                struct zerr *e)
{
    static const struct zpull_opts defaults = {.tls_verify = true, .parallel = 3, .quiet = true};
    static const char *const unsupported[] = {
        "dir:", "containers-storage:", "docker-daemon:", "ostree:", "sif:", "tarball:",
    };
    char path[4096], dig[ZDIGEST_MAX];
    const char *rest;
    struct zref ref;
    if (!o)
        o = &defaults;
    if (!digest_out)
        digest_out = dig;
    if (!src || !*src)
        return zerr_set(e, EINVAL, "no image given");
    if (!strncmp(src, "oci:", 4)) {
        if (split_path(src + 4, "oci:", path, sizeof path, &rest, e) < 0)
            return -1;
        return zoci_layout_import(s, path, rest, o, name_out, name_n, digest_out, e);
    }
    if (!strncmp(src, "oci-archive:", 12)) {
        if (split_path(src + 12, "oci-archive:", path, sizeof path, &rest, e) < 0)
            return -1;
        return zoci_archive_import(s, path, rest, o, name_out, name_n, digest_out, e);
    }
    if (!strncmp(src, "docker-archive:", 15)) {
        if (split_path(src + 15, "docker-archive:", path, sizeof path, &rest, e) < 0)
            return -1;
        return zdocker_archive_import(s, path, rest, name_out, name_n, digest_out, e);
    }
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (!strncmp(src, unsupported[i], strlen(unsupported[i])))
            return zerr_set(e, ENOTSUP, "%s: unsupported transport \"%.*s\" (use docker://, "
                            "oci:, oci-archive: or docker-archive:)", src,
                            (int)strlen(unsupported[i]) - 1, unsupported[i]);
    if (!strncmp(src, "docker://", 9))
        src += 9;
    if (zref_parse(src, NULL, &ref, e) < 0)
        return -1;
    if (zregistry_pull(s, &ref, o, digest_out, e) < 0)
        return -1;
    if (name_out && name_n)
        zref_format(&ref, name_out, name_n);
    return 0;
}
