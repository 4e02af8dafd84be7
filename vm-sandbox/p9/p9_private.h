/* Internals of the 9P2000.L server shared by its files:
 *   p9_wire.c    decoding T-messages and encoding R-messages (bounds-checked)
 *   p9_fid.c     the fid table (hash of fid number -> struct p9_fid)
 *   p9_server.c  server setup, p9_handle's dispatch, version/attach/walk/
 *                clunk/remove/flush, and the fd helpers below
 *   p9_file.c    lopen, lcreate, read, write, readdir, fsync, lock, getlock
 *   p9_attr.c    getattr, setattr, statfs
 *   p9_names.c   mkdir, symlink, mknod, readlink, link, rename(at), unlinkat
 *   p9_xattr.c   xattrwalk, xattrcreate and the commit at clunk
 * Every handler returns 0 with its reply body written to the p9_out, or a
 * positive errno that p9_handle turns into an Rlerror. */
#ifndef ZONE_P9_P9_PRIVATE_H
#define ZONE_P9_P9_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "vm-sandbox/p9/p9.h"

/* Message types (9P2000.L plus the 9P2000 base it keeps). */
enum {
    P9_TLERROR = 6, P9_RLERROR,
    P9_TSTATFS = 8, P9_RSTATFS,
    P9_TLOPEN = 12, P9_RLOPEN,
    P9_TLCREATE = 14, P9_RLCREATE,
    P9_TSYMLINK = 16, P9_RSYMLINK,
    P9_TMKNOD = 18, P9_RMKNOD,
    P9_TRENAME = 20, P9_RRENAME,
    P9_TREADLINK = 22, P9_RREADLINK,
    P9_TGETATTR = 24, P9_RGETATTR,
    P9_TSETATTR = 26, P9_RSETATTR,
    P9_TXATTRWALK = 30, P9_RXATTRWALK,
    P9_TXATTRCREATE = 32, P9_RXATTRCREATE,
    P9_TREADDIR = 40, P9_RREADDIR,
    P9_TFSYNC = 50, P9_RFSYNC,
    P9_TLOCK = 52, P9_RLOCK,
    P9_TGETLOCK = 54, P9_RGETLOCK,
    P9_TLINK = 70, P9_RLINK,
    P9_TMKDIR = 72, P9_RMKDIR,
    P9_TRENAMEAT = 74, P9_RRENAMEAT,
    P9_TUNLINKAT = 76, P9_RUNLINKAT,
    P9_TVERSION = 100, P9_RVERSION,
    P9_TAUTH = 102, P9_RAUTH,
    P9_TATTACH = 104, P9_RATTACH,
    P9_TFLUSH = 108, P9_RFLUSH,
    P9_TWALK = 110, P9_RWALK,
    P9_TREAD = 116, P9_RREAD,
    P9_TWRITE = 118, P9_RWRITE,
    P9_TCLUNK = 120, P9_RCLUNK,
    P9_TREMOVE = 122, P9_RREMOVE,
};

#define P9_HDR 7u                 /* size[4] type[1] tag[2] */
#define P9_NOFID 0xffffffffu
#define P9_NONUNAME 0xffffffffu
#define P9_MAXWELEM 16
#define P9_MSIZE_MIN 4096u        /* the Linux client refuses less too */
#define P9_DEFAULT_MAX_FIDS 65536u

#define P9_QTDIR 0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

struct p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

/* ---- wire (p9_wire.c) ---- */

/* A request being decoded. Reads past the end set bad and return zeroes,
 * so a handler decodes every field and then checks bad once. */
struct p9_in {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
};

/* A string in the message: not NUL-terminated, may contain anything. */
struct p9_str {
    const char *p;
    uint16_t len;
};

uint8_t p9_get8(struct p9_in *in);
uint16_t p9_get16(struct p9_in *in);
uint32_t p9_get32(struct p9_in *in);
uint64_t p9_get64(struct p9_in *in);
struct p9_str p9_getstr(struct p9_in *in);
/* count raw bytes; NULL (and bad) when fewer remain */
const uint8_t *p9_getbytes(struct p9_in *in, size_t count);
size_t p9_in_left(const struct p9_in *in);

/* Copies s into buf (cap bytes) NUL-terminated. Returns 0, ENAMETOOLONG
 * when it does not fit, EINVAL for an embedded NUL. */
int p9_str_copy(struct p9_str s, char *buf, size_t cap);
/* A directory entry name for create/remove/rename: 1..NAME_MAX bytes, no
 * '/' or NUL, not "." or "..". Returns 0 or the errno to answer. */
int p9_name_copy(struct p9_str s, char buf[256]);

/* A reply being encoded; writes past cap set full and are dropped. */
struct p9_out {
    uint8_t *p;
    size_t cap, pos;
    bool full;
};

void p9_put8(struct p9_out *out, uint8_t v);
void p9_put16(struct p9_out *out, uint16_t v);
void p9_put32(struct p9_out *out, uint32_t v);
void p9_put64(struct p9_out *out, uint64_t v);
void p9_putstr(struct p9_out *out, const char *s, size_t len);
void p9_putqid(struct p9_out *out, const struct p9_qid *q);
/* count bytes reserved for the caller to fill; NULL (and full) if no room */
uint8_t *p9_reserve(struct p9_out *out, size_t count);
size_t p9_out_left(const struct p9_out *out);

/* ---- fids (p9_fid.c) ---- */

enum p9_fid_kind {
    P9_FID_NODE,        /* a file, directory, symlink or special file */
    P9_FID_XATTR_READ,  /* Txattrwalk result: a value or list to read */
    P9_FID_XATTR_WRITE, /* Txattrcreate: a value to write, set at clunk */
};

struct p9_fid {
    uint32_t num;
    struct p9_fid *next;     /* hash chain */
    enum p9_fid_kind kind;
    int fd;                  /* O_PATH fd of the node (not for XATTR_READ) */
    int open_fd;             /* after Tlopen/Tlcreate, else -1 */
    int open_flags;          /* host open flags of open_fd */
    mode_t type;             /* S_IFMT bits of the node */
    uint32_t uid;            /* the attach's n_uname, owner of what it creates */
    char *path;              /* relative to the root, "" for the root itself;
                                may go stale after host-side renames */
    /* xattr fids */
    char *xattr_name;
    uint8_t *xattr_buf;
    size_t xattr_size;       /* value size (read: bytes held) */
    size_t xattr_written;    /* write: highest byte written + 1 */
    int xattr_flags;
};

struct p9_fid_table {
    struct p9_fid **buckets;
    unsigned nbuckets;       /* power of two */
    unsigned count, max;
};

int p9_fids_init(struct p9_fid_table *t, unsigned max);
/* Frees every fid (closing its fds, dropping uncommitted xattr writes). */
void p9_fids_clear(struct p9_fid_table *t);
void p9_fids_free(struct p9_fid_table *t);
struct p9_fid *p9_fid_get(struct p9_fid_table *t, uint32_t num);
/* A new empty fid (fds -1). Returns 0, EBADF if num is NOFID or in use,
 * EMFILE at the limit, ENOMEM. */
int p9_fid_new(struct p9_fid_table *t, uint32_t num, struct p9_fid **out);
/* Unlinks and frees one fid. */
void p9_fid_destroy(struct p9_fid_table *t, struct p9_fid *f);
/* Releases what a fid holds (fds, path, xattr state), leaving it empty. */
void p9_fid_release(struct p9_fid *f);
/* After a rename of old_path to new_path: every fid at or below old_path
 * follows it. */
void p9_fids_renamed(struct p9_fid_table *t, const char *old_path, const char *new_path);

/* ---- the server (p9_server.c) ---- */

struct p9_dev_map {
    dev_t *devs;
    unsigned count, cap;
};

struct p9_server {
    int root_fd;             /* O_PATH directory fd of the export */
    bool read_only;
    bool may_chown;          /* privileged: ownership errors are real errors */
    mode_t umask;            /* process umask (modes are set exactly) */
    uint32_t msize;          /* 0 until Tversion */
    struct p9_fid_table fids;
    struct p9_dev_map devs;  /* st_dev -> index in qid.path's top bits */
    uint8_t *dirbuf;         /* getdents64 scratch */
    size_t dirbuf_size;
};

/* A Linux errno from a failed call (never 0). */
int p9_errno(void);
/* openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, retried on EAGAIN.
 * Returns the fd or -1 with errno set. */
int p9_openat2(int dirfd, const char *path, int flags, mode_t mode);
/* "/proc/self/fd/N" for fd in buf (at least 32 bytes). */
void p9_fd_path(int fd, char *buf, size_t cap);
/* A new open fd of the node behind fid->fd (through /proc/self/fd, which
 * names the same inode and follows nothing): only regular files and
 * directories, never devices, FIFOs or sockets. Returns fd or -errno. */
int p9_reopen(struct p9_fid *f, int flags);
/* The parent directory of fid's path and its last component; checks that
 * the entry is still the fid's inode (ESTALE otherwise). EBUSY for the
 * root. Returns 0 or errno; *dirfd is an O_PATH fd to close. */
int p9_open_parent(struct p9_server *s, struct p9_fid *f, int *dirfd, char name[256]);
/* "dir/name" in out (PATH_MAX); ENAMETOOLONG when it does not fit. */
int p9_join(const char *dir, const char *name, char *out, size_t cap);
void p9_stat_qid(struct p9_server *s, const struct stat *st, struct p9_qid *q);
/* Ownership of a new entry (fd: its O_PATH or open fd): the attach's uid
 * and the guest's gid, with EPERM/EINVAL ignored when unprivileged (see
 * privileged() in p9_server.c), then the exact mode (the process umask
 * may have cut it) unless is_symlink. */
int p9_set_new_owner(struct p9_server *s, int fd, uint32_t uid, uint32_t gid, mode_t mode, bool is_symlink);
/* The node fid with its O_PATH fd, or EBADF (unknown, xattr fid). */
int p9_node_fid(struct p9_server *s, uint32_t num, struct p9_fid **out);

/* ---- handlers ---- */
int p9_op_lopen(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_lcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_read(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_write(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_readdir(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_fsync(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_lock(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_getlock(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_getattr(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_setattr(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_statfs(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_mkdir(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_symlink(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_mknod(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_readlink(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_link(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_rename(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_renameat(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_unlinkat(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_xattrwalk(struct p9_server *s, struct p9_in *in, struct p9_out *out);
int p9_op_xattrcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out);
/* Sets the value written to an xattr-write fid (Tclunk); 0 or errno. */
int p9_xattr_commit(struct p9_server *s, struct p9_fid *f);

#endif
