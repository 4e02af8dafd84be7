/* Getting images into and out of the store. Sources are named as podman
 * names them:
 *   [docker://]REF              a registry (HTTPS, or HTTP with tls_verify off)
 *   oci:DIR[:TAG]               an OCI image layout directory
 *   oci-archive:FILE[:TAG]      a tar of an OCI image layout
 *   docker-archive:FILE[:REF]   `docker save` / `podman save` output
 * Each import verifies every blob's digest and size before it is visible,
 * then sets the tag. */
#ifndef ZONE_IMAGES_TRANSFER_H
#define ZONE_IMAGES_TRANSFER_H

#include <stdbool.h>
#include <stdio.h>

#include "core/error.h"
#include "images/store.h"

struct zpull_opts {
    bool tls_verify;          /* default true */
    const char *auth_file;    /* NULL: $REGISTRY_AUTH_FILE, then ~/.docker/config.json,
                                 then $XDG_RUNTIME_DIR/containers/auth.json */
    const char *creds;        /* "user:password" from --creds, or NULL */
    const char *os, *arch, *variant;  /* platform; NULL = this host */
    int parallel;             /* concurrent layer downloads, default 3 */
    bool quiet;               /* no progress output */
    FILE *progress;           /* where progress goes (a bar per layer when a
                                 tty, one line per layer otherwise) */
};

/* Pulls src (any transport above) and tags it. The stored name is written
 * to name_out (the normalized reference, or for archives the name they
 * carry / the one given after the last ':'); manifest digest to
 * digest_out. */
int zimage_pull(struct zstore *s, const char *src, const struct zpull_opts *o,
                char *name_out, size_t name_n, char digest_out[ZDIGEST_MAX],
                struct zerr *e);

/* `zone import ROOTFS.tar NAME`: a plain root filesystem tarball becomes a
 * one-layer image (layer stored gzip-compressed or as is), with a minimal
 * config (linux/this arch, Cmd ["/bin/sh"]). */
int zimage_import_rootfs(struct zstore *s, const char *tar_path, const char *name,
                         char digest_out[ZDIGEST_MAX], struct zerr *e);

/* `zone save`: dst is oci:DIR[:TAG], oci-archive:FILE[:TAG] or
 * docker-archive:FILE[:REF] (a bare path = docker-archive, as podman). */
int zimage_save(struct zstore *s, const char *name, const char *dst, struct zerr *e);

enum zarchive_kind { ZARCHIVE_OCI, ZARCHIVE_DOCKER };
/* Tells an oci-archive (index.json + oci-layout) from a docker-archive
 * (manifest.json) by the member names; an archive with both is read as
 * OCI (its manifests keep their digests). */
int zarchive_detect(const char *file, enum zarchive_kind *kind, struct zerr *e);

#endif
