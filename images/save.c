/* zimage_save: a stored image out to an OCI layout directory, an
 * oci-archive or a docker-archive, in forms skopeo, podman and docker read.
 *
 * Output goes to a temporary name next to the target and is renamed into
 * place at the end, so a failed save leaves no half-written archive. A
 * target that is not a regular file (/dev/stdout, a pipe) is written
 * directly. Metadata is written before the layers, so zone's own import
 * reads its archives in one pass. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <yajl/yajl_gen.h>

#include "core/cleanup.h"
#include "images/reference.h"
#include "images/transfer_private.h"

#define COPY_BLOCK (1 << 16)

/* ---- where the files go: a directory or a tar ---- */

struct sink {
    const char *target;         /* for messages */
    int dirfd;                  /* directory sink, else -1 */
    struct archive *tar;        /* tar sink, else NULL */
    int fd;                     /* open file being written (directory sink) */
};

static int sink_begin(struct sink *k, const char *name, int64_t size, struct zerr *e)
{
    if (k->tar) {
        struct archive_entry *ent = archive_entry_new();
        int r;
        if (!ent)
            return zerr_set(e, ENOMEM, "out of memory");
        archive_entry_set_pathname(ent, name);
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, 0644);
        archive_entry_set_size(ent, size);
        archive_entry_set_mtime(ent, 0, 0);
        r = archive_write_header(k->tar, ent);
        archive_entry_free(ent);
        if (r != ARCHIVE_OK)
            return zerr_set(e, EIO, "%s: %s: %s", k->target, name, archive_error_string(k->tar));
        return 0;
    }
    k->fd = openat(k->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (k->fd < 0)
        return zerr_sys(e, "%s/%s", k->target, name);
    return 0;
}

static int sink_write(void *ctx, const void *buf, size_t len, struct zerr *e)
{
    struct sink *k = ctx;
    const char *p = buf;
    if (k->tar) {
        la_ssize_t n = archive_write_data(k->tar, buf, len);
        if (n < 0 || (size_t)n != len)
            return zerr_set(e, EIO, "%s: %s", k->target, archive_error_string(k->tar));
        return 0;
    }
    while (len) {
        ssize_t n = write(k->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zerr_sys(e, "%s: write", k->target);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int sink_end(struct sink *k, struct zerr *e)
{
    if (k->tar)
        return archive_write_finish_entry(k->tar) == ARCHIVE_OK
                   ? 0 : zerr_set(e, EIO, "%s: %s", k->target, archive_error_string(k->tar));
    if (close(k->fd) < 0) {
        k->fd = -1;
        return zerr_sys(e, "%s: close", k->target);
    }
    k->fd = -1;
    return 0;
}

static int sink_dir(struct sink *k, const char *name, struct zerr *e)
{
    if (k->tar) {
        struct archive_entry *ent = archive_entry_new();
        int r;
        if (!ent)
            return zerr_set(e, ENOMEM, "out of memory");
        archive_entry_set_pathname(ent, name);
        archive_entry_set_filetype(ent, AE_IFDIR);
        archive_entry_set_perm(ent, 0755);
        archive_entry_set_mtime(ent, 0, 0);
        r = archive_write_header(k->tar, ent);
        archive_entry_free(ent);
        return r == ARCHIVE_OK ? 0 : zerr_set(e, EIO, "%s: %s", k->target,
                                              archive_error_string(k->tar));
    }
    if (mkdirat(k->dirfd, name, 0755) < 0 && errno != EEXIST)
        return zerr_sys(e, "%s/%s", k->target, name);
    return 0;
}

static int sink_buffer(struct sink *k, const char *name, const void *buf, size_t len,
                       struct zerr *e)
{
    if (sink_begin(k, name, (int64_t)len, e) < 0)
        return -1;
    if (sink_write(k, buf, len, e) < 0) {
        if (!k->tar) {
            close(k->fd);
            k->fd = -1;
        }
        return -1;
    }
    return sink_end(k, e);
}

/* Copies a stored blob as it is. */
static int sink_blob(struct sink *k, struct zstore *s, const char *name, const char *digest,
                     struct zerr *e)
{
    char path[4096];
    struct stat st;
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buf = malloc(COPY_BLOCK);
    int r = 0;
    if (!buf)
        return zerr_set(e, ENOMEM, "out of memory");
    if (zstore_blob_path(s, digest, path, sizeof path, e) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return zerr_sys(e, "%s", path);
    if (sink_begin(k, name, st.st_size, e) < 0)
        return -1;
    for (off_t done = 0; done < st.st_size && r == 0;) {
        ssize_t n = read(fd, buf, COPY_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? zerr_sys(e, "%s", path) : zerr_set(e, EIO, "%s: shrank while copied", path);
            break;
        }
        if ((off_t)n > st.st_size - done)
            n = (ssize_t)(st.st_size - done);
        r = sink_write(k, buf, (size_t)n, e);
        done += n;
    }
    if (r < 0) {
        if (!k->tar) {
            close(k->fd);
            k->fd = -1;
        }
        return -1;
    }
    return sink_end(k, e);
}

/* ---- plain layers for docker-archive ---- */

struct count_state { struct zdigester *d; uint64_t size; };

static int count_chunk(void *ctx, const void *buf, size_t len, struct zerr *e)
{
    struct count_state *c = ctx;
    zdigester_update(c->d, buf, len);
    c->size += len;
    return 0;
}

/* Writes a layer uncompressed (docker-archive layers are plain tars named
 * by their diff_id). A compressed blob is read twice: once for the size the
 * tar header needs (and to check the diff_id), once to write it. */
static int sink_plain_layer(struct sink *k, struct zstore *s, const char *name,
                            const struct zdescriptor *d, const char *diff_id, struct zerr *e)
{
    struct count_state c = {0};
    char path[4096], actual[ZDIGEST_MAX];
    int r;
    if (!strcmp(d->digest, diff_id))
        return sink_blob(k, s, name, d->digest, e);
    if (zstore_blob_path(s, d->digest, path, sizeof path, e) < 0)
        return -1;
    c.d = zdigester_new();
    if (!c.d)
        return zerr_set(e, ENOMEM, "out of memory");
    r = zdecompress_file(path, count_chunk, &c, e);
    zdigester_final(c.d, actual);
    zdigester_free(c.d);
    if (r < 0)
        return zerr_prefix(e, "layer %s", d->digest);
    if (strcmp(actual, diff_id))
        return zerr_set(e, EINVAL, "layer %s: uncompressed content (%s) does not match the "
                        "config's diff_id %s", d->digest, actual, diff_id);
    if (sink_begin(k, name, (int64_t)c.size, e) < 0)
        return -1;
    if (zdecompress_file(path, sink_write, k, e) < 0) {
        if (!k->tar) {
            close(k->fd);
            k->fd = -1;
        }
        return -1;
    }
    return sink_end(k, e);
}

/* ---- documents ---- */

#define S(g, x) yajl_gen_string(g, (const unsigned char *)(x), strlen(x))

static int gen_take(yajl_gen g, char **out, size_t *len, struct zerr *e)
{
    const unsigned char *buf;
    size_t blen;
    yajl_gen_get_buf(g, &buf, &blen);
    *out = malloc(blen + 1);
    if (!*out) {
        yajl_gen_free(g);
        return zerr_set(e, ENOMEM, "out of memory");
    }
    memcpy(*out, buf, blen);
    (*out)[blen] = '\0';
    *len = blen;
    yajl_gen_free(g);
    return 0;
}

static int gen_index(const char *media_type, const char *digest, size_t size,
                     const char *ref_name, char **out, size_t *len, struct zerr *e)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return zerr_set(e, ENOMEM, "out of memory");
    yajl_gen_map_open(g);
    S(g, "schemaVersion"); yajl_gen_integer(g, 2);
    S(g, "mediaType"); S(g, ZMT_OCI_INDEX);
    S(g, "manifests");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    S(g, "mediaType"); S(g, media_type);
    S(g, "digest"); S(g, digest);
    S(g, "size"); yajl_gen_integer(g, (long long)size);
    if (ref_name && *ref_name) {
        S(g, "annotations");
        yajl_gen_map_open(g);
        S(g, ZANN_REF_NAME); S(g, ref_name);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return gen_take(g, out, len, e);
}

static int gen_docker_manifest(const char *config_name, const char *repo_tag,
                               char *const *layer_names, size_t n, char **out, size_t *len,
                               struct zerr *e)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return zerr_set(e, ENOMEM, "out of memory");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    S(g, "Config"); S(g, config_name);
    S(g, "RepoTags");
    yajl_gen_array_open(g);
    if (repo_tag && *repo_tag)
        S(g, repo_tag);
    yajl_gen_array_close(g);
    S(g, "Layers");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++)
        S(g, layer_names[i]);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    return gen_take(g, out, len, e);
}

/* ---- the formats ---- */

enum save_format { SAVE_OCI_DIR, SAVE_OCI_ARCHIVE, SAVE_DOCKER_ARCHIVE };

struct saved_image {
    struct zimage im;
    char name[1024];            /* normalized tag name, or "" */
    char *manifest; size_t manifest_len;
    const char *manifest_media_type;
};

static bool seen_before(const struct zdescriptor *layers, size_t i, const char *digest)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(layers[j].digest, digest))
            return true;
    return false;
}

static int write_oci(struct sink *k, struct zstore *s, const struct saved_image *si,
                     const char *ref_name, struct zerr *e)
{
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    const struct zmanifest *m = &si->im.manifest;
    _cleanup_free_ char *index = NULL;
    size_t index_len;
    char name[128];
    if (gen_index(si->manifest_media_type, si->im.manifest_digest, si->manifest_len, ref_name,
                  &index, &index_len, e) < 0)
        return -1;
    if (sink_buffer(k, "oci-layout", layout, sizeof layout - 1, e) < 0 ||
        sink_buffer(k, "index.json", index, index_len, e) < 0 ||
        sink_dir(k, "blobs", e) < 0 || sink_dir(k, "blobs/sha256", e) < 0)
        return -1;
    snprintf(name, sizeof name, "blobs/sha256/%s", si->im.manifest_digest + 7);
    if (sink_buffer(k, name, si->manifest, si->manifest_len, e) < 0)
        return -1;
    snprintf(name, sizeof name, "blobs/sha256/%s", m->config.digest + 7);
    if (sink_blob(k, s, name, m->config.digest, e) < 0)
        return -1;
    for (size_t i = 0; i < m->n_layers; i++) {
        if (seen_before(m->layers, i, m->layers[i].digest) ||
            !strcmp(m->layers[i].digest, m->config.digest))
            continue;
        snprintf(name, sizeof name, "blobs/sha256/%s", m->layers[i].digest + 7);
        if (sink_blob(k, s, name, m->layers[i].digest, e) < 0)
            return -1;
    }
    return 0;
}

static int write_docker(struct sink *k, struct zstore *s, const struct saved_image *si,
                        const char *repo_tag, struct zerr *e)
{
    const struct zmanifest *m = &si->im.manifest;
    const struct zimage_config *c = &si->im.config;
    char config_name[80];
    char **names;
    _cleanup_free_ char *manifest = NULL;
    size_t len;
    int r = -1;
    if (c->n_diff_ids != m->n_layers)
        return zerr_set(e, EINVAL, "image %s: the manifest has %zu layers but the config %zu "
                        "diff_ids", si->im.manifest_digest, m->n_layers, c->n_diff_ids);
    names = calloc(m->n_layers + 1, sizeof *names);
    if (!names)
        return zerr_set(e, ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_layers; i++)
        if (asprintf(&names[i], "%s.tar", c->diff_ids[i] + 7) < 0) {
            zerr_set(e, ENOMEM, "out of memory");
            goto out;
        }
    snprintf(config_name, sizeof config_name, "%s.json", m->config.digest + 7);
    if (gen_docker_manifest(config_name, repo_tag, names, m->n_layers, &manifest, &len, e) < 0 ||
        sink_buffer(k, "manifest.json", manifest, len, e) < 0 ||
        sink_blob(k, s, config_name, m->config.digest, e) < 0)
        goto out;
    for (size_t i = 0; i < m->n_layers; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= !strcmp(c->diff_ids[j], c->diff_ids[i]);
        if (!dup && sink_plain_layer(k, s, names[i], &m->layers[i], c->diff_ids[i], e) < 0)
            goto out;
    }
    r = 0;
out:
    for (size_t i = 0; i < m->n_layers; i++)
        free(names[i]);
    free(names);
    return r;
}

/* ---- targets ---- */

static int remove_tree_at(int parent_fd, const char *name)
{
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;
    struct dirent *de;
    if (fd < 0)
        return unlinkat(parent_fd, name, 0);
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            remove_tree_at(dirfd(d), de->d_name);
    closedir(d);
    return unlinkat(parent_fd, name, AT_REMOVEDIR);
}

static int save_to_dir(struct zstore *s, const struct saved_image *si, const char *dir,
                       const char *ref_name, struct zerr *e)
{
    _cleanup_free_ char *copy1 = strdup(dir), *copy2 = strdup(dir);
    char tmpl[4200];
    const char *parent, *base;
    _cleanup_close_ int pfd = -1;
    struct sink k = {.target = dir, .fd = -1};
    struct stat st;
    int r;
    if (!copy1 || !copy2)
        return zerr_set(e, ENOMEM, "out of memory");
    parent = dirname(copy1);
    base = basename(copy2);
    if (lstat(dir, &st) == 0) {
        /* An empty directory may be replaced; anything else is kept. */
        if (!S_ISDIR(st.st_mode) || rmdir(dir) < 0)
            return zerr_set(e, EEXIST, "%s exists and is not an empty directory", dir);
    }
    pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return zerr_sys(e, "%s", parent);
    snprintf(tmpl, sizeof tmpl, "%s/.%s.tmp-XXXXXX", parent, base);
    if (!mkdtemp(tmpl))
        return zerr_sys(e, "%s: creating a temporary directory", parent);
    k.dirfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (k.dirfd < 0) {
        r = zerr_sys(e, "%s", tmpl);
    } else {
        r = write_oci(&k, s, si, ref_name, e);
        if (k.fd >= 0)
            close(k.fd);
        close(k.dirfd);
    }
    if (r == 0 && rename(tmpl, dir) < 0)
        r = zerr_sys(e, "%s: rename", dir);
    if (r < 0)
        remove_tree_at(pfd, strrchr(tmpl, '/') + 1);
    return r;
}

static int save_to_tar(struct zstore *s, const struct saved_image *si, const char *file,
                       enum save_format fmt, const char *label, struct zerr *e)
{
    char tmp[4200] = "";
    struct stat st;
    struct sink k = {.target = file, .dirfd = -1, .fd = -1};
    _cleanup_close_ int fd = -1;
    int r;
    /* Only a plain file (or nothing) is replaced by rename: a symlink such
     * as /dev/stdout, a fifo or a device is written through. */
    if (lstat(file, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (stat(file, &st) < 0)
            return zerr_sys(e, "%s", file);
        if (S_ISDIR(st.st_mode))
            return zerr_set(e, EISDIR, "%s is a directory", file);
        fd = open(file, O_WRONLY | O_CLOEXEC | (S_ISREG(st.st_mode) ? O_TRUNC : 0));
        if (fd < 0)
            return zerr_sys(e, "%s", file);
    } else {
        snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", file);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
            return zerr_sys(e, "%s: creating a temporary file", file);
        fchmod(fd, 0644);
    }
    k.tar = archive_write_new();
    if (!k.tar) {
        r = zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    /* ustar headers unless a member needs pax (> 8 GiB): what docker reads */
    archive_write_set_format_pax_restricted(k.tar);
    archive_write_set_bytes_in_last_block(k.tar, 1);
    if (archive_write_open_fd(k.tar, fd) != ARCHIVE_OK) {
        r = zerr_set(e, EIO, "%s: %s", file, archive_error_string(k.tar));
        goto out;
    }
    r = fmt == SAVE_DOCKER_ARCHIVE ? write_docker(&k, s, si, label, e)
                                   : write_oci(&k, s, si, label, e);
    if (archive_write_close(k.tar) != ARCHIVE_OK && r == 0)
        r = zerr_set(e, EIO, "%s: %s", file, archive_error_string(k.tar));
    if (r == 0 && tmp[0] && fsync(fd) < 0)
        r = zerr_sys(e, "%s: fsync", file);
    if (r == 0 && tmp[0] && rename(tmp, file) < 0)
        r = zerr_sys(e, "%s: rename", file);
out:
    if (k.tar)
        archive_write_free(k.tar);
    if (r < 0 && tmp[0])
        unlink(tmp);
    return r;
}

/* The tag name of the image the user named, if it is one ("" when it was
 * named by digest). */
static void find_name(struct zstore *s, const char *name, char *out, size_t n)
{
    static const char *const defaults[] = {NULL, "localhost"};
    out[0] = '\0';
    for (size_t i = 0; i < 2; i++) {
        struct zref ref;
        struct zerr ignored;
        char full[1024], d[ZDIGEST_MAX];
        if (zref_parse(name, defaults[i], &ref, &ignored) < 0 || ref.digest[0])
            continue;
        zref_format(&ref, full, sizeof full);
        if (zstore_tag_get(s, full, d, &ignored) == 0) {
            snprintf(out, n, "%s", full);
            return;
        }
    }
}

int zimage_save(struct zstore *s, const char *name, const char *dst, struct zerr *e)
{
    struct saved_image si = {0};
    enum save_format fmt;
    char path[4096];
    const char *rest, *colon;
    size_t plen;
    int r;

    if (!strncmp(dst, "oci:", 4))
        fmt = SAVE_OCI_DIR, rest = dst + 4;
    else if (!strncmp(dst, "oci-archive:", 12))
        fmt = SAVE_OCI_ARCHIVE, rest = dst + 12;
    else if (!strncmp(dst, "docker-archive:", 15))
        fmt = SAVE_DOCKER_ARCHIVE, rest = dst + 15;
    else
        fmt = SAVE_DOCKER_ARCHIVE, rest = dst;
    colon = rest == dst ? NULL : strchr(rest, ':');
    plen = colon ? (size_t)(colon - rest) : strlen(rest);
    if (plen == 0)
        return zerr_set(e, EINVAL, "%s: no path given", dst);
    if (plen >= sizeof path)
        return zerr_set(e, ENAMETOOLONG, "%s: path too long", dst);
    memcpy(path, rest, plen);
    path[plen] = '\0';

    if (zstore_lock(s, false, e) < 0)
        return -1;
    if (zimage_load(s, name, &si.im, e) < 0) {
        zstore_unlock(s);
        return -1;
    }
    r = zstore_read_blob(s, si.im.manifest_digest, ZMANIFEST_MAX, &si.manifest, &si.manifest_len, e);
    if (r == 0) {
        si.manifest_media_type = si.im.manifest.media_type && *si.im.manifest.media_type
                                     ? si.im.manifest.media_type : ZMT_OCI_MANIFEST;
        find_name(s, name, si.name, sizeof si.name);
        /* A label after the path wins: ref.name for OCI, the RepoTag for
         * docker (normalized so that it parses back). */
        if (colon && colon[1]) {
            if (fmt == SAVE_DOCKER_ARCHIVE) {
                struct zref ref;
                if (zref_parse(colon + 1, NULL, &ref, e) < 0)
                    r = -1;
                else
                    zref_format(&ref, si.name, sizeof si.name);
            } else {
                snprintf(si.name, sizeof si.name, "%s", colon + 1);
            }
        }
    }
    if (r == 0)
        r = fmt == SAVE_OCI_DIR ? save_to_dir(s, &si, path, si.name, e)
                                : save_to_tar(s, &si, path, fmt, si.name, e);
    zstore_unlock(s);
    free(si.manifest);
    zimage_free(&si.im);
    return r < 0 ? -1 : 0;
}
