/* Operations on directory entries: Tmkdir, Tsymlink, Tmknod, Treadlink,
 * Tlink, Trename, Trenameat, Tunlinkat. Each takes one checked name
 * relative to a directory fid's fd; new entries get the attached uid and
 * the guest's gid (p9_set_new_owner) and are removed again when that
 * fails, so a failed create leaves nothing behind. */
#include "vm-sandbox/p9/p9_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define P9_AT_REMOVEDIR 0x200

/* The directory fid behind num, for an operation that changes it. */
static int dir_fid(struct p9_server *s, uint32_t num, bool modifies, struct p9_fid **out)
{
    int err = p9_node_fid(s, num, out);
    if (err)
        return err;
    if (!S_ISDIR((*out)->type))
        return ENOTDIR;
    if (modifies && s->read_only)
        return EROFS;
    return 0;
}

/* After creating name in d: owner, exact mode, qid; undone on failure. */
static int finish_create(struct p9_server *s, struct p9_fid *d, const char *name, bool is_dir, uint32_t gid,
                         mode_t mode, struct p9_out *out)
{
    int fd = p9_openat2(d->fd, name, O_PATH | O_NOFOLLOW, 0);
    struct stat st;
    struct p9_qid q;
    int err;
    if (fd < 0)
        return p9_errno(); /* replaced behind our back: not ours to remove */
    if (fstat(fd, &st))
        err = p9_errno();
    else
        err = p9_set_new_owner(s, fd, d->uid, gid, mode, S_ISLNK(st.st_mode));
    if (!err && fstat(fd, &st))
        err = p9_errno();
    close(fd);
    if (err) {
        unlinkat(d->fd, name, is_dir ? AT_REMOVEDIR : 0);
        return err;
    }
    p9_stat_qid(s, &st, &q);
    p9_putqid(out, &q);
    return 0;
}

int p9_op_mkdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    uint32_t mode = p9_get32(in), gid = p9_get32(in);
    struct p9_fid *d;
    char name[256];
    int err;
    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(sname, name)) || (err = dir_fid(s, dfid, true, &d)))
        return err;
    if (mkdirat(d->fd, name, mode & 07777))
        return p9_errno();
    return finish_create(s, d, name, true, gid, mode & 07777, out);
}

int p9_op_symlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str sname = p9_getstr(in), starget = p9_getstr(in);
    uint32_t gid = p9_get32(in);
    struct p9_fid *d;
    char name[256], *target;
    int err;
    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(sname, name)) || (err = dir_fid(s, dfid, true, &d)))
        return err;
    if (starget.len == 0)
        return ENOENT;
    /* the target is the guest's text: stored, never followed here */
    target = malloc(4096);
    if (!target)
        return ENOMEM;
    if ((err = p9_str_copy(starget, target, 4096)) == 0 && symlinkat(target, d->fd, name))
        err = p9_errno();
    free(target);
    if (err)
        return err;
    return finish_create(s, d, name, false, gid, 0777, out);
}

int p9_op_mknod(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    uint32_t mode = p9_get32(in), major = p9_get32(in), minor = p9_get32(in), gid = p9_get32(in);
    struct p9_fid *d;
    char name[256];
    mode_t type = mode & S_IFMT;
    int err;
    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(sname, name)) || (err = dir_fid(s, dfid, true, &d)))
        return err;
    if (type == 0)
        type = S_IFREG;
    if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
        return EINVAL;
    /* device nodes are made for the guest's kernel; the server never opens
     * them (p9_reopen refuses anything but files and directories) */
    if (mknodat(d->fd, name, type | (mode & 07777), makedev(major, minor)))
        return p9_errno();
    return finish_create(s, d, name, false, gid, mode & 07777, out);
}

int p9_op_readlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    struct p9_fid *f;
    char *buf;
    ssize_t n;
    int err;
    if (in->bad)
        return EPROTO;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (!S_ISLNK(f->type))
        return EINVAL;
    buf = malloc(4096);
    if (!buf)
        return ENOMEM;
    n = readlinkat(f->fd, "", buf, 4096);
    if (n < 0)
        err = p9_errno();
    else if (n >= 4096)
        err = ENAMETOOLONG;
    else
        p9_putstr(out, buf, (size_t)n);
    free(buf);
    return err;
}

int p9_op_link(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t dfid = p9_get32(in), fid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    struct p9_fid *d, *f;
    char name[256], path[32];
    int err;
    (void)out;
    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(sname, name)) || (err = dir_fid(s, dfid, true, &d)) ||
        (err = p9_node_fid(s, fid, &f)))
        return err;
    if (S_ISDIR(f->type))
        return EPERM;
    if (S_ISLNK(f->type)) {
        /* a symlink is linked by its name, never followed: through /proc
         * its target would be resolved on the host */
        char old_name[256];
        int pfd;
        if ((err = p9_open_parent(s, f, &pfd, old_name)))
            return err;
        if (linkat(pfd, old_name, d->fd, name, 0))
            err = p9_errno();
        close(pfd);
        return err;
    }
    /* the fid's own inode, through /proc/self/fd/N (not a symlink, so
     * nothing further is followed): AT_EMPTY_PATH would need
     * CAP_DAC_READ_SEARCH on kernels before 6.10 */
    p9_fd_path(f->fd, path, sizeof path);
    if (linkat(AT_FDCWD, path, d->fd, name, AT_SYMLINK_FOLLOW))
        return p9_errno();
    return 0;
}

/* Renames dir_path/old_name to new_dir_path/new_name in every fid. */
static void follow_rename(struct p9_server *s, const char *old_dir, const char *old_name, const char *new_dir,
                          const char *new_name)
{
    char *from = malloc(4096), *to = malloc(4096);
    if (from && to && !p9_join(old_dir, old_name, from, 4096) && !p9_join(new_dir, new_name, to, 4096))
        p9_fids_renamed(&s->fids, from, to);
    free(from);
    free(to);
}

int p9_op_rename(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in), dfid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    struct p9_fid *f, *d;
    char name[256], old_name[256], *old_dir;
    int pfd, err;
    (void)out;
    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(sname, name)) || (err = p9_node_fid(s, fid, &f)) ||
        (err = dir_fid(s, dfid, true, &d)))
        return err;
    if ((err = p9_open_parent(s, f, &pfd, old_name)))
        return err;
    if (renameat(pfd, old_name, d->fd, name))
        err = p9_errno();
    close(pfd);
    if (err)
        return err;
    /* f->path is replaced while the fids follow: work on a copy */
    old_dir = strdup(f->path);
    if (old_dir) {
        char *slash = strrchr(old_dir, '/');
        char *new_dir = strdup(d->path ? d->path : "");
        *(slash ? slash : old_dir) = '\0';
        if (new_dir)
            follow_rename(s, old_dir, old_name, new_dir, name);
        free(new_dir);
    }
    free(old_dir);
    return 0;
}

int p9_op_renameat(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t ofid = p9_get32(in);
    struct p9_str soname = p9_getstr(in);
    uint32_t nfid = p9_get32(in);
    struct p9_str snname = p9_getstr(in);
    struct p9_fid *od, *nd;
    char oname[256], nname[256], *odir, *ndir;
    int err;
    (void)out;
    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(soname, oname)) || (err = p9_name_copy(snname, nname)) ||
        (err = dir_fid(s, ofid, true, &od)) || (err = dir_fid(s, nfid, true, &nd)))
        return err;
    if (renameat(od->fd, oname, nd->fd, nname))
        return p9_errno();
    odir = strdup(od->path ? od->path : "");
    ndir = strdup(nd->path ? nd->path : "");
    if (odir && ndir)
        follow_rename(s, odir, oname, ndir, nname);
    free(odir);
    free(ndir);
    return 0;
}

int p9_op_unlinkat(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t dfid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    uint32_t flags = p9_get32(in);
    struct p9_fid *d;
    char name[256];
    int err;
    (void)out;
    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(sname, name)) || (err = dir_fid(s, dfid, true, &d)))
        return err;
    if (flags & ~(uint32_t)P9_AT_REMOVEDIR)
        return EINVAL;
    if (unlinkat(d->fd, name, (flags & P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0))
        return p9_errno();
    return 0;
}
