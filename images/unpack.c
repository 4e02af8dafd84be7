/* Layer unpack: the stream and the entry loop (see unpack.h).
 *
 * Two libarchive readers are chained so that the layer's diff_id (sha256
 * of the *uncompressed* tar) is computed in the same streaming pass that
 * unpacks it:
 *
 *   blob fd -> [outer: gzip/zstd filter, "raw" format] -> hash -> [inner:
 *   tar format only, no filters] -> entries
 *
 * The outer reader detects the compression from the content (gzip, zstd or
 * none; other filters are not enabled, so nothing is handed to an external
 * program) and yields the decompressed bytes; its data is the inner
 * reader's input, hashed on the way. Only the tar format (ustar, pax, GNU)
 * is enabled in the inner reader, so zip, cpio, 7z and the others are
 * refused rather than parsed. When the tar reader stops at the end-of-
 * archive blocks the rest of the stream is read and hashed too, since the
 * diff_id covers every byte. */
#include "images/unpack_private.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"

#define STREAM_BUF (128 * 1024)

struct stream {
    struct archive *outer;
    struct zdigester *dg;
    unsigned char *buf;
    unsigned char head[8];      /* first bytes, to name a foreign format */
    size_t head_len;
    uint64_t total;
    bool eof;
    char err[512];              /* the outer reader's error, if any */
};

static la_ssize_t stream_read(struct archive *inner, void *data, const void **out)
{
    struct stream *s = data;
    la_ssize_t n;

    if (s->eof)
        return 0;
    n = archive_read_data(s->outer, s->buf, STREAM_BUF);
    if (n < 0) {
        const char *msg = archive_error_string(s->outer);
        snprintf(s->err, sizeof s->err, "%s", msg ? msg : "decompression failed");
        archive_set_error(inner, EIO, "%s", s->err);
        return -1;
    }
    if (n == 0)
        s->eof = true;
    if (s->head_len < sizeof s->head) {
        size_t take = sizeof s->head - s->head_len;
        if (take > (size_t)n)
            take = (size_t)n;
        memcpy(s->head + s->head_len, s->buf, take);
        s->head_len += take;
    }
    zdigester_update(s->dg, s->buf, (size_t)n);
    s->total += (uint64_t)n;
    *out = s->buf;
    return n;
}

/* Names what the stream looks like when it is not a tar. */
static const char *foreign_format(const struct stream *s)
{
    static const struct { const char *magic; size_t len; const char *name; } known[] = {
        { "PK\003\004", 4, "a zip archive" }, { "PK\005\006", 4, "an empty zip archive" },
        { "070707", 6, "a cpio archive" }, { "070701", 6, "a cpio archive" },
        { "070702", 6, "a cpio archive" }, { "\xc7\x71", 2, "a binary cpio archive" },
        { "\x71\xc7", 2, "a binary cpio archive" }, { "7z\xbc\xaf\x27\x1c", 6, "a 7-zip archive" },
        { "Rar!", 4, "a RAR archive" }, { "!<arch>", 7, "an ar archive" },
        { "BZh", 3, "bzip2 data (not supported)" }, { "\xfd" "7zXZ", 5, "xz data (not supported)" },
        { "\x1f\x8b", 2, "gzip data compressed twice" },
        { "\x28\xb5\x2f\xfd", 4, "zstd data compressed twice" },
    };
    for (size_t i = 0; i < ZARRAY_SIZE(known); i++)
        if (s->head_len >= known[i].len && !memcmp(s->head, known[i].magic, known[i].len))
            return known[i].name;
    return NULL;
}

static int open_stream(struct stream *s, int fd, const char *blob_path, struct zerr *e)
{
    struct archive_entry *raw_entry;

    s->dg = zdigester_new();
    s->buf = malloc(STREAM_BUF);
    s->outer = archive_read_new();
    if (!s->dg || !s->buf || !s->outer)
        return zerr_set(e, ENOMEM, "out of memory");
    if (archive_read_support_filter_gzip(s->outer) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(s->outer) != ARCHIVE_OK ||
        archive_read_support_format_raw(s->outer) != ARCHIVE_OK ||
        archive_read_support_format_empty(s->outer) != ARCHIVE_OK)
        return zerr_set(e, ENOTSUP, "libarchive: %s", archive_error_string(s->outer));
    if (archive_read_open_fd(s->outer, fd, STREAM_BUF) != ARCHIVE_OK)
        return zerr_set(e, EIO, "%s: %s", blob_path, archive_error_string(s->outer));
    switch (archive_read_next_header(s->outer, &raw_entry)) {
    case ARCHIVE_OK:
    case ARCHIVE_WARN:
        break;
    case ARCHIVE_EOF:           /* an empty blob */
        s->eof = true;
        break;
    default:
        return zerr_set(e, EIO, "%s: %s", blob_path, archive_error_string(s->outer));
    }
    /* The bottom "none" filter plus at most one decompressor. */
    if (archive_filter_count(s->outer) > 2)
        return zerr_set(e, EINVAL, "compressed more than once (%s over %s)",
                        archive_filter_name(s->outer, 0), archive_filter_name(s->outer, 1));
    return 0;
}

static void close_stream(struct stream *s)
{
    if (s->outer)
        archive_read_free(s->outer);
    zdigester_free(s->dg);
    free(s->buf);
}

static int drain_stream(struct stream *s, struct archive *inner, struct zerr *e)
{
    const void *ignored;
    while (!s->eof)
        if (stream_read(inner, s, &ignored) < 0)
            return zerr_set(e, EIO, "reading the rest of the stream: %s", s->err);
    return 0;
}

static int check_diff_id(struct stream *s, const char *expect, struct zerr *e)
{
    char got[ZDIGEST_MAX];
    zdigester_final(s->dg, got);
    if (strcmp(got, expect))
        return zerr_set(e, EINVAL, "diff_id mismatch: the uncompressed layer is %s, "
                        "the image config says %.100s", got, expect);
    return 0;
}

static int unpack_one(struct zu_ctx *c, struct archive_entry *ae)
{
    _cleanup_free_ char *name = NULL;
    const char *raw = archive_entry_pathname(ae);

    if (!raw)
        raw = archive_entry_pathname_utf8(ae);
    if (!raw)
        return zerr_set(c->e, EINVAL, "entry %llu: unreadable name",
                        (unsigned long long)c->st->entries);
    if (!(name = zu_clean_name(raw, "entry", c->e)))
        return -1;
    if (*name && zu_is_whiteout(name))
        return zu_whiteout(c, name, raw);
    return zu_entry(c, ae, name, raw);
}

static int unpack_entries(struct zu_ctx *c, struct stream *s, struct zerr *e)
{
    struct archive_entry *ae;
    int r;

    c->ar = archive_read_new();
    if (!c->ar)
        return zerr_set(e, ENOMEM, "out of memory");
    if (archive_read_support_format_tar(c->ar) != ARCHIVE_OK ||
        archive_read_support_format_empty(c->ar) != ARCHIVE_OK)
        return zerr_set(e, ENOTSUP, "libarchive: %s", archive_error_string(c->ar));
    if (archive_read_open(c->ar, s, NULL, stream_read, NULL) != ARCHIVE_OK)
        goto archive_error;
    while ((r = archive_read_next_header(c->ar, &ae)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN)
            goto archive_error;
        if (c->st->entries == 0 && archive_format(c->ar) == ARCHIVE_FORMAT_EMPTY)
            break;
        if (unpack_one(c, ae) < 0)
            return -1;
        c->st->entries++;
    }
    if (drain_stream(s, c->ar, e) < 0)
        return -1;
    return zu_finish_dirs(c);

archive_error:
    if (s->err[0])
        return zerr_set(e, EIO, "%s", s->err);
    if (c->st->entries == 0 && foreign_format(s))
        return zerr_set(e, EINVAL, "not a tar archive: the content is %s", foreign_format(s));
    return zerr_set(e, EINVAL, "%s%s", c->st->entries == 0 ? "not a tar archive: " : "",
                    archive_error_string(c->ar) ? archive_error_string(c->ar) : "read error");
}

int zunpack_layer(int dirfd, const char *blob_path, const char *what,
                  const struct zunpack_opts *o, struct zunpack_stats *st, struct zerr *e)
{
    struct zunpack_stats local = {0};
    struct stream s = {0};
    struct zu_ctx c = { .root = -1, .o = o, .e = e };
    _cleanup_close_ int blob = -1;
    struct stat rst;
    int ret = -1;

    if (!what)
        what = blob_path;
    c.what = what;
    c.st = st ? st : &local;
    *c.st = (struct zunpack_stats){0};
    if (o->expect_diff_id && zdigest_check(o->expect_diff_id, "expected diff_id", e) < 0)
        return zerr_prefix(e, "%s", what);
    c.root = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.root < 0 || fstat(c.root, &rst) < 0) {
        zerr_sys(e, "%s: opening the target directory", what);
        goto out;
    }
    c.root_dev = rst.st_dev;
    c.root_ino = rst.st_ino;
    blob = open(blob_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (blob < 0) {
        zerr_sys(e, "%s: %s", what, blob_path);
        goto out;
    }
    if (open_stream(&s, blob, blob_path, e) < 0 || unpack_entries(&c, &s, e) < 0 ||
        (o->expect_diff_id && check_diff_id(&s, o->expect_diff_id, e) < 0)) {
        zerr_prefix(e, "%s", what);
        goto out;
    }
    ret = 0;
out:
    if (c.ar)
        archive_read_free(c.ar);
    close_stream(&s);
    zu_strset_free(&c.touched);
    zu_dirs_free(&c);
    if (c.lower_fds) {
        for (size_t i = 0; i < o->n_lower_dirs; i++)
            if (c.lower_fds[i] >= 0)
                close(c.lower_fds[i]);
        free(c.lower_fds);
    }
    if (c.root >= 0)
        close(c.root);
    return ret;
}
