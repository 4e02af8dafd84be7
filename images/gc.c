/* Garbage collection of the store, mark and sweep under the exclusive
 * store lock (so no pull, import or run is between writing blobs and using
 * or tagging them):
 *
 *   roots   every tag target, and the "manifest" of every developer
 *           container record (<store>/containers/<id>/container.json)
 *   mark    root -> (index -> this store's manifests) -> config + layers
 *           (blobs), and the config's diff_ids -> layers/<hex> dirs
 *   sweep   unmarked blobs and layer dirs, tmp-* leftovers of interrupted
 *           writers, and ingest partials untouched for 24 hours whose lock
 *           nobody holds
 *
 * A root whose documents cannot be read for a reason other than being
 * missing or malformed (ENOMEM, EMFILE, EACCES...) stops the gc before
 * anything is removed: a transient error must never cost an image. */
#include "images/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "images/manifest.h"
#include "images/store_private.h"
#include "images/userns.h"

#define PARTIAL_MAX_AGE (24 * 60 * 60)
#define RECORD_MAX (1u << 20)

/* ----------------------------------------------------- container records */

void zstore_container_refs_free(struct zcontainer_ref *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].id);
    free(v);
}

/* The "manifest" digest of one record, or "" when it has none. */
static void record_manifest(int dirfd, const char *id, char out[ZDIGEST_MAX])
{
    char name[NAME_MAX + 32];
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buf = NULL;
    struct zjson_doc *doc;
    struct zerr e;
    struct stat st;
    ssize_t got;

    out[0] = '\0';
    snprintf(name, sizeof name, "%s/container.json", id);
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RECORD_MAX)
        return;
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return;
    got = read(fd, buf, (size_t)st.st_size);
    if (got < 0)
        return;
    doc = zjson_parse(buf, (size_t)got, &e);
    if (!doc)
        return;
    const struct zjson *m = zjson_get(zjson_root(doc), "manifest");
    if (m && m->type == ZJSON_STRING && strlen(m->u.str) == m->len &&
        zdigest_check(m->u.str, NULL, &e) == 0)
        snprintf(out, ZDIGEST_MAX, "%s", m->u.str);
    zjson_doc_free(doc);
}

int zstore_container_refs(struct zstore *s, struct zcontainer_ref **out, size_t *n,
                          struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct zcontainer_ref *v = NULL;
    size_t count = 0, cap = 0;
    struct dirent *de;
    int fd;

    *out = NULL;
    *n = 0;
    fd = openat(s->dirfd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return zerr_sys(e, "%s/containers", s->dir);
    }
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return zerr_sys(e, "%s/containers", s->dir);
    }
    while ((errno = 0, de = readdir(d))) {
        char digest[ZDIGEST_MAX];
        if (de->d_name[0] == '.')
            continue;
        record_manifest(dirfd(d), de->d_name, digest);
        if (!digest[0])
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct zcontainer_ref *nv = realloc(v, ncap * sizeof *nv);
            if (!nv)
                goto nomem;
            v = nv;
            cap = ncap;
        }
        v[count].id = strdup(de->d_name);
        if (!v[count].id)
            goto nomem;
        memcpy(v[count].manifest, digest, ZDIGEST_MAX);
        count++;
    }
    if (errno) {
        zstore_container_refs_free(v, count);
        return zerr_sys(e, "%s/containers: read", s->dir);
    }
    *out = v;
    *n = count;
    return 0;
nomem:
    zstore_container_refs_free(v, count);
    return zerr_sys(e, "%s/containers", s->dir);
}

/* --------------------------------------------------------------- marking */

struct hexset { char (*v)[65]; size_t n, cap; };

static int hexset_add(struct hexset *h, const char *digest, struct zerr *e)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 64;
        char (*nv)[65] = realloc(h->v, ncap * sizeof *nv);
        if (!nv)
            return zerr_sys(e, "gc");
        h->v = nv;
        h->cap = ncap;
    }
    memcpy(h->v[h->n++], zdigest_hex(digest), 65);
    return 0;
}

static int hex_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool hexset_has(const struct hexset *h, const char *hex)
{
    return h->n && bsearch(hex, h->v, h->n, sizeof *h->v, hex_cmp);
}

/* Errors that mean "this document is gone or broken", after which its
 * children cannot be known; anything else aborts the gc. */
static bool tolerable(const struct zerr *e)
{
    switch (e->code) {
    case ENOENT: case EINVAL: case EIO: case ENOTSUP: case EFBIG: case E2BIG: case 0:
        return true;
    default:
        return false;
    }
}

static int mark_manifest(struct zstore *s, const char *digest, struct hexset *blobs,
                         struct hexset *layers, int depth, struct zerr *e)
{
    _cleanup_free_ char *json = NULL;
    struct zerr de = {0};
    char what[ZDIGEST_MAX + 16];
    size_t len;
    int r = 0;

    if (hexset_add(blobs, digest, e) < 0)
        return -1;
    if (zstore_read_blob(s, digest, ZMANIFEST_MAX, &json, &len, &de) < 0)
        goto check;
    snprintf(what, sizeof what, "manifest %s", digest);
    if (zdoc_kind_of(json, len, NULL) == ZDOC_INDEX) {
        struct zindex x;
        if (depth > 2) /* an index of indexes of indexes: nothing sane */
            return 0;
        if (zindex_parse(json, len, what, &x, &de) < 0)
            goto check;
        for (size_t i = 0; i < x.n_manifests && r == 0; i++)
            if (zstore_has_blob(s, x.manifests[i].digest))
                r = mark_manifest(s, x.manifests[i].digest, blobs, layers, depth + 1, e);
        zindex_free(&x);
        return r;
    }
    struct zmanifest m;
    struct zimage_config c;
    if (zmanifest_parse(json, len, what, &m, &de) < 0)
        goto check;
    if (hexset_add(blobs, m.config.digest, e) < 0)
        r = -1;
    for (size_t i = 0; i < m.n_layers && r == 0; i++)
        r = hexset_add(blobs, m.layers[i].digest, e);
    free(json);
    json = NULL;
    if (r == 0 && zstore_read_blob(s, m.config.digest, ZMANIFEST_MAX, &json, &len, &de) == 0) {
        if (zimage_config_parse(json, len, "config", &c, &de) == 0) {
            for (size_t i = 0; i < c.n_diff_ids && r == 0; i++)
                r = hexset_add(layers, c.diff_ids[i], e);
            zimage_config_free(&c);
        }
    }
    zmanifest_free(&m);
    if (r < 0)
        return -1;
check:
    if (!tolerable(&de)) {
        *e = de;
        return zerr_prefix(e, "gc: cannot tell what %s references", digest);
    }
    return 0;
}

/* -------------------------------------------------------------- sweeping */

static bool is_hex64(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

/* rm -rf of dirfd/name, adding regular file sizes to *bytes. Directories
 * without search/write permission (possible in layers) are opened up. */
static int remove_tree(int parent, const char *name, uint64_t *bytes, struct zerr *e)
{
    struct stat st;
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    int fd;

    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : zerr_sys(e, "gc: stat %s", name);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
            return zerr_sys(e, "gc: remove %s", name);
        if (S_ISREG(st.st_mode))
            *bytes += (uint64_t)st.st_size;
        return 0;
    }
    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && fchmodat(parent, name, 0700, 0) == 0)
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "gc: open %s", name);
    if ((st.st_mode & 0700) != 0700)
        fchmod(fd, 0700);
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return zerr_sys(e, "gc: open %s", name);
    }
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (remove_tree(dirfd(d), de->d_name, bytes, e) < 0)
            return zerr_prefix(e, "%s", name);
    }
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return zerr_sys(e, "gc: remove %s", name);
    return 0;
}

/* A layer directory: rootless, its files belong to the user's subordinate
 * ids, so it is removed as root of the user's user namespace; the byte
 * count comes back through a shared page. */
struct layer_removal { int parent; const char *name; uint64_t *bytes; };

static int layer_removal_run(void *arg, struct zerr *e)
{
    struct layer_removal *l = arg;
    return remove_tree(l->parent, l->name, l->bytes, e);
}

static int remove_layer_tree(int parent, const char *name, uint64_t *bytes, struct zerr *e)
{
    if (!zuserns_wanted())
        return remove_tree(parent, name, bytes, e);
    uint64_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return zerr_sys(e, "gc: mmap");
    *shared = 0;
    struct layer_removal l = { parent, name, shared };
    int rc = zuserns_run(layer_removal_run, &l, e);
    *bytes += *shared;
    munmap(shared, sizeof *shared);
    return rc;
}

static int open_dir(int dirfd, const char *name, DIR **out, struct zerr *e)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "gc: open %s", name);
    *out = fdopendir(fd);
    if (!*out) {
        close(fd);
        return zerr_sys(e, "gc: open %s", name);
    }
    return 0;
}

static int sweep_blobs(struct zstore *s, const struct hexset *keep, struct zgc_report *r,
                       struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    if (open_dir(s->blobs_fd, ".", &d, e) < 0)
        return -1;
    while ((de = readdir(d))) {
        uint64_t bytes = 0;
        if (!strncmp(de->d_name, "tmp-", 4)) {
            if (remove_tree(s->blobs_fd, de->d_name, &bytes, e) < 0)
                return -1;
            r->partials_removed++;
        } else if (is_hex64(de->d_name) && !hexset_has(keep, de->d_name)) {
            if (remove_tree(s->blobs_fd, de->d_name, &bytes, e) < 0)
                return -1;
            r->blobs_removed++;
        }
        r->bytes_freed += bytes;
    }
    return 0;
}

static int sweep_layers(struct zstore *s, const struct hexset *keep, struct zgc_report *r,
                        struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    if (open_dir(s->layers_fd, ".", &d, e) < 0)
        return -1;
    while ((de = readdir(d))) {
        uint64_t bytes = 0;
        if (!strncmp(de->d_name, "tmp-", 4)) {
            if (remove_layer_tree(s->layers_fd, de->d_name, &bytes, e) < 0)
                return -1;
            r->partials_removed++;
        } else if (is_hex64(de->d_name) && !hexset_has(keep, de->d_name)) {
            if (remove_layer_tree(s->layers_fd, de->d_name, &bytes, e) < 0)
                return -1;
            r->layers_removed++;
        }
        r->bytes_freed += bytes;
    }
    return 0;
}

/* An ingest entry whose lock nobody holds (we take it, non-blocking, and
 * keep it while removing so no writer starts on it meanwhile). */
static int sweep_ingest(struct zstore *s, struct zgc_report *r, struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    time_t now = time(NULL);

    if (open_dir(s->ingest_fd, ".", &d, e) < 0)
        return -1;
    while ((de = readdir(d))) {
        char lock_name[NAME_MAX + 1];
        const char *dot = strrchr(de->d_name, '.');
        struct stat st;
        _cleanup_close_ int lock = -1;
        size_t stem;

        if (!dot || strcmp(dot, ".partial"))
            continue;
        stem = (size_t)(dot - de->d_name);
        if (fstatat(s->ingest_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (now - st.st_mtime < PARTIAL_MAX_AGE)
            continue;
        snprintf(lock_name, sizeof lock_name, "%.*s.lock", (int)stem, de->d_name);
        lock = openat(s->ingest_fd, lock_name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lock < 0)
            continue;
        if (flock(lock, LOCK_EX | LOCK_NB) < 0)
            continue;   /* a writer is on it */
        if (unlinkat(s->ingest_fd, de->d_name, 0) < 0 && errno != ENOENT)
            return zerr_sys(e, "gc: remove ingest/%s", de->d_name);
        unlinkat(s->ingest_fd, lock_name, 0);
        r->partials_removed++;
        r->bytes_freed += (uint64_t)st.st_size;
    }
    /* locks of writers that crashed before writing anything */
    rewinddir(d);
    while ((de = readdir(d))) {
        const char *dot = strrchr(de->d_name, '.');
        char partial[NAME_MAX + 1];
        struct stat st;
        _cleanup_close_ int lock = -1;
        if (!dot || strcmp(dot, ".lock"))
            continue;
        snprintf(partial, sizeof partial, "%.*s.partial", (int)(dot - de->d_name), de->d_name);
        if (fstatat(s->ingest_fd, partial, &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        lock = openat(s->ingest_fd, de->d_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
            unlinkat(s->ingest_fd, de->d_name, 0);
    }
    return 0;
}

static int sweep_top_tmp(struct zstore *s, struct zgc_report *r, struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    if (open_dir(s->dirfd, ".", &d, e) < 0)
        return -1;
    while ((de = readdir(d))) {
        uint64_t bytes = 0;
        if (strncmp(de->d_name, "tmp-", 4))
            continue;
        if (remove_tree(s->dirfd, de->d_name, &bytes, e) < 0)
            return -1;
        r->partials_removed++;
        r->bytes_freed += bytes;
    }
    return 0;
}

int zstore_gc(struct zstore *s, struct zgc_report *r, struct zerr *e)
{
    struct hexset blobs = {0}, layers = {0};
    struct ztag *tags = NULL;
    struct zcontainer_ref *refs = NULL;
    size_t n_tags = 0, n_refs = 0;
    struct zgc_report local;
    int rc = -1;

    if (!r)
        r = &local;
    memset(r, 0, sizeof *r);
    if (zstore_lock(s, true, e) < 0)
        return -1;
    if (zstore_tag_list(s, &tags, &n_tags, e) < 0 ||
        zstore_container_refs(s, &refs, &n_refs, e) < 0)
        goto out;
    for (size_t i = 0; i < n_tags; i++)
        if (mark_manifest(s, tags[i].digest, &blobs, &layers, 0, e) < 0)
            goto out;
    for (size_t i = 0; i < n_refs; i++)
        if (mark_manifest(s, refs[i].manifest, &blobs, &layers, 0, e) < 0)
            goto out;
    if (blobs.n)
        qsort(blobs.v, blobs.n, sizeof *blobs.v, hex_cmp);
    if (layers.n)
        qsort(layers.v, layers.n, sizeof *layers.v, hex_cmp);
    if (sweep_blobs(s, &blobs, r, e) < 0 || sweep_layers(s, &layers, r, e) < 0 ||
        sweep_ingest(s, r, e) < 0 || sweep_top_tmp(s, r, e) < 0)
        goto out;
    rc = 0;
out:
    zstore_unlock(s);
    zstore_tag_list_free(tags, n_tags);
    zstore_container_refs_free(refs, n_refs);
    free(blobs.v);
    free(layers.v);
    return rc;
}
