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
 *   tags.lock                 flock, exclusive around every read-modify-write
 *                             of tags.json (so concurrent tag writers never
 *                             lose a tag)
 *   store.lock                flock: shared while blobs/layers are written or
 *                             used, exclusive for gc
 *   containers/<id>/container.json   developer containers (engine/); a string
 *                             field "manifest" protects that image from gc
 *
 * Every write is atomic: temp file in the same directory, fsync, rename.
 * A crash at any point leaves at worst files in ingest/ or tmp-* entries,
 * which zstore_open ignores and gc removes. Tag writers do not need the
 * store lock exclusive (they take tags.lock), so a pull can hold the store
 * lock shared from its first blob to its tag without ever letting gc in:
 * flock cannot upgrade shared -> exclusive atomically. */
#ifndef ZONE_IMAGES_STORE_H
#define ZONE_IMAGES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define ZDIGEST_MAX 80   /* "sha256:" + 64 hex + NUL, with room */

/* A handle may be shared by threads for blob reads and zblob_* writers
 * while it holds the store lock (taken before the threads start); lock,
 * tag and gc calls on one handle must come from one thread at a time. */
struct zstore;

/* Opens (creating if needed, mode 0700) the store at dir. dir NULL = the
 * default for this user (see above). */
int zstore_open(const char *dir, struct zstore **out, struct zerr *e);
void zstore_close(struct zstore *s);
const char *zstore_dir(const struct zstore *s);
/* The default store directory for the calling user (static buffer). */
const char *zstore_default_dir(void);

/* Store-wide lock (flock on store.lock). gc takes it exclusive;
 * pull/import/run take it shared while they write or use blobs so gc
 * cannot remove them between the first blob and the tag. Calls nest on one
 * handle (a counter): an inner call asking for no more than what is held
 * just counts; asking exclusive while shared is held converts the lock
 * (not atomic, see flock(2)). zstore_put_blob, zblob_commit and the tag
 * functions take it shared themselves when the handle holds nothing.
 * Returns 0 or -1. */
int zstore_lock(struct zstore *s, bool exclusive, struct zerr *e);
void zstore_unlock(struct zstore *s);

/* ---- digests ---- */
/* Validates "sha256:<64 lowercase hex>"; fills e naming `what` if not. */
int zdigest_check(const char *digest, const char *what, struct zerr *e);
/* sha256 of a buffer, as "sha256:<hex>" into out[ZDIGEST_MAX]. */
void zdigest_of(const void *data, size_t len, char out[ZDIGEST_MAX]);
/* Streaming sha256 (e.g. a layer's diff_id while it is unpacked).
 * zdigester_new returns NULL (errno ENOMEM) on failure; zdigester_final
 * writes "sha256:<hex>" and leaves the digester ready for new data. */
struct zdigester;
struct zdigester *zdigester_new(void);
void zdigester_update(struct zdigester *d, const void *buf, size_t len);
void zdigester_final(struct zdigester *d, char out[ZDIGEST_MAX]);
void zdigester_free(struct zdigester *d);

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
 * NULL the content must hash to it. A blob already stored is left alone
 * (content-addressed: same digest, same bytes). */
int zstore_put_blob(struct zstore *s, const void *data, size_t len, const char *expect,
                    char out[ZDIGEST_MAX], struct zerr *e);

/* Streaming, resumable writer for a blob of known digest (and size, or -1).
 * zblob_begin takes ingest/<hex>.lock (EBUSY-free: waits) and keeps what a
 * previous interrupted writer left in <hex>.partial; *resume_offset says how
 * many bytes are already there (the hash state is rebuilt by re-reading
 * them). zblob_commit verifies size and digest and renames into blobs/;
 * on mismatch the partial is deleted and an error names the digest.
 * zblob_abort keeps the partial for resuming (keep=true) or deletes it.
 * A size given to zblob_begin is enforced by zblob_write too (writing past
 * it fails at once).
 *
 * Blob already stored: when the blob is in blobs/ (before or after waiting
 * for another writer of the same digest), zblob_begin succeeds with a
 * writer in the "present" state: zblob_present() is true, *resume_offset
 * is 0, zblob_write discards its data, zblob_commit just frees the writer.
 * Callers should check zblob_present() right after zblob_begin and skip the
 * transfer; callers that do not still end up correct. */
struct zblob_writer;
int zblob_begin(struct zstore *s, const char *digest, int64_t size,
                struct zblob_writer **out, uint64_t *resume_offset, struct zerr *e);
bool zblob_present(const struct zblob_writer *w);
/* Bytes in the partial so far (resume offset + what was written). */
uint64_t zblob_written(const struct zblob_writer *w);
/* Drops already-written bytes (server ignored a Range request). */
int zblob_restart(struct zblob_writer *w, struct zerr *e);
int zblob_write(struct zblob_writer *w, const void *buf, size_t len, struct zerr *e);
int zblob_commit(struct zblob_writer *w, struct zerr *e);   /* frees w */
void zblob_abort(struct zblob_writer *w, bool keep);         /* frees w */

/* ---- tags ---- */
/* name is a normalized reference (see reference.h), e.g.
 * "docker.io/library/busybox:latest". */
/* The name must be a normalized reference (zref_parse + zref_format give it
 * back unchanged) and the manifest (or index) blob must already be stored.
 * Replaces an existing tag of that name. */
int zstore_tag_set(struct zstore *s, const char *name, const char *manifest_digest,
                   struct zerr *e);
/* -1 with code ENOENT if the tag does not exist. */
int zstore_tag_get(struct zstore *s, const char *name, char digest[ZDIGEST_MAX],
                   struct zerr *e);
/* -1 with code ENOENT if the tag does not exist. */
int zstore_tag_remove(struct zstore *s, const char *name, struct zerr *e);
/* Sorted by name. */
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

/* Developer-container records that pin an image: every
 * <store>/containers/<id>/container.json with a string field "manifest"
 * holding a valid digest. Unreadable or malformed records are skipped. */
struct zcontainer_ref { char *id; char manifest[ZDIGEST_MAX]; };
int zstore_container_refs(struct zstore *s, struct zcontainer_ref **out, size_t *n,
                          struct zerr *e);
void zstore_container_refs_free(struct zcontainer_ref *v, size_t n);

#endif
