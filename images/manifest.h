/* OCI / Docker v2 schema 2 manifests, indexes (manifest lists) and image
 * configs: parsed from untrusted JSON with bounds on every size. */
#ifndef ZONE_IMAGES_MANIFEST_H
#define ZONE_IMAGES_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/spec.h"
#include "images/store.h"

#define ZMT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ZMT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define ZMT_OCI_CONFIG   "application/vnd.oci.image.config.v1+json"
#define ZMT_OCI_LAYER     "application/vnd.oci.image.layer.v1.tar"
#define ZMT_OCI_LAYER_GZ  "application/vnd.oci.image.layer.v1.tar+gzip"
#define ZMT_OCI_LAYER_ZST "application/vnd.oci.image.layer.v1.tar+zstd"
#define ZMT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ZMT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define ZMT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define ZMT_DOCKER_LAYER_GZ "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Largest manifest/index/config accepted (bytes). */
#define ZMANIFEST_MAX (4u << 20)

struct zdescriptor {
    char *media_type;
    char digest[ZDIGEST_MAX];
    int64_t size;
    /* platform (index entries only) */
    char *os, *architecture, *variant;
};

struct zmanifest {
    char *media_type;               /* as declared, or inferred */
    struct zdescriptor config;
    struct zdescriptor *layers; size_t n_layers;
};

struct zindex {
    char *media_type;
    struct zdescriptor *manifests; size_t n_manifests;
};

struct zimage_config {
    char *architecture, *os;
    char *user, *working_dir, *stop_signal;
    char **env; size_t n_env;
    char **entrypoint; size_t n_entrypoint;   /* NULL when absent */
    char **cmd; size_t n_cmd;                 /* NULL when absent */
    char **volumes; size_t n_volumes;         /* paths */
    char **exposed_ports; size_t n_exposed_ports;
    struct zspec_kv *labels; size_t n_labels;
    char **diff_ids; size_t n_diff_ids;       /* rootfs.diff_ids */
    char *created;
};

/* What kind of document a blob is: from its mediaType field or shape. */
enum zdoc_kind { ZDOC_UNKNOWN, ZDOC_MANIFEST, ZDOC_INDEX };
enum zdoc_kind zdoc_kind_of(const char *json, size_t len, const char *declared_media_type);

/* `what` names the document in errors ("manifest sha256:ab..").
 * Sizes must be >= 0 and the layer count <= 1000. */
int zmanifest_parse(const char *json, size_t len, const char *what,
                    struct zmanifest *out, struct zerr *e);
void zmanifest_free(struct zmanifest *m);
int zindex_parse(const char *json, size_t len, const char *what, struct zindex *out,
                 struct zerr *e);
void zindex_free(struct zindex *x);
int zimage_config_parse(const char *json, size_t len, const char *what,
                        struct zimage_config *out, struct zerr *e);
void zimage_config_free(struct zimage_config *c);

/* Picks the index entry for os/arch (NULL = this host: "linux"/"amd64",
 * variant as uname reports); -1 with a message listing what is offered. */
int zindex_select(const struct zindex *x, const char *os, const char *arch,
                  const char *variant, size_t *which, struct zerr *e);

/* Resolves a stored image by name or digest (or digest prefix of >= 12 hex,
 * see zimage_lookup) to its manifest digest, following a stored index
 * to this platform's manifest, and loads manifest and config. */
struct zimage {
    char manifest_digest[ZDIGEST_MAX];
    struct zmanifest manifest;
    struct zimage_config config;
};
int zimage_load(struct zstore *s, const char *name_or_digest, struct zimage *out,
                struct zerr *e);
void zimage_free(struct zimage *im);

/* What zimage_load and `zone rmi` accept, resolved without loading:
 *   sha256:<64 hex>            a stored blob
 *   <12..64 hex>, sha256:<12..64 hex>   a prefix of a tagged image's digest:
 *                              the tag target, for an index this platform's
 *                              manifest, or the config digest (the image ID
 *                              podman and `zone images` print); matching two
 *                              different images = EINVAL
 *   NAME[:TAG][@DIGEST]        normalized (zref_parse) and looked up in the
 *                              tags; a name without a registry is also
 *                              tried as localhost/NAME (podman's local
 *                              images), a pinned digest also as a blob
 * tag_out (may be NULL) gets the tag name when a tag matched, else "".
 * digest_out gets what it names (manifest or index). ENOENT with
 * "NAME: image not known" when nothing matches. */
int zimage_lookup(struct zstore *s, const char *name_or_digest, char *tag_out, size_t tag_n,
                  char digest_out[ZDIGEST_MAX], struct zerr *e);

#endif
