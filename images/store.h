/* The image store: content-addressed blobs, unpacked layers and a tag index
 * under one directory (/var/lib/zone, $XDG_DATA_HOME/zone without root, or
 * --storage DIR). Layout:
 *
 *   blobs/sha256/<hex>        verified content (manifests, configs, layers)
 *   ingest/<hex>.partial      a download in progress (resumable), never read
 *                             as content; <hex>.lock guards a writer
 *   layers/<hex-of-diffid>/   an unpacked layer in overlayfs form
 *                             (whiteouts as 0/0 char devices, opaque dirs as
 *                             the overlay opaque xattr); rootfs/ inside it,
 *                             and a "complete" marker written last
 *   tags.json                 { "name": "sha256:<manifest digest>" }
 *   store.lock                flock: shared for readers, exclusive for writers
 *                             of tags.json and for gc
 *
 * Every write is atomic: temp file in the same directory, fsync, rename.
 * A crash at any point leaves at worst files in ingest/ or tmp-* entries,
 * which zstore_open ignores and gc removes. */
#ifndef ZONE_IMAGES_STORE_H
#define ZONE_IMAGES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define ZDIGEST_MAX 80   /* "sha256:" + 64 hex + NUL, with room */

struct zstore;

/* Opens (creating if needed, mode 0700) the store at dir. dir NULL = the
 * default for this user (see above). */
int zstore_open(const char *dir, struct zstore **out, struct zerr *e);
void zstore_close(struct zstore *s);
const char *zstore_dir(const struct zstore *s);
/* The default store directory for the calling user (static buffer). */
const char *zstore_default_dir(void);

/* Store-wide lock (flock on store.lock). Writers of tags and gc take it
 * exclusive; pull/import/run take it shared while they use blobs so gc
 * cannot remove them underneath. Returns 0 or -1. */
int zstore_lock(struct zstore *s, bool exclusive, struct zerr *e);
void zstore_unlock(struct zstore *s);

/* ---- digests ---- */
/* Validates "sha256:<64 lowercase hex>"; fills e naming `what` if not. */
int zdigest_check(const char *digest, const char *what, struct zerr *e);
/* sha256 of a buffer, as "sha256:<hex>" into out[ZDIGEST_MAX]. */
void zdigest_of(const void *data, size_t len, char out[ZDIGEST_MAX]);

/* ---- blobs ---- */
bool zstore_has_blob(struct zstore *s, const char *digest);
/* Absolute path of a stored blob into buf; -1 (ENOENT) if absent. */
int zstore_blob_path(struct zstore *s, const char *digest, char *buf, size_t n,
                     struct zerr *e);
/* Reads a whole blob of at most max bytes (manifests and configs); the
 * result is NUL-terminated; free() it. */
int zstore_read_blob(struct zstore *s, const char *digest, size_t max, char **data,
                     size_t *len, struct zerr *e);
/* Stores a buffer, computing its digest (out may be NULL). If expect is not
 * NULL the content must hash to it. */
int zstore_put_blob(struct zstore *s, const void *data, size_t len, const char *expect,
                    char out[ZDIGEST_MAX], struct zerr *e);

/* Streaming, resumable writer for a blob of known digest (and size, or -1).
 * zblob_begin takes ingest/<hex>.lock (EBUSY-free: waits) and keeps what a
 * previous interrupted writer left in <hex>.partial; *resume_offset says how
 * many bytes are already there (the hash state is rebuilt by re-reading
 * them). zblob_commit verifies size and digest and renames into blobs/;
 * on mismatch the partial is deleted and an error names the digest.
 * zblob_abort keeps the partial for resuming (keep=true) or deletes it. */
struct zblob_writer;
int zblob_begin(struct zstore *s, const char *digest, int64_t size,
                struct zblob_writer **out, uint64_t *resume_offset, struct zerr *e);
/* Drops already-written bytes (server ignored a Range request). */
int zblob_restart(struct zblob_writer *w, struct zerr *e);
int zblob_write(struct zblob_writer *w, const void *buf, size_t len, struct zerr *e);
int zblob_commit(struct zblob_writer *w, struct zerr *e);   /* frees w */
void zblob_abort(struct zblob_writer *w, bool keep);         /* frees w */

/* ---- tags ---- */
/* name is a normalized reference (see reference.h), e.g.
 * "docker.io/library/busybox:latest". */
int zstore_tag_set(struct zstore *s, const char *name, const char *manifest_digest,
                   struct zerr *e);
/* -1 with code ENOENT if the tag does not exist. */
int zstore_tag_get(struct zstore *s, const char *name, char digest[ZDIGEST_MAX],
                   struct zerr *e);
int zstore_tag_remove(struct zstore *s, const char *name, struct zerr *e);
struct ztag { char *name; char digest[ZDIGEST_MAX]; };
int zstore_tag_list(struct zstore *s, struct ztag **out, size_t *n, struct zerr *e);
void zstore_tag_list_free(struct ztag *v, size_t n);

/* ---- unpacked layers ---- */
/* Path of layers/<hex>/rootfs for a layer's diff_id (uncompressed digest);
 * *complete says whether it is fully unpacked. */
int zstore_layer_dir(struct zstore *s, const char *diff_id, char *buf, size_t n,
                     bool *complete, struct zerr *e);

/* ---- garbage collection ---- */
struct zgc_report { size_t blobs_removed, layers_removed, partials_removed;
                    uint64_t bytes_freed; };
/* Removes blobs, layers and stale ingest files no tag (or a container record
 * under <store>/containers/, see engine/) references. Takes the exclusive
 * lock. */
int zstore_gc(struct zstore *s, struct zgc_report *r, struct zerr *e);

#endif
