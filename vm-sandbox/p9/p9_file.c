/* Open files: Tlopen, Tlcreate, Tread, Twrite, Treaddir, Tfsync, Tlock and
 * Tgetlock. Counts are clamped to the reply's room (min(msize, resp_cap)
 * less the header), so a guest's huge count cannot overrun a reply. */
#include "vm-sandbox/p9/p9_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 9P2000.L open flags (the Linux client's P9_DOTL_*); translated one by
 * one so that no host-only flag can be smuggled in. */
#define P9_DOTL_ACCMODE 03
#define P9_DOTL_NOACCESS 03
#define P9_DOTL_EXCL 0200
#define P9_DOTL_TRUNC 01000
#define P9_DOTL_DSYNC 010000
#define P9_DOTL_DIRECTORY 0200000
#define P9_DOTL_SYNC 04000000

#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_FLAGS_ALL 3   /* BLOCK | RECLAIM */
#define P9_LOCK_SUCCESS 0

/* Host flags for a 9P open, or -1 for an invalid access mode. O_CREAT,
 * O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECT, O_NOATIME and O_ASYNC are
 * dropped: the server decides how it creates, follows nothing, and does
 * not take the guest's page-cache or signal choices. O_APPEND is dropped
 * too: the client computes the end of file itself and sends it as
 * Twrite's offset, and with cache=loose it writes back whole pages at
 * their offsets, which a host O_APPEND would move to the end (pwrite(2)
 * ignores the offset on O_APPEND files). */
static int host_open_flags(uint32_t flags)
{
    int h;
    switch (flags & P9_DOTL_ACCMODE) {
    case 0: h = O_RDONLY; break;
    case 1: h = O_WRONLY; break;
    case 2: h = O_RDWR; break;
    default: return -1;
    }
    if (flags & P9_DOTL_TRUNC)
        h |= O_TRUNC;
    if (flags & P9_DOTL_DSYNC)
        h |= O_DSYNC;
    if (flags & P9_DOTL_SYNC)
        h |= O_SYNC;
    if (flags & P9_DOTL_DIRECTORY)
        h |= O_DIRECTORY;
    return h;
}

static bool writes(int hflags)
{
    return (hflags & O_ACCMODE) != O_RDONLY || (hflags & O_TRUNC);
}

int p9_op_lopen(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in), flags = p9_get32(in);
    struct p9_fid *f;
    struct stat st;
    struct p9_qid q;
    int hflags, fd, err;
    if (in->bad)
        return EPROTO;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (f->open_fd >= 0)
        return EBUSY;
    hflags = host_open_flags(flags);
    if (hflags < 0)
        return EINVAL;
    if (s->read_only && writes(hflags))
        return EROFS;
    if (S_ISDIR(f->type) && (hflags & O_ACCMODE) != O_RDONLY)
        return EISDIR;
    fd = p9_reopen(f, hflags);
    if (fd < 0)
        return -fd;
    if (fstat(fd, &st)) {
        err = p9_errno();
        close(fd);
        return err;
    }
    /* the open fd serves every later use of the fid: one fd per fid */
    close(f->fd);
    f->fd = f->open_fd = fd;
    f->open_flags = hflags;
    p9_stat_qid(s, &st, &q);
    p9_putqid(out, &q);
    p9_put32(out, 0); /* iounit 0: the client uses msize - 24 */
    return 0;
}

int p9_op_lcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    struct p9_str sname = p9_getstr(in);
    uint32_t flags = p9_get32(in), mode = p9_get32(in), gid = p9_get32(in);
    char name[256], *path;
    struct p9_fid *f;
    struct stat st;
    struct p9_qid q;
    bool created = true;
    int hflags, fd, err;

    if (in->bad)
        return EPROTO;
    if ((err = p9_name_copy(sname, name)) || (err = p9_node_fid(s, fid, &f)))
        return err;
    if (!S_ISDIR(f->type))
        return ENOTDIR;
    if (f->open_fd >= 0)
        return EBUSY;
    if (s->read_only)
        return EROFS;
    hflags = host_open_flags(flags);
    if (hflags < 0)
        return EINVAL;
    hflags &= ~O_DIRECTORY;
    path = malloc(4096);
    if (!path)
        return ENOMEM;
    if ((err = p9_join(f->path ? f->path : "", name, path, 4096))) {
        free(path);
        return err;
    }
    fd = p9_openat2(f->fd, name, hflags | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 07777);
    if (fd < 0 && errno == EEXIST && !(flags & P9_DOTL_EXCL)) {
        /* an existing file is opened as Tlopen would: a regular file only,
         * found without following a symlink */
        struct p9_fid tmp = { .fd = p9_openat2(f->fd, name, O_PATH | O_NOFOLLOW, 0), .open_fd = -1 };
        created = false;
        fd = -1;
        if (tmp.fd >= 0 && fstat(tmp.fd, &st) == 0) {
            tmp.type = st.st_mode & S_IFMT;
            fd = S_ISREG(tmp.type) ? p9_reopen(&tmp, hflags) : -EEXIST;
            if (fd < 0) {
                errno = -fd;
                fd = -1;
            }
        }
        if (tmp.fd >= 0) {
            int saved = errno;
            close(tmp.fd);
            errno = saved;
        }
    }
    if (fd < 0) {
        err = p9_errno();
        free(path);
        return err;
    }
    if (created && (err = p9_set_new_owner(s, fd, f->uid, gid, mode, false)))
        goto undo;
    if (fstat(fd, &st)) {
        err = p9_errno();
        goto undo;
    }
    /* the directory fid becomes the new open file */
    close(f->fd);
    f->fd = f->open_fd = fd;
    f->open_flags = hflags;
    f->type = st.st_mode & S_IFMT;
    free(f->path);
    f->path = path;
    p9_stat_qid(s, &st, &q);
    p9_putqid(out, &q);
    p9_put32(out, 0);
    return 0;
undo:
    close(fd);
    if (created)
        unlinkat(f->fd, name, 0);
    free(path);
    return err;
}

int p9_op_read(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    uint64_t offset = p9_get64(in);
    uint32_t count = p9_get32(in);
    struct p9_fid *f;
    uint8_t *hdr, *data;
    size_t room;
    ssize_t n;

    if (in->bad)
        return EPROTO;
    f = p9_fid_get(&s->fids, fid);
    if (!f || f->kind == P9_FID_XATTR_WRITE)
        return EBADF;
    if (offset > INT64_MAX)
        return EINVAL;
    room = p9_out_left(out);
    room = room > 4 ? room - 4 : 0;
    if (count > room)
        count = (uint32_t)room;
    hdr = p9_reserve(out, 4);
    data = p9_reserve(out, count);
    if (!hdr || !data)
        return EMSGSIZE;
    if (f->kind == P9_FID_XATTR_READ) {
        n = 0;
        if (offset < f->xattr_size) {
            n = (ssize_t)(f->xattr_size - offset);
            if ((size_t)n > count)
                n = count;
            memcpy(data, f->xattr_buf + offset, (size_t)n);
        }
    } else {
        if (f->open_fd < 0)
            return EBADF;
        n = pread(f->open_fd, data, count, (off_t)offset);
        if (n < 0)
            return p9_errno();
    }
    out->pos -= count - (size_t)n;
    hdr[0] = (uint8_t)n;
    hdr[1] = (uint8_t)(n >> 8);
    hdr[2] = (uint8_t)(n >> 16);
    hdr[3] = (uint8_t)(n >> 24);
    return 0;
}

int p9_op_write(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    uint64_t offset = p9_get64(in);
    uint32_t count = p9_get32(in);
    const uint8_t *data = p9_getbytes(in, count);
    struct p9_fid *f;
    ssize_t n;

    if (in->bad)
        return EPROTO; /* count runs past the message */
    f = p9_fid_get(&s->fids, fid);
    if (!f || f->kind == P9_FID_XATTR_READ)
        return EBADF;
    if (f->kind == P9_FID_XATTR_WRITE) {
        if (offset > f->xattr_size || count > f->xattr_size - offset)
            return ERANGE;
        memcpy(f->xattr_buf + offset, data, count);
        if (offset + count > f->xattr_written)
            f->xattr_written = offset + count;
        p9_put32(out, count);
        return 0;
    }
    if (f->open_fd < 0)
        return EBADF;
    if (s->read_only)
        return EROFS;
    if (offset > INT64_MAX)
        return EINVAL;
    n = pwrite(f->open_fd, data, count, (off_t)offset);
    if (n < 0)
        return p9_errno();
    p9_put32(out, (uint32_t)n);
    return 0;
}

/* getdents64's record, read with bounds checks on d_reclen. */
struct host_dirent {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
};

int p9_op_readdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    uint64_t offset = p9_get64(in);
    uint32_t count = p9_get32(in);
    struct p9_fid *f;
    struct stat dst;
    uint8_t *hdr;
    size_t room, used = 0;
    bool full = false;
    int err;

    if (in->bad)
        return EPROTO;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (f->open_fd < 0)
        return EBADF;
    if (!S_ISDIR(f->type))
        return ENOTDIR;
    if (offset > INT64_MAX)
        return EINVAL;
    if (fstat(f->open_fd, &dst))
        return p9_errno();
    room = p9_out_left(out);
    room = room > 4 ? room - 4 : 0;
    if (count < room)
        room = count;
    if (lseek(f->open_fd, (off_t)offset, SEEK_SET) < 0)
        return p9_errno();
    hdr = p9_reserve(out, 4);
    if (!hdr)
        return EMSGSIZE;
    /* entries that do not fit are read again next time: the next Treaddir
     * starts at the offset of the last entry sent */
    while (!full) {
        ssize_t n = getdents64(f->open_fd, s->dirbuf, s->dirbuf_size);
        size_t pos = 0;
        if (n < 0) {
            if (used)
                break;
            return p9_errno();
        }
        if (n == 0)
            break;
        while (pos + offsetof(struct host_dirent, d_name) < (size_t)n) {
            struct host_dirent *d = (struct host_dirent *)(s->dirbuf + pos);
            size_t name_max, len, need;
            struct stat est;
            struct p9_qid q;
            if (d->d_reclen <= offsetof(struct host_dirent, d_name) || d->d_reclen > (size_t)n - pos)
                return EIO;
            name_max = d->d_reclen - offsetof(struct host_dirent, d_name);
            len = strnlen(d->d_name, name_max);
            need = 13 + 8 + 1 + 2 + len;
            if (len > 255 || need > room - used) {
                full = true;
                break;
            }
            memset(&est, 0, sizeof est);
            est.st_dev = dst.st_dev;
            est.st_ino = d->d_ino;
            est.st_mode = d->d_type == DT_DIR ? S_IFDIR : d->d_type == DT_LNK ? S_IFLNK : S_IFREG;
            p9_stat_qid(s, &est, &q);
            p9_putqid(out, &q);
            p9_put64(out, (uint64_t)d->d_off);
            p9_put8(out, d->d_type);
            p9_putstr(out, d->d_name, len);
            used += need;
            pos += d->d_reclen;
        }
    }
    hdr[0] = (uint8_t)used;
    hdr[1] = (uint8_t)(used >> 8);
    hdr[2] = (uint8_t)(used >> 16);
    hdr[3] = (uint8_t)(used >> 24);
    return 0;
}

int p9_op_fsync(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in), datasync = 0;
    struct p9_fid *f;
    int err;
    (void)out;
    /* datasync[4] came with Linux 3.x; older clients send only the fid */
    if (p9_in_left(in) >= 4)
        datasync = p9_get32(in);
    if (in->bad)
        return EPROTO;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (f->open_fd < 0)
        return EBADF;
    if (datasync ? fdatasync(f->open_fd) : fsync(f->open_fd))
        return p9_errno();
    return 0;
}

/* Checks a lock request: an open fid, a known type, known flags, a range
 * that does not wrap. */
static int check_lock(struct p9_server *s, uint32_t fid, uint8_t type, uint64_t start, uint64_t length)
{
    struct p9_fid *f;
    int err;
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (f->open_fd < 0)
        return EBADF;
    if (type > P9_LOCK_TYPE_UNLCK || start > INT64_MAX || length > INT64_MAX ||
        (length && start + length - 1 > (uint64_t)INT64_MAX))
        return EINVAL;
    return 0;
}

/* POSIX locks are taken by the guest kernel itself before it sends Tlock
 * (v9fs takes the lock locally and then tells the server), and one guest
 * owns this export, so the server grants every valid request; Tgetlock
 * reports no conflicting lock. */
int p9_op_lock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    uint8_t type = p9_get8(in);
    uint32_t flags = p9_get32(in);
    uint64_t start = p9_get64(in), length = p9_get64(in);
    int err;
    p9_get32(in); /* proc_id */
    p9_getstr(in); /* client_id */
    if (in->bad)
        return EPROTO;
    if (flags & ~(uint32_t)P9_LOCK_FLAGS_ALL)
        return EINVAL;
    if ((err = check_lock(s, fid, type, start, length)))
        return err;
    p9_put8(out, P9_LOCK_SUCCESS);
    return 0;
}

int p9_op_getlock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    uint8_t type = p9_get8(in);
    uint64_t start = p9_get64(in), length = p9_get64(in);
    uint32_t proc_id = p9_get32(in);
    struct p9_str client = p9_getstr(in);
    int err;
    if (in->bad)
        return EPROTO;
    if ((err = check_lock(s, fid, type, start, length)))
        return err;
    p9_put8(out, P9_LOCK_TYPE_UNLCK);
    p9_put64(out, start);
    p9_put64(out, length);
    p9_put32(out, proc_id);
    p9_putstr(out, client.p, client.len);
    return 0;
}
