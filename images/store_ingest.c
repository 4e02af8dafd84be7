/* The streaming, resumable blob writer (zblob_*): ingest/<hex>.partial
 * holds what has arrived, ingest/<hex>.lock (flock) lets one writer per
 * digest at a time. The lock file is removed by the writer that holds it
 * when it finishes; a writer that waited re-checks after locking that the
 * file it locked is still the one at the path, so two writers can never
 * each hold a different lock for the same digest. */
#include "images/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "images/store_private.h"

struct zblob_writer {
    struct zstore *s;
    char digest[ZDIGEST_MAX];
    char lock_name[80], partial_name[80];
    int64_t size;           /* -1 = unknown */
    int lock_fd, fd;
    uint64_t written;       /* bytes in the partial */
    struct zdigester *hash; /* over those bytes */
    bool present;           /* blob already stored: nothing to do */
};

bool zblob_present(const struct zblob_writer *w)
{
    return w->present;
}

uint64_t zblob_written(const struct zblob_writer *w)
{
    return w->written;
}

static void writer_free(struct zblob_writer *w, bool remove_partial)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (remove_partial)
        unlinkat(w->s->ingest_fd, w->partial_name, 0);
    if (w->lock_fd >= 0) {
        /* unlink while holding: waiters notice (inode check) and retry */
        unlinkat(w->s->ingest_fd, w->lock_name, 0);
        close(w->lock_fd);
    }
    zdigester_free(w->hash);
    free(w);
}

/* Opens and flocks ingest/<hex>.lock, waiting for another writer. */
static int take_ingest_lock(struct zblob_writer *w, struct zerr *e)
{
    for (;;) {
        struct stat held, now;
        int fd = openat(w->s->ingest_fd, w->lock_name,
                        O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return zerr_sys(e, "blob %s: open ingest lock", w->digest);
        while (flock(fd, LOCK_EX) < 0) {
            if (errno != EINTR) {
                zerr_sys(e, "blob %s: lock ingest", w->digest);
                close(fd);
                return -1;
            }
        }
        if (fstat(fd, &held) == 0 &&
            fstatat(w->s->ingest_fd, w->lock_name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
            held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
            w->lock_fd = fd;
            return 0;
        }
        close(fd);   /* the previous holder removed it: lock the new one */
    }
}

/* Rebuilds the hash state from what a previous writer left. */
static int rehash_partial(struct zblob_writer *w, struct zerr *e)
{
    char buf[65536];
    uint64_t off = 0;
    struct stat st;

    if (fstat(w->fd, &st) < 0)
        return zerr_sys(e, "blob %s: stat partial", w->digest);
    if (w->size >= 0 && st.st_size > w->size) {
        /* longer than the blob can be: useless, start over */
        if (ftruncate(w->fd, 0) < 0)
            return zerr_sys(e, "blob %s: truncate partial", w->digest);
        st.st_size = 0;
    }
    while (off < (uint64_t)st.st_size) {
        ssize_t n = pread(w->fd, buf, sizeof buf, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zerr_sys(e, "blob %s: read partial", w->digest);
        if (n == 0)
            break;
        zdigester_update(w->hash, buf, (size_t)n);
        off += (uint64_t)n;
    }
    if (ftruncate(w->fd, (off_t)off) < 0 || lseek(w->fd, (off_t)off, SEEK_SET) < 0)
        return zerr_sys(e, "blob %s: seek partial", w->digest);
    w->written = off;
    return 0;
}

int zblob_begin(struct zstore *s, const char *digest, int64_t size,
                struct zblob_writer **out, uint64_t *resume_offset, struct zerr *e)
{
    struct zblob_writer *w;

    *out = NULL;
    if (resume_offset)
        *resume_offset = 0;
    if (zdigest_check(digest, "blob", e) < 0)
        return -1;
    w = calloc(1, sizeof *w);
    if (!w)
        return zerr_sys(e, "blob %s", digest);
    w->s = s;
    w->fd = w->lock_fd = -1;
    w->size = size < 0 ? -1 : size;
    snprintf(w->digest, sizeof w->digest, "%s", digest);
    snprintf(w->lock_name, sizeof w->lock_name, "%s.lock", zdigest_hex(digest));
    snprintf(w->partial_name, sizeof w->partial_name, "%s.partial", zdigest_hex(digest));

    if (zstore_has_blob(s, digest)) {
        w->present = true;
        *out = w;
        return 0;
    }
    if (take_ingest_lock(w, e) < 0)
        goto fail;
    if (zstore_has_blob(s, digest)) {   /* the writer we waited for finished */
        w->present = true;
        close(w->lock_fd);
        w->lock_fd = -1;   /* leave its file: its holder or gc removes it */
        *out = w;
        return 0;
    }
    w->hash = zdigester_new();
    if (!w->hash) {
        zerr_sys(e, "blob %s", digest);
        goto fail;
    }
    w->fd = openat(s->ingest_fd, w->partial_name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        zerr_sys(e, "blob %s: open partial", digest);
        goto fail;
    }
    if (rehash_partial(w, e) < 0)
        goto fail;
    if (resume_offset)
        *resume_offset = w->written;
    *out = w;
    return 0;
fail:
    writer_free(w, false);
    return -1;
}

int zblob_restart(struct zblob_writer *w, struct zerr *e)
{
    char discard[ZDIGEST_MAX];
    if (w->present)
        return 0;
    if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
        return zerr_sys(e, "blob %s: truncate partial", w->digest);
    zdigester_final(w->hash, discard);   /* resets the hash */
    w->written = 0;
    return 0;
}

int zblob_write(struct zblob_writer *w, const void *buf, size_t len, struct zerr *e)
{
    const char *p = buf;
    if (w->present)
        return 0;
    if (w->size >= 0 && (uint64_t)len > (uint64_t)w->size - w->written)
        return zerr_set(e, EFBIG, "blob %s: more data than the expected %lld bytes", w->digest,
                        (long long)w->size);
    zdigester_update(w->hash, buf, len);
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* the hash is ahead of the file now: the partial cannot be
             * trusted for resuming */
            int saved = errno;
            if (ftruncate(w->fd, 0) == 0 && lseek(w->fd, 0, SEEK_SET) == 0) {
                char discard[ZDIGEST_MAX];
                zdigester_final(w->hash, discard);
                w->written = 0;
            }
            errno = saved ? saved : EIO;
            return zerr_sys(e, "blob %s: write partial", w->digest);
        }
        p += n;
        len -= (size_t)n;
        w->written += (uint64_t)n;
    }
    return 0;
}

int zblob_commit(struct zblob_writer *w, struct zerr *e)
{
    char actual[ZDIGEST_MAX];
    bool took = false;
    int r = -1;

    if (w->present) {
        writer_free(w, false);
        return 0;
    }
    if (w->size >= 0 && w->written != (uint64_t)w->size) {
        zerr_set(e, EIO, "blob %s: size mismatch: got %llu bytes, expected %lld", w->digest,
                 (unsigned long long)w->written, (long long)w->size);
        writer_free(w, true);
        return -1;
    }
    zdigester_final(w->hash, actual);
    if (strcmp(actual, w->digest)) {
        zerr_set(e, EIO, "blob %s: digest mismatch: the content (%llu bytes) hashes to %s",
                 w->digest, (unsigned long long)w->written, actual);
        writer_free(w, true);
        return -1;
    }
    if (fsync(w->fd) < 0) {
        zerr_sys(e, "blob %s: fsync", w->digest);
        goto out;
    }
    if (zstore_lock_for_use(w->s, &took, e) < 0)
        goto out;
    if (renameat(w->s->ingest_fd, w->partial_name, w->s->blobs_fd, zdigest_hex(w->digest)) < 0) {
        zerr_sys(e, "blob %s: move into blobs/", w->digest);
        goto out;
    }
    char what[ZDIGEST_MAX + 8];
    snprintf(what, sizeof what, "blob %s", w->digest);
    if (zstore_fsync_dir(w->s->blobs_fd, what, e) < 0)
        goto out;
    r = 0;
out:
    if (took)
        zstore_unlock(w->s);
    /* on a failure after verification the partial is good: keep it */
    writer_free(w, false);
    return r;
}

void zblob_abort(struct zblob_writer *w, bool keep)
{
    if (!w)
        return;
    writer_free(w, !keep && !w->present);
}
