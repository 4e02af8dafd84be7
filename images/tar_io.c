/* Reading image archives member by member with libarchive.
 *
 * Nothing here writes a member to disk as a file: members are read into
 * memory (bounded), hashed, or streamed into the store's verifying blob
 * writer. Member names are only compared as strings, after a lexical check
 * that refuses absolute names and ".." components, so a hostile archive
 * cannot make us look at (or create) anything outside it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/cleanup.h"
#include "images/transfer_private.h"

#define ZTAR_BLOCK (64 * 1024)

/* A clear errno message before libarchive's own ("Failed to open"). */
static int check_input(const char *path, struct zerr *e)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return zerr_sys(e, "%s", path);
    if (S_ISDIR(st.st_mode))
        return zerr_set(e, EISDIR, "%s: is a directory, not an archive", path);
    return 0;
}

int ztar_open(const char *path, struct archive **out, struct zerr *e)
{
    struct archive *a;
    if (check_input(path, e) < 0)
        return -1;
    a = archive_read_new();
    if (!a)
        return zerr_set(e, ENOMEM, "%s: cannot allocate an archive reader", path);
    /* gzip/zstd/xz around the tar are accepted, as docker and podman
     * accept a compressed `docker save` output. */
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (archive_read_open_filename(a, path, ZTAR_BLOCK) != ARCHIVE_OK) {
        int err = archive_errno(a);
        zerr_set(e, err > 0 ? err : EINVAL, "%s: %s", path, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

void ztar_close(struct archive *a)
{
    if (a)
        archive_read_free(a);
}

/* Cleans a member name into out: drops leading "./" and "/"-runs and a
 * trailing "/". Refuses absolute names and ".." components. */
static int clean_member_name(const char *raw, const char *path, char out[ZTAR_NAME_MAX],
                             struct zerr *e)
{
    size_t o = 0;
    const char *p = raw;
    if (!raw || !*raw)
        return zerr_set(e, EINVAL, "%s: archive member without a name", path);
    if (raw[0] == '/')
        return zerr_set(e, EINVAL, "%s: archive member \"%.200s\": absolute name refused",
                        path, raw);
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return zerr_set(e, EINVAL, "%s: archive member \"%.200s\": \"..\" in a member "
                            "name refused (the archive tries to reach outside itself)",
                            path, raw);
        if (len && !(len == 1 && p[0] == '.')) {
            if (o + len + 2 > ZTAR_NAME_MAX)
                return zerr_set(e, ENAMETOOLONG, "%s: archive member \"%.200s...\": name "
                                "too long", path, raw);
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
        while (*p == '/')
            p++;
    }
    out[o] = '\0';
    return 0;
}

int ztar_next(struct archive *a, const char *path, char name[ZTAR_NAME_MAX], bool *regular,
              int64_t *size, struct zerr *e)
{
    struct archive_entry *ent;
    int r = archive_read_next_header(a, &ent);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        int err = archive_errno(a);
        return zerr_set(e, err > 0 ? err : EINVAL, "%s: reading the archive: %s", path,
                        archive_error_string(a));
    }
    if (clean_member_name(archive_entry_pathname(ent), path, name, e) < 0)
        return -1;
    *regular = archive_entry_filetype(ent) == AE_IFREG && !archive_entry_hardlink(ent);
    *size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : 0;
    if (*size < 0)
        return zerr_set(e, EINVAL, "%s: archive member \"%s\": negative size", path, name);
    return 1;
}

static int read_error(struct archive *a, const char *what, struct zerr *e)
{
    int err = archive_errno(a);
    return zerr_set(e, err > 0 ? err : EIO, "%s: %s", what, archive_error_string(a));
}

int ztar_read_all(struct archive *a, const char *what, size_t max, char **data, size_t *len,
                  struct zerr *e)
{
    size_t cap = 4096, used = 0;
    _cleanup_free_ char *buf = malloc(cap + 1);
    if (!buf)
        return zerr_set(e, ENOMEM, "%s: out of memory", what);
    for (;;) {
        la_ssize_t n;
        if (used == cap) {
            char *nb;
            if (cap > max)
                return zerr_set(e, EFBIG, "%s: larger than %zu bytes", what, max);
            cap *= 2;
            nb = realloc(buf, cap + 1);
            if (!nb)
                return zerr_set(e, ENOMEM, "%s: out of memory", what);
            buf = nb;
        }
        n = archive_read_data(a, buf + used, cap - used);
        if (n < 0)
            return read_error(a, what, e);
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max)
            return zerr_set(e, EFBIG, "%s: larger than %zu bytes", what, max);
    }
    buf[used] = '\0';
    *data = steal_ptr(&buf);
    *len = used;
    return 0;
}

int ztar_store_member(struct archive *a, struct zstore *s, const char *digest, int64_t size,
                      const char *what, struct zerr *e)
{
    struct zblob_writer *w;
    uint64_t resume = 0;
    _cleanup_free_ char *buf = NULL;
    if (zblob_begin(s, digest, size, &w, &resume, e) < 0)
        return zerr_prefix(e, "%s", what);
    if (zblob_present(w))
        return zblob_commit(w, e);
    /* A partial left by an interrupted import: the member is read from its
     * start anyway, so start the blob over. */
    if (resume > 0 && zblob_restart(w, e) < 0) {
        zblob_abort(w, false);
        return zerr_prefix(e, "%s", what);
    }
    buf = malloc(ZTAR_BLOCK);
    if (!buf) {
        zblob_abort(w, false);
        return zerr_set(e, ENOMEM, "%s: out of memory", what);
    }
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, ZTAR_BLOCK);
        if (n < 0) {
            zblob_abort(w, false);
            return read_error(a, what, e);
        }
        if (n == 0)
            break;
        if (zblob_write(w, buf, (size_t)n, e) < 0) {
            zblob_abort(w, false);
            return zerr_prefix(e, "%s", what);
        }
    }
    if (zblob_commit(w, e) < 0)
        return zerr_prefix(e, "%s", what);
    return 0;
}

int ztar_hash_member(struct archive *a, const char *what, char digest[ZDIGEST_MAX],
                     int64_t *size, unsigned char *head, struct zerr *e)
{
    struct zdigester *d = zdigester_new();
    _cleanup_free_ char *buf = malloc(ZTAR_BLOCK);
    int64_t total = 0;
    if (!d || !buf) {
        zdigester_free(d);
        return zerr_set(e, ENOMEM, "%s: out of memory", what);
    }
    if (head)
        memset(head, 0, ZTAR_HEAD);
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, ZTAR_BLOCK);
        if (n < 0) {
            zdigester_free(d);
            return read_error(a, what, e);
        }
        if (n == 0)
            break;
        if (head && total < ZTAR_HEAD)
            memcpy(head + total, buf, (size_t)n < ZTAR_HEAD - (size_t)total ? (size_t)n
                                                                         : ZTAR_HEAD - (size_t)total);
        zdigester_update(d, buf, (size_t)n);
        total += n;
    }
    zdigester_final(d, digest);
    zdigester_free(d);
    *size = total;
    return 0;
}

bool ztar_blob_name(const char *name, char digest[ZDIGEST_MAX])
{
    static const char prefix[] = "blobs/sha256/";
    struct zerr ignored;
    if (strncmp(name, prefix, sizeof prefix - 1) || strlen(name) != sizeof prefix - 1 + 64)
        return false;
    snprintf(digest, ZDIGEST_MAX, "sha256:%s", name + sizeof prefix - 1);
    return zdigest_check(digest, NULL, &ignored) == 0;
}

int zlayer_media_type(const unsigned char *head, size_t n, const char **mt, const char *what,
                      struct zerr *e)
{
    if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        *mt = ZMT_OCI_LAYER_GZ;
    else if (n >= 4 && !memcmp(head, "\x28\xb5\x2f\xfd", 4))
        *mt = ZMT_OCI_LAYER_ZST;
    else if ((n >= 6 && !memcmp(head, "\xfd" "7zXZ", 5)) || (n >= 3 && !memcmp(head, "BZh", 3)))
        return zerr_set(e, ENOTSUP, "%s: compressed with xz or bzip2, which OCI layers cannot "
                        "declare (only gzip and zstd)", what);
    else
        *mt = ZMT_OCI_LAYER;
    return 0;
}

int zdecompress_file(const char *path, zchunk_fn fn, void *ctx, struct zerr *e)
{
    struct archive *a;
    struct archive_entry *ent;
    _cleanup_free_ char *buf = NULL;
    int r = 0;
    if (check_input(path, e) < 0)
        return -1;
    a = archive_read_new();
    buf = malloc(ZTAR_BLOCK);
    if (!a || !buf) {
        if (a)
            archive_read_free(a);
        return zerr_set(e, ENOMEM, "%s: out of memory", path);
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, path, ZTAR_BLOCK) != ARCHIVE_OK ||
        archive_read_next_header(a, &ent) != ARCHIVE_OK) {
        int err = archive_errno(a);
        r = zerr_set(e, err > 0 ? err : EINVAL, "%s: %s", path, archive_error_string(a));
        goto out;
    }
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, ZTAR_BLOCK);
        if (n < 0) {
            int err = archive_errno(a);
            r = zerr_set(e, err > 0 ? err : EIO, "%s: %s", path, archive_error_string(a));
            break;
        }
        if (n == 0)
            break;
        if ((r = fn(ctx, buf, (size_t)n, e)) < 0)
            break;
    }
out:
    archive_read_free(a);
    return r;
}

int ztar_store_if_digest(struct archive *a, struct zstore *s, const char *expect, int64_t size,
                         const char *what, char digest[ZDIGEST_MAX], unsigned char *head,
                         struct zerr *e)
{
    struct zblob_writer *w;
    struct zdigester *d = NULL;
    _cleanup_free_ char *buf = malloc(ZTAR_BLOCK);
    uint64_t resume = 0;
    int64_t total = 0;
    if (!buf)
        return zerr_set(e, ENOMEM, "%s: out of memory", what);
    if (zblob_begin(s, expect, size, &w, &resume, e) < 0)
        return zerr_prefix(e, "%s", what);
    if ((resume > 0 && zblob_restart(w, e) < 0) || !(d = zdigester_new())) {
        zblob_abort(w, false);
        return d ? zerr_prefix(e, "%s", what) : zerr_set(e, ENOMEM, "%s: out of memory", what);
    }
    memset(head, 0, ZTAR_HEAD);
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, ZTAR_BLOCK);
        if (n < 0) {
            zdigester_free(d);
            zblob_abort(w, false);
            return read_error(a, what, e);
        }
        if (n == 0)
            break;
        if (total < ZTAR_HEAD)
            memcpy(head + total, buf, (size_t)n < ZTAR_HEAD - (size_t)total ? (size_t)n
                                                                         : ZTAR_HEAD - (size_t)total);
        zdigester_update(d, buf, (size_t)n);
        total += n;
        if (zblob_write(w, buf, (size_t)n, e) < 0) {
            zdigester_free(d);
            zblob_abort(w, false);
            return zerr_prefix(e, "%s", what);
        }
    }
    zdigester_final(d, digest);
    zdigester_free(d);
    if (strcmp(digest, expect)) {
        zblob_abort(w, false);
        return 1;
    }
    if (zblob_commit(w, e) < 0)
        return zerr_prefix(e, "%s", what);
    return 0;
}
