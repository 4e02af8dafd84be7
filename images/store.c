/* The image store: opening, the store lock, durable atomic writes, and
 * whole blobs. The resumable writer is in store_ingest.c, tags in
 * store_tags.c, gc in gc.c. Layout and rules: images/store.h. */
#include "images/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "images/store_private.h"

const char *zstore_default_dir(void)
{
    static char buf[PATH_MAX];
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");

    if (geteuid() == 0)
        return "/var/lib/zone";
    /* XDG says a relative $XDG_DATA_HOME is invalid and must be ignored */
    if (xdg && xdg[0] == '/') {
        snprintf(buf, sizeof buf, "%s/zone", xdg);
        return buf;
    }
    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(getuid());
        home = pw && pw->pw_dir ? pw->pw_dir : "/";
    }
    snprintf(buf, sizeof buf, "%s/.local/share/zone", home);
    return buf;
}

/* mkdir -p: parents 0755 (they are the user's own, e.g. ~/.local/share),
 * the last one with `mode`. */
static int mkdir_parents(const char *path, mode_t mode, struct zerr *e)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return zerr_set(e, ENAMETOOLONG, "store %s: path too long", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return zerr_sys(e, "store %s: create %s", path, buf);
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return zerr_sys(e, "store %s: create", path);
    return 0;
}

static int open_subdir(int dirfd, const char *name, const char *store, struct zerr *e)
{
    int fd;
    if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
        return zerr_sys(e, "store %s: create %s", store, name);
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "store %s: open %s", store, name);
    return fd;
}

int zstore_open(const char *dir, struct zstore **out, struct zerr *e)
{
    struct zstore *s;
    char abs[PATH_MAX];

    *out = NULL;
    if (!dir || !*dir)
        dir = zstore_default_dir();
    if (mkdir_parents(dir, 0700, e) < 0)
        return -1;
    if (!realpath(dir, abs))
        return zerr_sys(e, "store %s", dir);
    s = calloc(1, sizeof *s);
    if (!s)
        return zerr_sys(e, "store %s", dir);
    s->dirfd = s->blobs_fd = s->ingest_fd = s->layers_fd = s->lock_fd = -1;
    s->dir = strdup(abs);
    if (!s->dir) {
        zerr_sys(e, "store %s", dir);
        goto fail;
    }
    s->dirfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        zerr_sys(e, "store %s: open", abs);
        goto fail;
    }
    {
        _cleanup_close_ int blobs = open_subdir(s->dirfd, "blobs", abs, e);
        if (blobs < 0)
            goto fail;
        s->blobs_fd = open_subdir(blobs, "sha256", abs, e);
    }
    if (s->blobs_fd < 0)
        goto fail;
    s->ingest_fd = open_subdir(s->dirfd, "ingest", abs, e);
    if (s->ingest_fd < 0)
        goto fail;
    s->layers_fd = open_subdir(s->dirfd, "layers", abs, e);
    if (s->layers_fd < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    zstore_close(s);
    return -1;
}

void zstore_close(struct zstore *s)
{
    if (!s)
        return;
    if (s->lock_fd >= 0)
        close(s->lock_fd);   /* releases the flock too */
    if (s->layers_fd >= 0)
        close(s->layers_fd);
    if (s->ingest_fd >= 0)
        close(s->ingest_fd);
    if (s->blobs_fd >= 0)
        close(s->blobs_fd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->dir);
    free(s);
}

const char *zstore_dir(const struct zstore *s)
{
    return s->dir;
}

/* ------------------------------------------------------------------ lock */

static int flock_retry(int fd, int op)
{
    int r;
    do
        r = flock(fd, op);
    while (r < 0 && errno == EINTR);
    return r;
}

int zstore_lock(struct zstore *s, bool exclusive, struct zerr *e)
{
    if (s->lock_fd < 0) {
        s->lock_fd = openat(s->dirfd, "store.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (s->lock_fd < 0)
            return zerr_sys(e, "store %s: open store.lock", s->dir);
    }
    if (s->lock_depth > 0) {
        if (exclusive && s->lock_mode == ZLOCK_SHARED) {
            if (flock_retry(s->lock_fd, LOCK_EX) < 0)
                return zerr_sys(e, "store %s: lock store.lock", s->dir);
            s->lock_mode = ZLOCK_EXCLUSIVE;
        }
        s->lock_depth++;
        return 0;
    }
    if (flock_retry(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
        return zerr_sys(e, "store %s: lock store.lock", s->dir);
    s->lock_mode = exclusive ? ZLOCK_EXCLUSIVE : ZLOCK_SHARED;
    s->lock_depth = 1;
    return 0;
}

void zstore_unlock(struct zstore *s)
{
    if (s->lock_depth == 0)
        return;
    if (--s->lock_depth == 0) {
        flock_retry(s->lock_fd, LOCK_UN);
        s->lock_mode = ZLOCK_NONE;
    }
}

int zstore_lock_for_use(struct zstore *s, bool *took, struct zerr *e)
{
    *took = false;
    if (s->lock_depth > 0)
        return 0;
    if (zstore_lock(s, false, e) < 0)
        return -1;
    *took = true;
    return 0;
}

/* -------------------------------------------------------- atomic writes */

int zstore_fsync_dir(int dirfd, const char *what, struct zerr *e)
{
    if (fsync(dirfd) < 0 && errno != EINVAL && errno != EROFS)
        return zerr_sys(e, "%s: fsync directory", what);
    return 0;
}

int zstore_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
                        const char *what, struct zerr *e)
{
    static unsigned counter;
    char tmp[NAME_MAX + 1];
    const char *p = buf;
    _cleanup_close_ int fd = -1;

    for (int tries = 0; fd < 0; tries++) {
        snprintf(tmp, sizeof tmp, "tmp-%d-%u", (int)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));   /* threads pull in parallel */
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && (errno != EEXIST || tries > 100))
            return zerr_sys(e, "%s: create temporary file", what);
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            zerr_sys(e, "%s: write", what);
            goto fail;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0) {
        zerr_sys(e, "%s: fsync", what);
        goto fail;
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        zerr_sys(e, "%s: rename into place", what);
        goto fail;
    }
    return zstore_fsync_dir(dirfd, what, e);
fail:
    unlinkat(dirfd, tmp, 0);
    return -1;
}

/* ----------------------------------------------------------------- blobs */

bool zstore_has_blob(struct zstore *s, const char *digest)
{
    struct zerr e;
    struct stat st;
    if (zdigest_check(digest, NULL, &e) < 0)
        return false;
    return fstatat(s->blobs_fd, zdigest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
}

int zstore_blob_path(struct zstore *s, const char *digest, char *buf, size_t n, struct zerr *e)
{
    if (zdigest_check(digest, "blob", e) < 0)
        return -1;
    if (!zstore_has_blob(s, digest))
        return zerr_set(e, ENOENT, "blob %s is not in the store", digest);
    if ((size_t)snprintf(buf, n, "%s/blobs/sha256/%s", s->dir, zdigest_hex(digest)) >= n)
        return zerr_set(e, ENAMETOOLONG, "blob %s: path too long", digest);
    return 0;
}

int zstore_read_blob(struct zstore *s, const char *digest, size_t max, char **data,
                     size_t *len, struct zerr *e)
{
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buf = NULL;
    char actual[ZDIGEST_MAX];
    struct stat st;
    size_t got = 0;

    *data = NULL;
    if (len)
        *len = 0;
    if (zdigest_check(digest, "blob", e) < 0)
        return -1;
    fd = openat(s->blobs_fd, zdigest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return zerr_set(e, ENOENT, "blob %s is not in the store", digest);
        return zerr_sys(e, "blob %s: open", digest);
    }
    if (fstat(fd, &st) < 0)
        return zerr_sys(e, "blob %s: stat", digest);
    if (!S_ISREG(st.st_mode))
        return zerr_set(e, EINVAL, "blob %s: not a regular file", digest);
    if ((uint64_t)st.st_size > max)
        return zerr_set(e, EFBIG, "blob %s: %lld bytes, more than the %zu allowed", digest,
                        (long long)st.st_size, max);
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return zerr_sys(e, "blob %s", digest);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return zerr_sys(e, "blob %s: read", digest);
        if (r == 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    /* Small documents are checked on every read: a blob damaged on disk
     * must not be parsed as if it were the content its name promises. */
    zdigest_of(buf, got, actual);
    if (strcmp(actual, digest))
        return zerr_set(e, EIO, "blob %s is corrupt: its content hashes to %s", digest, actual);
    *data = steal_ptr(&buf);
    if (len)
        *len = got;
    return 0;
}

int zstore_put_blob(struct zstore *s, const void *data, size_t len, const char *expect,
                    char out[ZDIGEST_MAX], struct zerr *e)
{
    char digest[ZDIGEST_MAX], what[ZDIGEST_MAX + 16];
    bool took;
    int r;

    if (expect && zdigest_check(expect, "expected digest", e) < 0)
        return -1;
    zdigest_of(data, len, digest);
    if (expect && strcmp(expect, digest))
        return zerr_set(e, EINVAL, "blob %s: digest mismatch: the content hashes to %s",
                        expect, digest);
    if (out)
        memcpy(out, digest, ZDIGEST_MAX);
    if (zstore_has_blob(s, digest))
        return 0;
    if (zstore_lock_for_use(s, &took, e) < 0)
        return -1;
    snprintf(what, sizeof what, "blob %s", digest);
    r = zstore_write_atomic(s->blobs_fd, zdigest_hex(digest), data, len, what, e);
    if (took)
        zstore_unlock(s);
    return r;
}

/* ---------------------------------------------------------------- layers */

int zstore_layer_dir(struct zstore *s, const char *diff_id, char *buf, size_t n,
                     bool *complete, struct zerr *e)
{
    char marker[80];
    if (zdigest_check(diff_id, "layer diff_id", e) < 0)
        return -1;
    if ((size_t)snprintf(buf, n, "%s/layers/%s/rootfs", s->dir, zdigest_hex(diff_id)) >= n)
        return zerr_set(e, ENAMETOOLONG, "layer %s: path too long", diff_id);
    snprintf(marker, sizeof marker, "%s/complete", zdigest_hex(diff_id));
    if (complete)
        *complete = faccessat(s->layers_fd, marker, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    return 0;
}
