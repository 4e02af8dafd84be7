/* Safe path helpers: resolving and creating paths inside a container root
 * without ever following a symlink out of it, lexical path cleanup, and
 * small whole-file read / atomic write helpers. */
#ifndef ZONE_CORE_PATH_H
#define ZONE_CORE_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* Opens `path` as if root_fd were "/": absolute symlinks and ".." are
 * clamped to root_fd, magic links (/proc/self/fd/...) are not jumped.
 * Uses openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); on kernels without
 * openat2 it resolves component by component with O_NOFOLLOW. `flags` are
 * open(2) flags (O_CLOEXEC is always added); `mode` is used with O_CREAT.
 * Returns the fd or -1. */
int zpath_open_in_root(int root_fd, const char *path, int flags, mode_t mode,
                       struct zerr *e);

/* Creates every missing directory of `path` inside root_fd (mode, subject to
 * umask) and returns an O_PATH|O_DIRECTORY fd of the final directory.
 * Symlinks met on the way are resolved inside the root. */
int zpath_mkdir_p_in_root(int root_fd, const char *path, mode_t mode,
                          struct zerr *e);

/* Like zpath_mkdir_p_in_root for the parent directories, then creates
 * `path` as an empty regular file (mode) if nothing exists there. Returns
 * an O_PATH fd of whatever non-symlink object ends up at `path` (a bind
 * mount target for files, devices or sockets). */
int zpath_mkfile_in_root(int root_fd, const char *path, mode_t mode,
                         struct zerr *e);

/* Tests only: forces the component-by-component resolver used on kernels
 * older than 5.6, so that it can be exercised on new kernels. */
void zpath_force_fallback(bool on);

/* Lexical cleanup in the manner of Go's path.Clean: collapses "//", drops
 * ".", resolves ".." against the preceding element ("/.." is "/"), no
 * trailing slash; "" becomes ".". Returns a malloc'd string or NULL (ENOMEM). */
char *zpath_clean(const char *path);

/* Cleans a + "/" + b. Returns a malloc'd string or NULL (ENOMEM). */
char *zpath_join(const char *a, const char *b);

bool zpath_is_abs(const char *path);

/* True when cleaned `path` equals `prefix` or lies below it (both absolute,
 * clean). */
bool zpath_has_prefix(const char *path, const char *prefix);

/* Reads a whole file into a malloc'd, NUL-terminated buffer; fails with
 * EFBIG when it is larger than max bytes. *len (if not NULL) gets the size
 * without the terminator. */
char *zfile_read(const char *path, size_t max, size_t *len, struct zerr *e);

/* Replaces dirfd/name atomically: writes a temporary file in the same
 * directory and renames it over `name`. No fsync: callers keep state on
 * tmpfs, where durability means nothing and fsync costs. */
int zfile_write_atomic(int dirfd, const char *name, const void *buf,
                       size_t len, mode_t mode, struct zerr *e);

#endif
