/* Layer unpack: OCI whiteouts.
 *
 *   D/.wh.NAME       NAME was deleted in this layer
 *   D/.wh..wh..opq   D hides everything below it from earlier layers
 *
 * ZUNPACK_OVERLAY writes them in overlayfs form: a 0/0 character device
 * NAME (whatever this layer already put there is removed) and the opaque
 * xattr "y" on D. ZUNPACK_FLAT applies them to a tree holding the earlier
 * layers: entries of one layer may come in any order, so only what earlier
 * layers left is removed; what this layer made (recorded in c->touched,
 * see unpack_path.c) stays, whether it came before or after the whiteout.
 *
 * ".wh.", ".wh.." and ".wh..." would name "", "." or ".." and delete the
 * parent or the grandparent: refused. Other ".wh..wh." names are aufs
 * bookkeeping (".wh..wh.plnk", ".wh..wh.aufs") and are skipped. */
#include "images/unpack_private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/cleanup.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

static const char *last_component(const char *name)
{
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

bool zu_is_whiteout(const char *name)
{
    return !strncmp(last_component(name), WH_PREFIX, strlen(WH_PREFIX));
}

static int overlay_opaque(struct zu_ctx *c, const char *dir, const char *raw)
{
    _cleanup_close_ int path_fd = -1, fd = -1;
    const char *xattr = c->o->opaque_xattr ? c->o->opaque_xattr : "trusted.overlay.opaque";

    if ((path_fd = zu_open_dir(c, dir, true, c->e)) < 0)
        return zerr_prefix(c->e, "entry \"%.200s\"", raw);
    fd = openat(path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(c->e, "entry \"%.200s\": opening directory", raw);
    if (fsetxattr(fd, xattr, "y", 1, 0) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": setting %s", raw, xattr);
    return 0;
}

static int overlay_whiteout(struct zu_ctx *c, const char *dir, const char *target,
                            const char *raw)
{
    _cleanup_close_ int parent = -1;

    if ((parent = zu_open_dir(c, dir, true, c->e)) < 0)
        return zerr_prefix(c->e, "entry \"%.200s\"", raw);
    if (zu_remove_tree(c, parent, target, raw) < 0)
        return -1;
    /* Unlike device entries, a whiteout cannot be skipped when mknod is
     * denied: the lower file would show through. Since Linux 5.8 a 0/0
     * character device may be made inside a user namespace. */
    if (mknodat(parent, target, S_IFCHR | 0000, makedev(0, 0)) < 0)
        return zerr_sys(c->e, "entry \"%.200s\": creating the whiteout device", raw);
    return 0;
}

static int flat_opaque(struct zu_ctx *c, const char *dir, const char *raw)
{
    _cleanup_close_ int fd = -1;

    /* The opaque directory itself belongs to this layer (overlayfs would
     * show it, empty, even if no lower layer had it). */
    if ((fd = zu_open_dir(c, dir, true, c->e)) < 0)
        return zerr_prefix(c->e, "entry \"%.200s\"", raw);
    if (zu_mark_dir_chain(c, fd) < 0)
        return -1;
    return zu_remove_lower(c, fd, raw, 0);
}

static int flat_whiteout(struct zu_ctx *c, const char *dir, const char *target,
                         const char *raw)
{
    _cleanup_close_ int parent = -1, sub = -1;
    struct stat pst, st;

    parent = zu_open_dir(c, dir, false, c->e);
    if (parent < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;   /* nothing to delete */
    if (fstat(parent, &pst) < 0)
        return zerr_sys(c->e, "entry \"%.200s\"", raw);
    if (fstatat(parent, target, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : zerr_sys(c->e, "entry \"%.200s\"", raw);
    if (!zu_is_marked(c, parent, &pst, target, &st))
        return zu_remove_tree(c, parent, target, raw);
    /* This layer made (or went through) NAME itself: keep its entries and
     * drop what earlier layers had below it. */
    if (!S_ISDIR(st.st_mode))
        return 0;
    sub = openat(parent, target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return zerr_sys(c->e, "entry \"%.200s\"", raw);
    return zu_remove_lower(c, sub, raw, 0);
}

int zu_whiteout(struct zu_ctx *c, char *name, const char *raw)
{
    const char *dir, *base, *target;

    zu_split(name, &dir, &base);
    if (!strcmp(base, WH_OPAQUE))
        return c->o->mode == ZUNPACK_OVERLAY ? overlay_opaque(c, dir, raw)
                                             : flat_opaque(c, dir, raw);
    if (!strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)))
        return 0;
    target = base + strlen(WH_PREFIX);
    if (!*target || !strcmp(target, ".") || !strcmp(target, ".."))
        return zerr_set(c->e, EPERM, "entry \"%.200s\": whiteout name \"%s\" would delete its "
                        "parent directory", raw, base);
    return c->o->mode == ZUNPACK_OVERLAY ? overlay_whiteout(c, dir, target, raw)
                                         : flat_whiteout(c, dir, target, raw);
}
