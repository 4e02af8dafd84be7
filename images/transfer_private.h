/* Internals shared by the import/export files (pull.c, oci_layout.c,
 * archive_import.c, tar_io.c, import_rootfs.c, save.c). Not for use
 * outside images/.
 *
 * Archives are untrusted: they are read with libarchive one member at a
 * time, each member is looked up by its name as a string (never extracted
 * to disk as a tree) and streamed through the store's verifying blob
 * writer. */
#ifndef ZONE_IMAGES_TRANSFER_PRIVATE_H
#define ZONE_IMAGES_TRANSFER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "images/manifest.h"
#include "images/store.h"
#include "images/transfer.h"

#define ZANN_REF_NAME "org.opencontainers.image.ref.name"
/* Longest archive member name looked at. */
#define ZTAR_NAME_MAX 1024
/* Memory kept for small archive members seen before they are known to be
 * needed (manifests, configs, small layers), in total. */
#define ZTAR_CACHE_MAX (64u << 20)

/* ---- tar_io.c: reading archives member by member ---- */
struct archive;
struct archive_entry;

/* Opens a (possibly compressed) tar file for reading. */
int ztar_open(const char *path, struct archive **out, struct zerr *e);
void ztar_close(struct archive *a);
/* Next member: 1 and its cleaned name in name[ZTAR_NAME_MAX] ("./a" ->
 * "a"), 0 at the end, -1 on error. Names that are absolute or hold a ".."
 * component are refused (the archive is hostile). *regular says whether the
 * member is a plain file (not a link, directory or device); *size is its
 * size. */
int ztar_next(struct archive *a, const char *path, char name[ZTAR_NAME_MAX], bool *regular,
              int64_t *size, struct zerr *e);
/* Reads the current member whole (at most max bytes, NUL-terminated). */
int ztar_read_all(struct archive *a, const char *what, size_t max, char **data, size_t *len,
                  struct zerr *e);
/* Streams the current member into the store as blob `digest` of `size`
 * bytes (verified at commit; an already stored blob is skipped). */
int ztar_store_member(struct archive *a, struct zstore *s, const char *digest, int64_t size,
                      const char *what, struct zerr *e);
/* sha256 and size of the current member's data; head (if not NULL) gets
 * its first ZTAR_HEAD bytes, zero-padded (to tell compressed layers). */
#define ZTAR_HEAD 8
int ztar_hash_member(struct archive *a, const char *what, char digest[ZDIGEST_MAX],
                     int64_t *size, unsigned char *head, struct zerr *e);
/* Streams the current member into the store as `expect` (size bytes)
 * while hashing it: 0 when stored, 1 when the content hashes to something
 * else (nothing is kept; digest and head say what it is), -1 on error. */
int ztar_store_if_digest(struct archive *a, struct zstore *s, const char *expect, int64_t size,
                         const char *what, char digest[ZDIGEST_MAX], unsigned char *head,
                         struct zerr *e);
/* The layer media type for content starting with head (gzip, zstd or a
 * plain tar); -1 for other compressions. */
int zlayer_media_type(const unsigned char *head, size_t n, const char **mt, const char *what,
                      struct zerr *e);
/* "blobs/sha256/<64 hex>" -> "sha256:<hex>"; false for other names. */
bool ztar_blob_name(const char *name, char digest[ZDIGEST_MAX]);

/* Feeds the bytes of path, decompressed if it is gzip/zstd/xz/bzip2
 * (detected from the content), to fn in chunks. */
typedef int (*zchunk_fn)(void *ctx, const void *buf, size_t len, struct zerr *e);
int zdecompress_file(const char *path, zchunk_fn fn, void *ctx, struct zerr *e);

/* ---- oci_layout.c: choosing and resolving an image of an OCI layout ---- */

/* Returns 0 with the blob (NUL-terminated, verified against digest and
 * size), 1 when it is not available (yet), -1 on error. */
typedef int (*zoci_fetch_fn)(void *ctx, const char *digest, int64_t size, char **data,
                             size_t *len, struct zerr *e);

struct zoci_image {
    char ref_name[512];              /* the chosen entry's ref.name, or "" */
    char manifest_digest[ZDIGEST_MAX];
    char *manifest_json; size_t manifest_len;
    struct zmanifest manifest;
    char *config_json; size_t config_len;
    char waiting_for[ZDIGEST_MAX];   /* the blob a 1 from resolve waits for */
};
void zoci_image_clear(struct zoci_image *im);

/* From index.json (what names it in errors), picks the entry whose ref.name
 * is tag (tag NULL or "": the only entry, or this platform's among several),
 * follows nested indexes to this platform's manifest and loads manifest and
 * config through fetch. Returns 0, 1 (a blob is not available: see
 * waiting_for; im is cleared), or -1. */
int zoci_resolve(const char *index_json, size_t index_len, const char *what, const char *tag,
                 const struct zpull_opts *o, zoci_fetch_fn fetch, void *ctx,
                 struct zoci_image *im, struct zerr *e);
/* Checks an "oci-layout" file's content ({"imageLayoutVersion": "1.0.0"}). */
int zoci_check_layout_file(const char *json, size_t len, const char *what, struct zerr *e);

/* Imports oci:DIR[:TAG]. */
int zoci_layout_import(struct zstore *s, const char *dir, const char *tag,
                       const struct zpull_opts *o, char *name_out, size_t name_n,
                       char digest_out[ZDIGEST_MAX], struct zerr *e);

/* Stores im's config and manifest once every layer blob is in the store
 * (an error names the first missing one). */
int zoci_store_documents(struct zstore *s, const struct zoci_image *im, struct zerr *e);

/* ---- archive_import.c ---- */
/* An OCI image manifest (JSON, malloc'd) for a config of config_len bytes
 * and the layers' media types, digests and sizes. */
int zoci_gen_manifest(const char *config_digest, size_t config_len,
                      const struct zdescriptor *layers, size_t n, char **out, size_t *len,
                      struct zerr *e);
int zoci_archive_import(struct zstore *s, const char *file, const char *tag,
                        const struct zpull_opts *o, char *name_out, size_t name_n,
                        char digest_out[ZDIGEST_MAX], struct zerr *e);
int zdocker_archive_import(struct zstore *s, const char *file, const char *ref,
                           char *name_out, size_t name_n, char digest_out[ZDIGEST_MAX],
                           struct zerr *e);

/* ---- naming (pull.c) ---- */
/* The store name for an image of a local source: `label` (a ref.name
 * annotation, a TAG given by the user or a RepoTag) when it is a full
 * reference ("busybox:1", "quay.io/a/b:c"), "localhost/<base of path>:label"
 * when label is a bare tag ("v1"), "localhost/<base of path>:latest" when
 * there is no label. */
int zimport_name(const char *label, const char *path, char *out, size_t n, struct zerr *e);
/* Names the image (zimport_name) and sets the tag: the last step of every
 * import. */
int zimport_tag(struct zstore *s, const char *label, const char *path, const char *digest,
                char *name_out, size_t name_n, struct zerr *e);
/* Architecture of this host as OCI names it ("amd64", "arm64", ...). */
const char *zhost_arch(void);

#endif
