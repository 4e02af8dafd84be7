/* Image references, normalized as docker and podman do:
 *   busybox                -> docker.io/library/busybox:latest
 *   localhost:5000/a/b:1   -> registry "localhost:5000", repo "a/b", tag "1"
 *   repo@sha256:<hex>      -> pinned by digest
 * A first component with a '.' or ':' or equal to "localhost" is a
 * registry host. Names produced by `zone import ROOTFS.tar NAME` without a
 * registry are stored as "localhost/NAME:latest", as podman does. */
#ifndef ZONE_IMAGES_REFERENCE_H
#define ZONE_IMAGES_REFERENCE_H

#include "core/error.h"
#include "images/store.h"

struct zref {
    char registry[256];     /* "docker.io", "localhost:5000" */
    char repository[512];   /* "library/busybox" */
    char tag[129];          /* "" when pinned by digest only */
    char digest[ZDIGEST_MAX]; /* "" unless @sha256:... */
};

/* Parses and normalizes; default_registry NULL = "docker.io". Errors name
 * the reference and what is wrong with it. */
int zref_parse(const char *text, const char *default_registry, struct zref *out,
               struct zerr *e);
/* "registry/repository:tag" or "registry/repository@digest" (the tag-index
 * key) into buf. */
void zref_format(const struct zref *r, char *buf, size_t n);

#endif
