/* Tgetattr, Tsetattr and Tstatfs, all on the fid's own fd (AT_EMPTY_PATH
 * or /proc/self/fd/N), so nothing is looked up by name and no symlink is
 * followed. */
#include "vm-sandbox/p9/p9_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define P9_GETATTR_BASIC 0x000007ffULL
#define P9_GETATTR_BTIME 0x00000800ULL

#define P9_SETATTR_MODE 0x001
#define P9_SETATTR_UID 0x002
#define P9_SETATTR_GID 0x004
#define P9_SETATTR_SIZE 0x008
#define P9_SETATTR_ATIME 0x010
#define P9_SETATTR_MTIME 0x020
#define P9_SETATTR_CTIME 0x040
#define P9_SETATTR_ATIME_SET 0x080
#define P9_SETATTR_MTIME_SET 0x100
#define P9_SETATTR_ALL 0x1ff

int p9_op_getattr(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    struct p9_fid *f;
    struct statx stx;
    struct stat st = { 0 };
    struct p9_qid q;
    uint64_t valid = P9_GETATTR_BASIC;
    int err;

    p9_get64(in); /* request_mask: everything basic is cheap to send */
    if (in->bad)
        return EPROTO;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (statx(f->fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &stx))
        return p9_errno();
    st.st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    st.st_ino = stx.stx_ino;
    st.st_mode = stx.stx_mode;
    p9_stat_qid(s, &st, &q);
    if (stx.stx_mask & STATX_BTIME)
        valid |= P9_GETATTR_BTIME;
    else
        stx.stx_btime = (struct statx_timestamp){ 0 };
    p9_put64(out, valid);
    p9_putqid(out, &q);
    p9_put32(out, stx.stx_mode);
    p9_put32(out, stx.stx_uid);
    p9_put32(out, stx.stx_gid);
    p9_put64(out, stx.stx_nlink);
    p9_put64(out, makedev(stx.stx_rdev_major, stx.stx_rdev_minor));
    p9_put64(out, stx.stx_size);
    p9_put64(out, stx.stx_blksize);
    p9_put64(out, stx.stx_blocks);
    p9_put64(out, (uint64_t)stx.stx_atime.tv_sec);
    p9_put64(out, stx.stx_atime.tv_nsec);
    p9_put64(out, (uint64_t)stx.stx_mtime.tv_sec);
    p9_put64(out, stx.stx_mtime.tv_nsec);
    p9_put64(out, (uint64_t)stx.stx_ctime.tv_sec);
    p9_put64(out, stx.stx_ctime.tv_nsec);
    p9_put64(out, (uint64_t)stx.stx_btime.tv_sec);
    p9_put64(out, stx.stx_btime.tv_nsec);
    p9_put64(out, 0); /* gen */
    p9_put64(out, 0); /* data_version */
    return 0;
}

static int set_times(struct p9_fid *f, uint32_t valid, uint64_t asec, uint64_t ansec, uint64_t msec,
                     uint64_t mnsec)
{
    struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
    char path[32];
    if (valid & P9_SETATTR_ATIME) {
        if (!(valid & P9_SETATTR_ATIME_SET))
            ts[0].tv_nsec = UTIME_NOW;
        else if (ansec >= 1000000000 || asec > INT64_MAX)
            return EINVAL;
        else
            ts[0] = (struct timespec){ (time_t)asec, (long)ansec };
    }
    if (valid & P9_SETATTR_MTIME) {
        if (!(valid & P9_SETATTR_MTIME_SET))
            ts[1].tv_nsec = UTIME_NOW;
        else if (mnsec >= 1000000000 || msec > INT64_MAX)
            return EINVAL;
        else
            ts[1] = (struct timespec){ (time_t)msec, (long)mnsec };
    }
    if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    /* kernels before AT_EMPTY_PATH in utimensat (5.8): through /proc for
     * anything but a symlink, whose /proc link would be the link itself */
    if (errno != EINVAL || S_ISLNK(f->type))
        return p9_errno();
    p9_fd_path(f->fd, path, sizeof path);
    return utimensat(AT_FDCWD, path, ts, 0) ? p9_errno() : 0;
}

static int set_size(struct p9_fid *f, uint64_t size)
{
    int fd, err = 0;
    if (S_ISDIR(f->type))
        return EISDIR;
    if (!S_ISREG(f->type))
        return EINVAL;
    if (size > INT64_MAX)
        return EFBIG;
    if (f->open_fd >= 0 && (f->open_flags & O_ACCMODE) != O_RDONLY)
        return ftruncate(f->open_fd, (off_t)size) ? p9_errno() : 0;
    fd = p9_reopen(f, O_WRONLY);
    if (fd < 0)
        return -fd;
    if (ftruncate(fd, (off_t)size))
        err = p9_errno();
    close(fd);
    return err;
}

int p9_op_setattr(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in), valid = p9_get32(in), mode = p9_get32(in);
    uint32_t uid = p9_get32(in), gid = p9_get32(in);
    uint64_t size = p9_get64(in);
    uint64_t asec = p9_get64(in), ansec = p9_get64(in), msec = p9_get64(in), mnsec = p9_get64(in);
    struct p9_fid *f;
    int err;
    (void)out;

    if (in->bad)
        return EPROTO;
    if (valid & ~(uint32_t)P9_SETATTR_ALL)
        return EINVAL;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    /* a bare CTIME asks for nothing the other changes do not do anyway */
    if (s->read_only && (valid & ~(uint32_t)P9_SETATTR_CTIME))
        return EROFS;
    /* owner first: chown clears set-id bits that a mode in the same
     * request then sets */
    if (valid & (P9_SETATTR_UID | P9_SETATTR_GID)) {
        uid_t u = (valid & P9_SETATTR_UID) ? uid : (uid_t)-1;
        gid_t g = (valid & P9_SETATTR_GID) ? gid : (gid_t)-1;
        if (fchownat(f->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
            return p9_errno();
    }
    if (valid & P9_SETATTR_MODE) {
        char path[32];
        if (S_ISLNK(f->type))
            return EOPNOTSUPP; /* Linux has no mode on symlinks either */
        p9_fd_path(f->fd, path, sizeof path);
        if (fchmodat(AT_FDCWD, path, mode & 07777, 0))
            return p9_errno();
    }
    if ((valid & P9_SETATTR_SIZE) && (err = set_size(f, size)))
        return err;
    if ((valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) &&
        (err = set_times(f, valid, asec, ansec, msec, mnsec)))
        return err;
    return 0;
}

int p9_op_statfs(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    struct p9_fid *f;
    struct statfs st;
    uint64_t fsid;
    int err;
    if (in->bad)
        return EPROTO;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (fstatfs(f->fd, &st))
        return p9_errno();
    fsid = (uint64_t)(uint32_t)st.f_fsid.__val[0] | (uint64_t)(uint32_t)st.f_fsid.__val[1] << 32;
    p9_put32(out, (uint32_t)st.f_type);
    p9_put32(out, (uint32_t)st.f_bsize);
    p9_put64(out, st.f_blocks);
    p9_put64(out, st.f_bfree);
    p9_put64(out, st.f_bavail);
    p9_put64(out, st.f_files);
    p9_put64(out, st.f_ffree);
    p9_put64(out, fsid);
    p9_put32(out, (uint32_t)st.f_namelen);
    return 0;
}
