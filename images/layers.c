/* Unpacked layers in the store (see zlayers_prepare in unpack.h).
 *
 * Each layer is unpacked in overlay form into layers/tmp-<random>/rootfs,
 * the "complete" marker is written inside that temp dir, and the whole dir
 * is renamed to layers/<hex of diff_id>. A layer therefore appears under
 * its final name only once it is complete; a crash leaves a tmp-* entry
 * for gc. Two processes preparing the same layer both unpack; the second
 * rename fails, finds the first one's complete layer, and drops its own. */
#include "images/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "images/manifest.h"
#include "images/store_private.h"
#include "images/unpack_private.h"
#include "images/userns.h"
#include "core/log.h"

/* Root in the initial user namespace may use trusted.* xattrs; anyone
 * else (a user namespace) mounts overlay with "userxattr" and needs the
 * user.* name. */
static const char *opaque_xattr_name(void)
{
    _cleanup_fclose_ FILE *f = NULL;
    unsigned long inside, outside, count;

    if (geteuid() != 0)
        return "user.overlay.opaque";
    f = fopen("/proc/self/uid_map", "re");
    if (!f || fscanf(f, "%lu %lu %lu", &inside, &outside, &count) != 3)
        return "user.overlay.opaque";
    return inside == 0 && outside == 0 && count == 4294967295ul ? "trusted.overlay.opaque"
                                                                 : "user.overlay.opaque";
}

/* Removes a tree that may hold anything a hostile layer put there,
 * without following symlinks (the unpacker's own remover). */
static void remove_dir(int parent, const char *name)
{
    struct zunpack_opts o = { .mode = ZUNPACK_OVERLAY };
    struct zerr ignored;
    struct zu_ctx c = { .root = -1, .o = &o, .e = &ignored };
    zu_remove_tree(&c, parent, name, name);
}

static int random_name(char *buf, size_t n, struct zerr *e)
{
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return zerr_sys(e, "getrandom");
    snprintf(buf, n, "tmp-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
             r[5], r[6], r[7]);
    return 0;
}

/* Moves layers/<tmp> to layers/<hex>, which may have appeared meanwhile. */
static int publish(struct zstore *s, const char *tmp, const char *diff_id, struct zerr *e)
{
    const char *hex = zdigest_hex(diff_id);
    char path[PATH_MAX];
    bool complete;

    for (int tries = 0; tries < 2; tries++) {
        if (renameat(s->layers_fd, tmp, s->layers_fd, hex) == 0)
            return zstore_fsync_dir(s->layers_fd, "layers", e);
        if (errno != EEXIST && errno != ENOTEMPTY)
            return zerr_sys(e, "layer %s: rename into place", diff_id);
        if (zstore_layer_dir(s, diff_id, path, sizeof path, &complete, e) < 0)
            return -1;
        if (complete) {         /* another process finished it first */
            remove_dir(s->layers_fd, tmp);
            return 0;
        }
        /* Left by a crash of an older writer: never a live unpack, which
         * always happens under a tmp-* name. */
        remove_dir(s->layers_fd, hex);
    }
    return zerr_set(e, EEXIST, "layer %s: cannot replace an incomplete layer directory",
                    diff_id);
}

struct unpack_job {
    struct zstore *s;
    size_t index;
    const struct zdescriptor *layer;
    const char *diff_id, *image;
    const char *const *lowers;
    size_t n_lowers;
    bool squash_ids;          /* rootless with only the own id mapped */
};

/* Unpacks into layers/tmp-* and renames it into place. Rootless, this
 * runs as root of the user's user namespace (zuserns_run), so the files
 * get the owners of the image mapped through the subordinate ids. */
static int unpack_job_run(void *arg, struct zerr *e)
{
    const struct unpack_job *j = arg;
    struct zstore *s = j->s;
    char tmp[64], blob[PATH_MAX], what[256];
    _cleanup_close_ int tmp_fd = -1, root_fd = -1;
    struct zunpack_stats st;
    struct zunpack_opts o = {
        .mode = ZUNPACK_OVERLAY,
        .opaque_xattr = opaque_xattr_name(),
        .lower_dirs = j->lowers,
        .n_lower_dirs = j->n_lowers,
        .expect_diff_id = j->diff_id,
        .squash_ids = j->squash_ids,
    };

    snprintf(what, sizeof what, "layer %zu (%.80s) of image %.80s", j->index, j->layer->digest,
             j->image);
    if (zstore_blob_path(s, j->layer->digest, blob, sizeof blob, e) < 0)
        return zerr_prefix(e, "%s", what);
    if (random_name(tmp, sizeof tmp, e) < 0)
        return -1;
    if (mkdirat(s->layers_fd, tmp, 0700) < 0)
        return zerr_sys(e, "%s: creating layers/%s", what, tmp);
    tmp_fd = openat(s->layers_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tmp_fd < 0 || mkdirat(tmp_fd, "rootfs", 0755) < 0 ||
        (root_fd = openat(tmp_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
        fchmod(root_fd, 0755) < 0) {
        zerr_sys(e, "%s: creating layers/%s/rootfs", what, tmp);
        goto fail;
    }
    if (zunpack_layer(root_fd, blob, what, &o, &st, e) < 0)
        goto fail;
    /* Everything on disk before the marker says so. */
    if (syncfs(root_fd) < 0) {
        zerr_sys(e, "%s: syncfs", what);
        goto fail;
    }
    if (zstore_write_atomic(tmp_fd, "complete", "", 0, what, e) < 0 ||
        publish(s, tmp, j->diff_id, e) < 0)
        goto fail;
    if (st.skipped_devices)
        zwarn("%s: %llu device node(s) skipped: a user namespace cannot create them",
              what, (unsigned long long)st.skipped_devices);
    if (st.squashed_owners)
        zwarn("%s: %llu file(s) owned by other ids now belong to the user: it has no "
              "subordinate ids (/etc/subuid, /etc/subgid, newuidmap) to map them to",
              what, (unsigned long long)st.squashed_owners);
    return 0;
fail:
    remove_dir(s->layers_fd, tmp);
    return -1;
}

static int unpack_into_store(struct zstore *s, size_t index, const struct zdescriptor *layer,
                             const char *diff_id, const char *const *lowers, size_t n_lowers,
                             const char *image, struct zerr *e)
{
    struct unpack_job j = {
        .s = s, .index = index, .layer = layer, .diff_id = diff_id, .image = image,
        .lowers = lowers, .n_lowers = n_lowers,
    };
    struct zuserns_map m;

    if (!zuserns_wanted())
        return unpack_job_run(&j, e);
    if (zuserns_map_get(&m, e) < 0)
        return -1;
    j.squash_ids = m.one_id;
    zuserns_map_free(&m);
    return zuserns_run(unpack_job_run, &j, e);
}

int zlayers_prepare(struct zstore *s, const struct zimage *im, char ***dirs, size_t *n,
                    struct zerr *e)
{
    size_t count = im->manifest.n_layers, kept = 0;
    char **paths = NULL, **out = NULL;
    int ret = -1;

    *dirs = NULL;
    *n = 0;
    if (count != im->config.n_diff_ids)
        return zerr_set(e, EINVAL, "image %s: the manifest lists %zu layers but the config has "
                        "%zu rootfs.diff_ids", im->manifest_digest, count, im->config.n_diff_ids);
    if (zstore_lock(s, false, e) < 0)
        return -1;
    paths = calloc(count + 1, sizeof *paths);
    out = calloc(count + 1, sizeof *out);
    if (!paths || !out) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        const char *diff_id = im->config.diff_ids[i];
        char path[PATH_MAX], field[64];
        bool complete;

        snprintf(field, sizeof field, "image config rootfs.diff_ids[%zu]", i);
        if (zdigest_check(diff_id, field, e) < 0 ||
            zstore_layer_dir(s, diff_id, path, sizeof path, &complete, e) < 0)
            goto out;
        if (!complete) {
            /* Lower layers for hard-link copy-up: topmost first. */
            const char *lowers[i ? i : 1];
            for (size_t k = 0; k < i; k++)
                lowers[k] = paths[i - 1 - k];
            if (unpack_into_store(s, i, &im->manifest.layers[i], diff_id, lowers, i,
                                  im->manifest_digest, e) < 0)
                goto out;
        }
        if (!(paths[i] = strdup(path))) {
            zerr_set(e, ENOMEM, "out of memory");
            goto out;
        }
    }
    /* Topmost first. A layer repeated in an image (empty layers often are)
     * is listed once, at its topmost place: overlayfs refuses the same
     * lowerdir twice, and the lower copy cannot change what is seen since
     * the upper one hides the same names. */
    for (size_t i = count; i-- > 0;) {
        bool seen = false;
        for (size_t k = 0; k < kept && !seen; k++)
            seen = !strcmp(out[k], paths[i]);
        if (!seen)
            out[kept++] = steal_ptr(&paths[i]);
    }
    *dirs = steal_ptr(&out);
    *n = kept;
    ret = 0;
out:
    zstore_unlock(s);
    if (paths)
        zlayers_free(paths, count);
    if (out)
        zlayers_free(out, kept);
    return ret;
}

void zlayers_free(char **dirs, size_t n)
{
    if (!dirs)
        return;
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
}
