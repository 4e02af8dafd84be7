/* Extended attributes, 9P2000.L style: Txattrwalk reads a value (or, with
 * an empty name, the list of names) into a new fid that the guest then
 * Treads; Txattrcreate turns a fid into a buffer that Twrites fill and
 * Tclunk sets (an empty value removes the attribute, as the Linux client
 * uses it for removexattr). Sizes are capped at the kernel's own limits
 * (64 KiB) before any allocation.
 *
 * The file is named through /proc/self/fd/N of the fid's fd; a symlink,
 * whose /proc link would name the link in /proc, is named as
 * /proc/self/fd/<parent>/<name> with the l*xattr calls. */
#include "vm-sandbox/p9/p9_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define P9_XATTR_MAX (64u * 1024)   /* XATTR_SIZE_MAX and XATTR_LIST_MAX */

/* A path naming the fid's file for the *xattr calls; *nofollow says to use
 * the l* variants; *tmpfd (a parent directory) is closed by the caller. */
static int xattr_path(struct p9_server *s, struct p9_fid *f, char *path, size_t cap, bool *nofollow, int *tmpfd)
{
    char name[256];
    int err;
    *tmpfd = -1;
    *nofollow = false;
    if (!S_ISLNK(f->type)) {
        p9_fd_path(f->fd, path, cap);
        return 0;
    }
    if ((err = p9_open_parent(s, f, tmpfd, name)))
        return err;
    *nofollow = true;
    if ((size_t)snprintf(path, cap, "/proc/self/fd/%d/%s", *tmpfd, name) >= cap)
        return ENAMETOOLONG;
    return 0;
}

/* Writable namespaces. trusted.* is refused: it is the host's (overlayfs
 * keeps its whiteouts and redirects there). */
static bool may_set(const char *name)
{
    return !strncmp(name, "user.", 5) || !strncmp(name, "security.", 9) ||
           !strcmp(name, "system.posix_acl_access") || !strcmp(name, "system.posix_acl_default");
}

/* The value of name (or the list when name is NULL) in a new buffer. */
static int read_xattr(const char *path, bool nofollow, const char *name, uint8_t **buf, size_t *len)
{
    for (int tries = 0; tries < 4; tries++) {
        ssize_t n, m;
        uint8_t *b;
        if (name)
            n = nofollow ? lgetxattr(path, name, NULL, 0) : getxattr(path, name, NULL, 0);
        else
            n = nofollow ? llistxattr(path, NULL, 0) : listxattr(path, NULL, 0);
        if (n < 0)
            return p9_errno();
        if ((size_t)n > P9_XATTR_MAX)
            return E2BIG;
        b = malloc((size_t)n + 1);
        if (!b)
            return ENOMEM;
        if (name)
            m = nofollow ? lgetxattr(path, name, b, (size_t)n) : getxattr(path, name, b, (size_t)n);
        else
            m = nofollow ? llistxattr(path, (char *)b, (size_t)n) : listxattr(path, (char *)b, (size_t)n);
        if (m >= 0) {
            *buf = b;
            *len = (size_t)m;
            return 0;
        }
        free(b);
        if (errno != ERANGE) /* ERANGE: it grew in between; ask again */
            return p9_errno();
    }
    return EAGAIN;
}

int p9_op_xattrwalk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in), newfid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    char name[256], path[320];
    struct p9_fid *f, *nf;
    uint8_t *buf = NULL;
    size_t len = 0;
    bool nofollow;
    int tmpfd, err;

    if (in->bad)
        return EPROTO;
    if ((err = p9_str_copy(sname, name, sizeof name)) || (err = p9_node_fid(s, fid, &f)))
        return err;
    if (newfid == P9_NOFID || p9_fid_get(&s->fids, newfid))
        return EBADF;
    err = xattr_path(s, f, path, sizeof path, &nofollow, &tmpfd);
    if (!err)
        err = read_xattr(path, nofollow, name[0] ? name : NULL, &buf, &len);
    if (tmpfd >= 0)
        close(tmpfd);
    if (err)
        return err;
    if ((err = p9_fid_new(&s->fids, newfid, &nf))) {
        free(buf);
        return err;
    }
    nf->kind = P9_FID_XATTR_READ;
    nf->xattr_buf = buf;
    nf->xattr_size = len;
    nf->type = f->type;
    nf->uid = f->uid;
    p9_put64(out, len);
    return 0;
}

int p9_op_xattrcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    uint64_t size = p9_get64(in);
    uint32_t flags = p9_get32(in);
    char name[256], *dup;
    struct p9_fid *f;
    uint8_t *buf;
    int err;
    (void)out;

    if (in->bad)
        return EPROTO;
    if ((err = p9_str_copy(sname, name, sizeof name)) || (err = p9_node_fid(s, fid, &f)))
        return err;
    if (!name[0] || flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
        return EINVAL;
    if (s->read_only)
        return EROFS;
    if (!may_set(name))
        return EOPNOTSUPP;
    if (size > P9_XATTR_MAX)
        return E2BIG;
    if (f->open_fd >= 0)
        return EBUSY;
    dup = strdup(name);
    buf = calloc(1, size ? size : 1);
    if (!dup || !buf) {
        free(dup);
        free(buf);
        return ENOMEM;
    }
    /* the fid itself becomes the attribute being written */
    f->kind = P9_FID_XATTR_WRITE;
    f->xattr_name = dup;
    f->xattr_buf = buf;
    f->xattr_size = size;
    f->xattr_written = 0;
    f->xattr_flags = (int)flags;
    return 0;
}

int p9_xattr_commit(struct p9_server *s, struct p9_fid *f)
{
    char path[320];
    bool nofollow;
    int tmpfd, err, rc;

    if (f->xattr_written != f->xattr_size)
        return EINVAL; /* the guest wrote less than it announced */
    if ((err = xattr_path(s, f, path, sizeof path, &nofollow, &tmpfd)) == 0) {
        if (f->xattr_size == 0)
            rc = nofollow ? lremovexattr(path, f->xattr_name) : removexattr(path, f->xattr_name);
        else if (nofollow)
            rc = lsetxattr(path, f->xattr_name, f->xattr_buf, f->xattr_size, f->xattr_flags);
        else
            rc = setxattr(path, f->xattr_name, f->xattr_buf, f->xattr_size, f->xattr_flags);
        if (rc)
            err = p9_errno();
    }
    if (tmpfd >= 0)
        close(tmpfd);
    return err;
}
