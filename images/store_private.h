/* Internals shared by the store's files (store.c, store_ingest.c,
 * store_tags.c, gc.c, image.c). Not for use outside images/. */
#ifndef ZONE_IMAGES_STORE_PRIVATE_H
#define ZONE_IMAGES_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "images/store.h"

enum zstore_lock_mode { ZLOCK_NONE, ZLOCK_SHARED, ZLOCK_EXCLUSIVE };

struct zstore {
    char *dir;                  /* absolute path, no trailing slash */
    int dirfd;                  /* O_PATH|O_DIRECTORY of dir */
    int blobs_fd;               /* blobs/sha256 */
    int ingest_fd;              /* ingest */
    int layers_fd;              /* layers */
    int lock_fd;                /* store.lock, opened on first zstore_lock */
    enum zstore_lock_mode lock_mode;
    unsigned lock_depth;        /* nested zstore_lock calls on this handle */
};

/* The 64 hex characters of a checked digest ("sha256:<hex>"). */
static inline const char *zdigest_hex(const char *digest) { return digest + 7; }

/* Takes the store lock shared for an internal operation unless this handle
 * already holds it in any mode; *took says whether to release it. */
int zstore_lock_for_use(struct zstore *s, bool *took, struct zerr *e);

/* Writes buf to dirfd/name atomically and durably: a "tmp-" file in the
 * same directory, fsync, rename, fsync of the directory. `what` names the
 * file in errors. */
int zstore_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
                        const char *what, struct zerr *e);

/* fsync of a directory fd (O_PATH fds cannot be fsynced: reopens). */
int zstore_fsync_dir(int dirfd, const char *what, struct zerr *e);

/* Loads and follows a stored document: if `digest` is an index, selects
 * this platform's manifest (which must be stored). manifest_out gets the
 * manifest digest. */
int zimage_resolve_manifest(struct zstore *s, const char *digest,
                            char manifest_out[ZDIGEST_MAX], struct zerr *e);

#endif
