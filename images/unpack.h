/* Safe layer unpack (libarchive): gzip, zstd or plain tar into a directory.
 *
 * Every entry is resolved inside the target with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) relative to a directory fd, so "..", absolute
 * names, symlinked parents and hard links cannot reach outside it; entries
 * that try are refused with an error naming the entry and the layer.
 * Whiteouts (.wh.NAME, .wh..wh..opq) become overlayfs whiteouts (a 0/0
 * character device; the opaque xattr) in ZUNPACK_OVERLAY mode, or are
 * applied by deleting in ZUNPACK_FLAT mode (layers unpacked on top of each
 * other into one tree). ".wh.", ".wh..", ".wh..." style names that would
 * delete their parent are refused. Hard links, device nodes, fifos, xattrs
 * (including security.capability) and modes/owners/mtimes are preserved. */
#ifndef ZONE_IMAGES_UNPACK_H
#define ZONE_IMAGES_UNPACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "images/store.h"

enum zunpack_mode { ZUNPACK_OVERLAY, ZUNPACK_FLAT };

struct zunpack_opts {
    enum zunpack_mode mode;
    /* Name of the opaque xattr: "trusted.overlay.opaque" for root,
     * "user.overlay.opaque" in a user namespace (mount with userxattr). */
    const char *opaque_xattr;
    /* Rootless: ownership is mapped through these ranges (container id ->
     * host id). n_*map == 0 means identity (root). Entries whose owner has
     * no mapping are refused. Device nodes are skipped with a count when
     * mknod is not permitted. */
    const struct zid_range { uint32_t container, host, size; } *uid_map, *gid_map;
    size_t n_uid_map, n_gid_map;
    /* Every owner becomes 0:0 (after the maps): a rootless store whose
     * user namespace maps only the user's own id. Counted in
     * squashed_owners. */
    bool squash_ids;
    /* Lower layers (ZUNPACK_OVERLAY): directories a hard link may point
     * into when its target is not in this layer; the file is copied up. */
    const char *const *lower_dirs; size_t n_lower_dirs;
    /* When set, the uncompressed stream's sha256 is computed and must equal
     * this (the image config's diff_id). */
    const char *expect_diff_id;
};

struct zunpack_stats { uint64_t entries, bytes, skipped_devices, squashed_owners; };

/* Unpacks the layer at blob_path (compression detected from the content,
 * not trusted from the media type) into the directory dirfd. `what` names
 * the layer in errors ("layer sha256:ab.. of busybox:latest"). On error the
 * target is left partly written: callers unpack into a temp dir and rename. */
int zunpack_layer(int dirfd, const char *blob_path, const char *what,
                  const struct zunpack_opts *o, struct zunpack_stats *st, struct zerr *e);

/* Unpacks the image's layers into the store (layers/<diffid>/rootfs, each
 * via a temp dir + rename, with the "complete" marker; already complete
 * ones are reused) and returns their rootfs paths, topmost first, as
 * overlay lowerdirs. Takes the store lock shared. */
struct zimage;
int zlayers_prepare(struct zstore *s, const struct zimage *im, char ***dirs, size_t *n,
                    struct zerr *e);
void zlayers_free(char **dirs, size_t n);

#endif
