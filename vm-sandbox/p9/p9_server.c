/* The 9P2000.L server: setup, p9_handle's framing and dispatch, the session
 * messages (version, attach, walk, clunk, remove, flush) and the fd helpers
 * every operation uses.
 *
 * Safety rules (docs/vm.md, "Shared directories: 9P2000.L"):
 *  - a fid holds an O_PATH fd (or, once opened, the open fd) and a path
 *    relative to the root used only for "..", remove and rename;
 *  - every guest name is one component (no '/', no NUL, not "." or "..",
 *    except ".." in Twalk) and is opened with openat2(RESOLVE_IN_ROOT |
 *    RESOLVE_NO_MAGICLINKS) relative to a directory fd, never following a
 *    trailing symlink;
 *  - files are opened for I/O only through /proc/self/fd/N of the fid's
 *    own fd, and only regular files and directories: the host never opens a
 *    device node, FIFO or socket that the guest made. */
#include "vm-sandbox/p9/p9_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int p9_errno(void)
{
    return errno > 0 ? errno : EIO;
}

int p9_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | __O_TMPFILE)) ? (mode & 07777) : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    /* EAGAIN: a rename raced with the lookup; the kernel asks to retry */
    for (int tries = 0; tries < 16; tries++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            return (int)fd;
    }
    return -1;
}

void p9_fd_path(int fd, char *buf, size_t cap)
{
    snprintf(buf, cap, "/proc/self/fd/%d", fd);
}

int p9_reopen(struct p9_fid *f, int flags)
{
    char path[32];
    int fd;
    if (S_ISLNK(f->type))
        return -ELOOP;
    if (!S_ISREG(f->type) && !S_ISDIR(f->type))
        return -ENXIO;
    p9_fd_path(f->fd, path, sizeof path);
    fd = open(path, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY);
    return fd >= 0 ? fd : -p9_errno();
}

int p9_join(const char *dir, const char *name, char *out, size_t cap)
{
    int n = dir[0] ? snprintf(out, cap, "%s/%s", dir, name) : snprintf(out, cap, "%s", name);
    return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : 0;
}

int p9_open_parent(struct p9_server *s, struct p9_fid *f, int *dirfd, char name[256])
{
    char parent[4096];
    const char *slash;
    struct stat mine, there;
    size_t plen;
    int fd;
    *dirfd = -1;
    if (!f->path)
        return EBADF;
    if (!f->path[0])
        return EBUSY;
    slash = strrchr(f->path, '/');
    plen = slash ? (size_t)(slash - f->path) : 0;
    if (plen >= sizeof parent || strlen(slash ? slash + 1 : f->path) > 255)
        return ENAMETOOLONG;
    memcpy(parent, f->path, plen);
    parent[plen] = '\0';
    strcpy(name, slash ? slash + 1 : f->path);
    fd = plen ? p9_openat2(s->root_fd, parent, O_PATH | O_DIRECTORY, 0)
              : fcntl(s->root_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return p9_errno();
    if (fstatat(fd, name, &there, AT_SYMLINK_NOFOLLOW) || fstat(f->fd, &mine)) {
        int err = p9_errno();
        close(fd);
        return err == ENOENT ? ESTALE : err;
    }
    if (mine.st_dev != there.st_dev || mine.st_ino != there.st_ino) {
        close(fd);
        return ESTALE;
    }
    *dirfd = fd;
    return 0;
}

/* qid.path: the inode number, with the index of its device in the top
 * 16 bits for devices other than the root's, so that bind mounts inside
 * the export do not hand the guest colliding inode numbers. */
static unsigned dev_index(struct p9_dev_map *m, dev_t dev)
{
    for (unsigned i = 0; i < m->count; i++)
        if (m->devs[i] == dev)
            return i;
    if (m->count >= 0xffff)
        return 0xffff;
    if (m->count == m->cap) {
        unsigned cap = m->cap ? m->cap * 2 : 8;
        dev_t *d = realloc(m->devs, cap * sizeof *d);
        if (!d)
            return 0xffff;
        m->devs = d;
        m->cap = cap;
    }
    m->devs[m->count] = dev;
    return m->count++;
}

void p9_stat_qid(struct p9_server *s, const struct stat *st, struct p9_qid *q)
{
    unsigned idx = dev_index(&s->devs, st->st_dev);
    q->type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
    q->version = 0;
    q->path = (uint64_t)st->st_ino ^ ((uint64_t)idx << 48);
}

int p9_set_new_owner(struct p9_server *s, int fd, uint32_t uid, uint32_t gid, mode_t mode, bool is_symlink)
{
    uid_t u = uid == P9_NONUNAME ? (uid_t)-1 : uid;
    gid_t g = gid == 0xffffffffu ? (gid_t)-1 : gid;
    bool chowned = false;
    if (u != (uid_t)-1 || g != (gid_t)-1) {
        if (fchownat(fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0)
            chowned = true;
        else if (s->may_chown || (errno != EPERM && errno != EINVAL))
            return p9_errno();
    }
    /* chown clears set-id bits, and the umask may have cut the mode */
    if (!is_symlink && ((mode & s->umask & 0777) || (chowned && (mode & 06000)))) {
        char path[32];
        p9_fd_path(fd, path, sizeof path);
        if (fchmodat(AT_FDCWD, path, mode & 07777, 0))
            return p9_errno();
    }
    return 0;
}

int p9_node_fid(struct p9_server *s, uint32_t num, struct p9_fid **out)
{
    struct p9_fid *f = p9_fid_get(&s->fids, num);
    if (!f || f->kind != P9_FID_NODE || f->fd < 0)
        return EBADF;
    *out = f;
    return 0;
}

/* ---- setup ---- */

/* Privileged: CAP_CHOWN in the initial user namespace (every uid and gid
 * exists). Elsewhere (rootless, or ids outside a user namespace's map) a
 * chown to an id the namespace cannot hold fails with EPERM or EINVAL, and
 * the new entry keeps the server's ids, as rootless runtimes do. */
static bool privileged(void)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    unsigned long inside, outside, count;
    char extra[8];
    bool full = false;
    FILE *f;
    if (syscall(SYS_capget, &hdr, data) || !(data[0].effective & (1u << CAP_CHOWN)))
        return false;
    f = fopen("/proc/self/uid_map", "re");
    if (!f)
        return false;
    if (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
        full = inside == 0 && outside == 0 && count == 4294967295UL && fscanf(f, "%7s", extra) != 1;
    fclose(f);
    return full;
}

/* The umask without changing it (umask(2) can only set): /proc/self/status
 * has it since Linux 4.7; otherwise assume everything may be cut, so that
 * modes are always set explicitly. */
static mode_t current_umask(void)
{
    char line[256];
    mode_t m = 0777;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return m;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Umask:", 6)) {
            m = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
            break;
        }
    fclose(f);
    return m;
}

static void raise_nofile(unsigned max_fids)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_fids + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

int p9_server_new(const struct p9_config *c, struct p9_server **out, struct zerr *e)
{
    struct p9_server *s;
    struct statfs sfs;
    struct stat st;
    unsigned max = c && c->max_fids ? c->max_fids : P9_DEFAULT_MAX_FIDS;
    int fd, err;

    *out = NULL;
    if (!c || !c->root || !c->root[0])
        return zerr_set(e, EINVAL, "p9: no root directory to export");
    if (max > (1u << 20))
        return zerr_set(e, EINVAL, "p9: max_fids %u is above %u", max, 1u << 20);
    s = calloc(1, sizeof *s);
    if (!s)
        return zerr_set(e, ENOMEM, "p9: out of memory");
    s->root_fd = -1;
    s->read_only = c->read_only;
    if ((err = p9_fids_init(&s->fids, max))) {
        free(s);
        return zerr_set(e, err, "p9: fid table for %u fids", max);
    }
    s->root_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        zerr_sys(e, "p9: root %s", c->root);
        goto fail;
    }
    fd = p9_openat2(s->root_fd, ".", O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
        zerr_sys(e, "p9: openat2 under %s (needs Linux 5.6)", c->root);
        goto fail;
    }
    close(fd);
    /* fids are reopened for I/O through /proc/self/fd */
    fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        zerr_sys(e, "p9: /proc/self/fd (procfs is needed to reopen fids)");
        goto fail;
    }
    if (fstatfs(fd, &sfs) || sfs.f_type != PROC_SUPER_MAGIC) {
        close(fd);
        zerr_set(e, ENOTSUP, "p9: /proc/self/fd is not on procfs");
        goto fail;
    }
    close(fd);
    if (fstat(s->root_fd, &st)) {
        zerr_sys(e, "p9: root %s", c->root);
        goto fail;
    }
    dev_index(&s->devs, st.st_dev); /* the root's device is index 0 */
    s->dirbuf_size = 64 * 1024;
    s->dirbuf = malloc(s->dirbuf_size);
    if (!s->dirbuf || !s->devs.count) {
        zerr_set(e, ENOMEM, "p9: out of memory");
        goto fail;
    }
    s->may_chown = privileged();
    s->umask = current_umask();
    raise_nofile(max);
    *out = s;
    return 0;
fail:
    p9_server_free(s);
    return -1;
}

void p9_server_free(struct p9_server *s)
{
    if (!s)
        return;
    p9_fids_free(&s->fids);
    if (s->root_fd >= 0)
        close(s->root_fd);
    free(s->devs.devs);
    free(s->dirbuf);
    free(s);
}

/* ---- session messages ---- */

static int op_version(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t msize = p9_get32(in);
    struct p9_str v = p9_getstr(in);
    static const char dotl[] = "9P2000.L";
    if (in->bad)
        return EPROTO;
    if (msize < P9_MSIZE_MIN)
        return EINVAL;
    if (msize > P9_MSIZE_MAX)
        msize = P9_MSIZE_MAX;
    /* a new version aborts the session: every fid goes */
    p9_fids_clear(&s->fids);
    s->msize = 0;
    if (v.len >= 8 && !memcmp(v.p, dotl, 8) && (v.len == 8 || v.p[8] == '.')) {
        s->msize = msize;
        p9_put32(out, msize);
        p9_putstr(out, dotl, 8);
    } else {
        p9_put32(out, msize);
        p9_putstr(out, "unknown", 7);
    }
    return 0;
}

static int op_attach(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in), afid = p9_get32(in);
    struct p9_str uname = p9_getstr(in), aname = p9_getstr(in);
    uint32_t n_uname = p9_get32(in);
    struct p9_fid *f;
    struct p9_qid q;
    struct stat st;
    int err;
    (void)uname;
    if (in->bad)
        return EPROTO;
    if (afid != P9_NOFID)
        return EBADF; /* no Tauth, so no auth fid exists */
    if (!(aname.len == 0 || (aname.len == 1 && aname.p[0] == '/')))
        return ENOENT; /* one export: the root */
    if ((err = p9_fid_new(&s->fids, fid, &f)))
        return err;
    f->fd = fcntl(s->root_fd, F_DUPFD_CLOEXEC, 0);
    f->path = strdup("");
    if (f->fd < 0 || !f->path || fstat(f->fd, &st)) {
        err = f->fd < 0 || f->path ? p9_errno() : ENOMEM;
        p9_fid_destroy(&s->fids, f);
        return err;
    }
    f->type = S_IFDIR;
    f->uid = n_uname;
    p9_stat_qid(s, &st, &q);
    p9_putqid(out, &q);
    return 0;
}

/* One Twalk step from (fd, path) to name: the new O_PATH fd and path. */
static int walk_one(struct p9_server *s, int fd, const char *path, const char *name, int *newfd, char *newpath,
                    struct stat *st)
{
    int nfd, err;
    if (!strcmp(name, "..")) {
        /* ".." leaves through the path, resolved under the root, so it
         * stops at the root like RESOLVE_IN_ROOT does */
        const char *slash = strrchr(path, '/');
        size_t plen = slash ? (size_t)(slash - path) : 0;
        memcpy(newpath, path, plen);
        newpath[plen] = '\0';
        nfd = plen ? p9_openat2(s->root_fd, newpath, O_PATH | O_DIRECTORY, 0)
                   : fcntl(s->root_fd, F_DUPFD_CLOEXEC, 0);
    } else {
        if ((err = p9_join(path, name, newpath, 4096)))
            return err;
        nfd = p9_openat2(fd, name, O_PATH | O_NOFOLLOW, 0);
    }
    if (nfd < 0)
        return p9_errno();
    if (fstat(nfd, st)) {
        err = p9_errno();
        close(nfd);
        return err;
    }
    *newfd = nfd;
    return 0;
}

static int op_walk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in), newfid = p9_get32(in);
    uint16_t nwname = p9_get16(in);
    char names[P9_MAXWELEM][256];
    struct p9_qid qids[P9_MAXWELEM];
    char *path = NULL, *next = NULL;
    struct p9_fid *f, *nf;
    int curfd = -1, err = 0;
    mode_t type;
    unsigned i;

    if (in->bad)
        return EPROTO;
    if (nwname > P9_MAXWELEM)
        return EINVAL;
    for (i = 0; i < nwname; i++) {
        struct p9_str n = p9_getstr(in);
        if (in->bad)
            return EPROTO;
        if ((err = p9_str_copy(n, names[i], sizeof names[i])))
            return err;
        if (!n.len || memchr(names[i], '/', n.len) || !strcmp(names[i], "."))
            return EINVAL;
    }
    if ((err = p9_node_fid(s, fid, &f)))
        return err;
    if (newfid != fid && (newfid == P9_NOFID || p9_fid_get(&s->fids, newfid)))
        return EBADF;
    if (newfid == fid && nwname && f->open_fd >= 0)
        return EBUSY;
    path = malloc(4096);
    next = malloc(4096);
    if (!path || !next) {
        err = ENOMEM;
        goto out;
    }
    snprintf(path, 4096, "%s", f->path ? f->path : "");
    type = f->type;
    for (i = 0; i < nwname; i++) {
        struct stat st;
        int nfd;
        char *tmp;
        if (!S_ISDIR(type)) {
            err = ENOTDIR;
            break;
        }
        err = walk_one(s, curfd >= 0 ? curfd : f->fd, path, names[i], &nfd, next, &st);
        if (err)
            break;
        if (curfd >= 0)
            close(curfd);
        curfd = nfd;
        tmp = path;
        path = next;
        next = tmp;
        type = st.st_mode & S_IFMT;
        p9_stat_qid(s, &st, &qids[i]);
    }
    if (i < nwname) {
        /* the first step failing is an error; a later one a short Rwalk */
        if (i == 0)
            goto out;
        err = 0;
    } else if (newfid == fid) {
        if (nwname) {
            char *p = strdup(path);
            if (!p) {
                err = ENOMEM;
                goto out;
            }
            close(f->fd);
            f->fd = curfd;
            curfd = -1;
            free(f->path);
            f->path = p;
            f->type = type;
        }
    } else {
        if ((err = p9_fid_new(&s->fids, newfid, &nf)))
            goto out;
        nf->fd = curfd >= 0 ? curfd : fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
        curfd = -1;
        nf->path = strdup(path);
        if (nf->fd < 0 || !nf->path) {
            err = nf->fd < 0 ? p9_errno() : ENOMEM;
            p9_fid_destroy(&s->fids, nf);
            goto out;
        }
        nf->type = type;
        nf->uid = f->uid;
    }
    p9_put16(out, (uint16_t)i);
    for (unsigned k = 0; k < i; k++)
        p9_putqid(out, &qids[k]);
out:
    if (curfd >= 0)
        close(curfd);
    free(path);
    free(next);
    return err;
}

static int op_clunk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    struct p9_fid *f;
    int err = 0;
    (void)out;
    if (in->bad)
        return EPROTO;
    f = p9_fid_get(&s->fids, fid);
    if (!f)
        return EBADF;
    if (f->kind == P9_FID_XATTR_WRITE)
        err = p9_xattr_commit(s, f);
    p9_fid_destroy(&s->fids, f);
    return err;
}

static int op_remove(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    uint32_t fid = p9_get32(in);
    struct p9_fid *f;
    char name[256];
    int dirfd = -1, err;
    (void)out;
    if (in->bad)
        return EPROTO;
    f = p9_fid_get(&s->fids, fid);
    if (!f)
        return EBADF;
    /* Tremove clunks the fid whatever happens */
    if (f->kind != P9_FID_NODE)
        err = EBADF;
    else if (s->read_only)
        err = EROFS;
    else if (!(err = p9_open_parent(s, f, &dirfd, name))) {
        if (unlinkat(dirfd, name, S_ISDIR(f->type) ? AT_REMOVEDIR : 0))
            err = p9_errno();
        close(dirfd);
    }
    p9_fid_destroy(&s->fids, f);
    return err;
}

static int op_flush(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
    (void)s;
    (void)out;
    p9_get16(in); /* oldtag: requests complete before the next is read */
    return in->bad ? EPROTO : 0;
}

static int dispatch(struct p9_server *s, uint8_t type, struct p9_in *in, struct p9_out *out)
{
    switch (type) {
    case P9_TVERSION: return op_version(s, in, out);
    case P9_TATTACH: return op_attach(s, in, out);
    case P9_TWALK: return op_walk(s, in, out);
    case P9_TCLUNK: return op_clunk(s, in, out);
    case P9_TREMOVE: return op_remove(s, in, out);
    case P9_TFLUSH: return op_flush(s, in, out);
    case P9_TLOPEN: return p9_op_lopen(s, in, out);
    case P9_TLCREATE: return p9_op_lcreate(s, in, out);
    case P9_TREAD: return p9_op_read(s, in, out);
    case P9_TWRITE: return p9_op_write(s, in, out);
    case P9_TREADDIR: return p9_op_readdir(s, in, out);
    case P9_TFSYNC: return p9_op_fsync(s, in, out);
    case P9_TLOCK: return p9_op_lock(s, in, out);
    case P9_TGETLOCK: return p9_op_getlock(s, in, out);
    case P9_TGETATTR: return p9_op_getattr(s, in, out);
    case P9_TSETATTR: return p9_op_setattr(s, in, out);
    case P9_TSTATFS: return p9_op_statfs(s, in, out);
    case P9_TMKDIR: return p9_op_mkdir(s, in, out);
    case P9_TSYMLINK: return p9_op_symlink(s, in, out);
    case P9_TMKNOD: return p9_op_mknod(s, in, out);
    case P9_TREADLINK: return p9_op_readlink(s, in, out);
    case P9_TLINK: return p9_op_link(s, in, out);
    case P9_TRENAME: return p9_op_rename(s, in, out);
    case P9_TRENAMEAT: return p9_op_renameat(s, in, out);
    case P9_TUNLINKAT: return p9_op_unlinkat(s, in, out);
    case P9_TXATTRWALK: return p9_op_xattrwalk(s, in, out);
    case P9_TXATTRCREATE: return p9_op_xattrcreate(s, in, out);
    default:
        /* Tauth (no authentication), the 9P2000 and .u messages, R-messages */
        return EOPNOTSUPP;
    }
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t p9_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap)
{
    struct p9_out out;
    struct p9_in in;
    uint32_t size;
    uint8_t type;
    size_t limit;
    int err;

    /* a reply needs a tag to answer and room for an Rlerror */
    if (!s || !req || !resp || req_len < P9_HDR || resp_cap < P9_HDR + 4)
        return 0;
    size = le32(req);
    type = req[4];
    limit = resp_cap;
    if (s->msize && s->msize < limit)
        limit = s->msize;
    out = (struct p9_out){ .p = resp, .cap = limit, .pos = P9_HDR };
    if (size < P9_HDR || size > req_len)
        err = EPROTO;
    else if ((s->msize && size > s->msize) || size > P9_MSIZE_MAX)
        err = EINVAL;
    else if (!s->msize && type != P9_TVERSION)
        err = EPROTO; /* no session before Tversion */
    else {
        in = (struct p9_in){ .p = req, .len = size, .pos = P9_HDR };
        err = dispatch(s, type, &in, &out);
        if (!err && out.full)
            err = EMSGSIZE;
    }
    if (err) {
        out.full = false;
        out.pos = P9_HDR;
        p9_put32(&out, (uint32_t)err);
        type = P9_RLERROR;
    } else {
        type++;
    }
    resp[0] = (uint8_t)out.pos;
    resp[1] = (uint8_t)(out.pos >> 8);
    resp[2] = (uint8_t)(out.pos >> 16);
    resp[3] = (uint8_t)(out.pos >> 24);
    resp[4] = type;
    resp[5] = req[5];
    resp[6] = req[6];
    return out.pos;
}
