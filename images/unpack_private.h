/* Internals of the layer unpacker, shared by unpack.c (the stream and the
 * entry loop), unpack_path.c (names, resolution inside the target,
 * removal, the set of paths this layer made), unpack_entry.c (creating
 * each kind of entry and its metadata) and unpack_whiteout.c. Not for use
 * outside images/. */
#ifndef ZONE_IMAGES_UNPACK_PRIVATE_H
#define ZONE_IMAGES_UNPACK_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "images/unpack.h"

struct archive;
struct archive_entry;

/* Bounds against hostile tars (see the checks in unpack_entry.c). */
#define ZU_NAME_MAX     4095        /* whole entry name, like PATH_MAX - 1 */
#define ZU_LINK_MAX     4095        /* symlink / hard link target */
#define ZU_XATTR_COUNT  128         /* xattrs per entry */
#define ZU_XATTR_VALUE  65536       /* one value (XATTR_SIZE_MAX) */
#define ZU_XATTR_TOTAL  (1u << 20)  /* all values of one entry */
#define ZU_TREE_DEPTH   512         /* recursion (one fd per level) when removing */

/* A set of strings (open addressing); keys are copied. */
struct zu_strset {
    char **slots;
    size_t cap, used;
};
int zu_strset_add(struct zu_strset *s, const char *key);   /* 0, or -1 ENOMEM */
bool zu_strset_has(const struct zu_strset *s, const char *key);
void zu_strset_free(struct zu_strset *s);

/* Directory metadata applied once every entry is in (mode and times:
 * creating children would change the mtime, and a read-only mode would
 * stop the children from being created). */
struct zu_dirmeta {
    char *path;                 /* cleaned, relative to the target ("" = root) */
    dev_t dev; ino_t ino;       /* what was there: reapplied only to the same dir */
    mode_t mode;
    struct timespec times[2];
};

struct zu_ctx {
    int root;                   /* O_RDONLY|O_DIRECTORY fd of the target */
    dev_t root_dev; ino_t root_ino;
    const struct zunpack_opts *o;
    struct zunpack_stats *st;
    const char *what;           /* the layer, for errors */
    struct zerr *e;
    struct archive *ar;         /* the tar reader (entry data) */
    /* ZUNPACK_FLAT: what this layer made or went through, so an opaque
     * whiteout or a whiteout removes only what earlier layers left. Keys:
     * "d<dev>:<ino>" for directories, "e<dev>:<ino>/<name>" for other
     * entries (parent directory + name, so hard links stay distinct). */
    struct zu_strset touched;
    struct zu_dirmeta *dirs; size_t n_dirs, cap_dirs;
    int *lower_fds;             /* opened lazily, -1 until then */
    bool mknod_denied;          /* mknod gave EPERM once: skip devices */
};

/* ---- unpack_path.c ---- */
/* Cleans an entry name: leading "/" and "./" are stripped (absolute names
 * land inside the target, as tar, runc and podman do), "." components are
 * dropped, ".." pops the previous component and is refused when it would
 * climb above the root. Components longer than NAME_MAX, names longer than
 * ZU_NAME_MAX and empty results of a non-root name are refused. "" means
 * the root itself. Returns a malloc'd string, or NULL with e filled. */
char *zu_clean_name(const char *raw, const char *kind, struct zerr *e);
/* Splits a cleaned name into its parent ("" for top level) and its last
 * component, both pointing into name (which is modified). */
void zu_split(char *name, const char **parent, const char **base);
/* O_PATH fd of the directory `dir` (a cleaned name) inside the target,
 * created (0755) with its missing parents when `create`. Symlinks on the
 * way are resolved inside the target. -1 with errno ENOENT (not created)
 * or with e filled. */
int zu_open_dir(struct zu_ctx *c, const char *dir, bool create, struct zerr *e);
/* openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) relative to root_fd. */
int zu_openat2_in_root(int root_fd, const char *path, int flags);
/* Removes parent/name whatever it is (a directory with its contents);
 * ENOENT is not an error. Never follows symlinks. */
int zu_remove_tree(struct zu_ctx *c, int parent, const char *name, const char *entry);
/* Makes room for a new entry at parent/name: removes what is there unless
 * it is a directory and want_dir (then *kept is set). */
int zu_prepare_slot(struct zu_ctx *c, int parent, const char *name, bool want_dir,
                    bool *kept, const char *entry);
/* ZUNPACK_FLAT bookkeeping (no-ops in overlay mode). */
int zu_mark_dir_chain(struct zu_ctx *c, int dirfd);
int zu_mark_entry(struct zu_ctx *c, int parent, const char *name);
bool zu_is_marked(struct zu_ctx *c, int parent, const struct stat *parent_st,
                  const char *name, const struct stat *child);
/* Removes every child of dirfd that this layer did not make, recursing
 * into directories it did. */
int zu_remove_lower(struct zu_ctx *c, int dirfd, const char *entry, unsigned depth);
/* "/proc/self/fd/<parent>/<name>": reaches parent/name without following
 * a symlink at name when used with l*() calls. */
void zu_proc_path(char *buf, size_t n, int parent, const char *name);

/* ---- unpack_entry.c ---- */
/* Creates one (non-whiteout) entry; `name` is cleaned, `raw` as in the tar. */
int zu_entry(struct zu_ctx *c, struct archive_entry *ae, char *name, const char *raw);
/* Applies deferred directory modes and times. */
int zu_finish_dirs(struct zu_ctx *c);
void zu_dirs_free(struct zu_ctx *c);

/* ---- unpack_whiteout.c ---- */
/* True when the last component of a cleaned name is a whiteout name. */
bool zu_is_whiteout(const char *name);
/* Applies the whiteout entry `name` (cleaned) for the current mode. */
int zu_whiteout(struct zu_ctx *c, char *name, const char *raw);

#endif
