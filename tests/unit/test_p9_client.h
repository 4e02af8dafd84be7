/* The tiny 9P client, fixture and message helpers shared by test_p9.c (a
 * full session) and test_p9_hostile.c (hostile input): hand-built
 * T-messages sent through p9_handle over a temporary export
 * (top/root: hello.txt, sub/inner.txt, etc/passwd, etclink -> /etc,
 * up -> ../outside; top/outside/secret). */
#ifndef ZONE_TESTS_TEST_P9_CLIENT_H
#define ZONE_TESTS_TEST_P9_CLIENT_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm-sandbox/p9/p9.h"

enum {
    RLERROR = 7, TSTATFS = 8, TLOPEN = 12, TLCREATE = 14, TSYMLINK = 16, TMKNOD = 18, TRENAME = 20,
    TREADLINK = 22, TGETATTR = 24, TSETATTR = 26, TXATTRWALK = 30, TXATTRCREATE = 32, TREADDIR = 40,
    TFSYNC = 50, TLOCK = 52, TGETLOCK = 54, TLINK = 70, TMKDIR = 72, TRENAMEAT = 74, TUNLINKAT = 76,
    TVERSION = 100, TAUTH = 102, TATTACH = 104, TFLUSH = 108, TWALK = 110, TREAD = 116, TWRITE = 118,
    TCLUNK = 120, TREMOVE = 122,
};
#define NOFID 0xffffffffu
#define MSIZE 8192u
#define BUF (P9_MSIZE_MAX + 64)

/* ---- a tiny client ---- */

struct msg {
    uint8_t b[BUF];
    size_t n;
};

static inline void m_begin(struct msg *m, uint8_t type)
{
    memset(m->b, 0, 7);
    m->b[4] = type;
    m->b[5] = 0x34;
    m->b[6] = 0x12;
    m->n = 7;
}
static inline void m_le(struct msg *m, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        m->b[m->n++] = (uint8_t)(v >> (8 * i));
}
static inline void m8(struct msg *m, uint8_t v) { m_le(m, v, 1); }
static inline void m16(struct msg *m, uint16_t v) { m_le(m, v, 2); }
static inline void m32(struct msg *m, uint32_t v) { m_le(m, v, 4); }
static inline void m64(struct msg *m, uint64_t v) { m_le(m, v, 8); }
static inline void mstr(struct msg *m, const char *s)
{
    size_t len = strlen(s);
    m16(m, (uint16_t)len);
    memcpy(m->b + m->n, s, len);
    m->n += len;
}
static inline void mbytes(struct msg *m, const void *p, size_t len)
{
    memcpy(m->b + m->n, p, len);
    m->n += len;
}
static inline void m_end(struct msg *m)
{
    uint32_t n = (uint32_t)m->n;
    memcpy(m->b, &n, 4);
}

struct reply {
    uint8_t b[BUF];
    size_t n, pos;
};

static inline uint64_t r_le(struct reply *r, int bytes)
{
    uint64_t v = 0;
    assert_true(r->pos + (size_t)bytes <= r->n);
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->b[r->pos + i] << (8 * i);
    r->pos += bytes;
    return v;
}
static inline uint8_t r8(struct reply *r) { return (uint8_t)r_le(r, 1); }
static inline uint16_t r16(struct reply *r) { return (uint16_t)r_le(r, 2); }
static inline uint32_t r32(struct reply *r) { return (uint32_t)r_le(r, 4); }
static inline uint64_t r64(struct reply *r) { return r_le(r, 8); }
static inline void rstr(struct reply *r, char *out, size_t cap)
{
    uint16_t len = r16(r);
    assert_true(r->pos + len <= r->n);
    assert_true(len < cap);
    memcpy(out, r->b + r->pos, len);
    out[len] = '\0';
    r->pos += len;
}

struct qid {
    uint8_t type;
    uint64_t path;
};
static inline struct qid rqid(struct reply *r)
{
    struct qid q;
    q.type = r8(r);
    r32(r);
    q.path = r64(r);
    return q;
}

struct fixture {
    char top[64], root[96], outside[128];
    int fds_before;
    struct p9_server *s;
    struct msg m;
    struct reply r;
};

/* Sends m (size already set) with resp_cap; returns the reply's type and
 * leaves r positioned after the header. */
static inline uint8_t send_raw(struct fixture *fx, size_t req_len, size_t cap)
{
    uint32_t size;
    fx->r.n = p9_handle(fx->s, fx->m.b, req_len, fx->r.b, cap);
    assert_true(fx->r.n >= 7);
    assert_true(fx->r.n <= cap);
    memcpy(&size, fx->r.b, 4);
    assert_int_equal(size, fx->r.n);
    assert_int_equal(fx->r.b[5], 0x34); /* tag echoed */
    assert_int_equal(fx->r.b[6], 0x12);
    fx->r.pos = 7;
    return fx->r.b[4];
}

static inline uint8_t rpc(struct fixture *fx)
{
    m_end(&fx->m);
    return send_raw(fx, fx->m.n, BUF);
}

/* The request must fail with errno code. */
static inline void expect_err(struct fixture *fx, uint32_t code)
{
    uint8_t t = rpc(fx);
    assert_int_equal(t, RLERROR);
    assert_int_equal(r32(&fx->r), code);
}

static inline void expect_ok(struct fixture *fx, uint8_t type)
{
    uint8_t t = rpc(fx);
    if (t == RLERROR)
        fail_msg("T%u failed: %s", type, strerror((int)r32(&fx->r)));
    assert_int_equal(t, type + 1);
}

/* ---- message helpers ---- */

static inline uint32_t version(struct fixture *fx, uint32_t msize, const char *v, char *vout)
{
    m_begin(&fx->m, TVERSION);
    m32(&fx->m, msize);
    mstr(&fx->m, v);
    expect_ok(fx, TVERSION);
    msize = r32(&fx->r);
    rstr(&fx->r, vout, 32);
    return msize;
}

static inline struct qid attach(struct fixture *fx, uint32_t fid, uint32_t uid)
{
    m_begin(&fx->m, TATTACH);
    m32(&fx->m, fid);
    m32(&fx->m, NOFID);
    mstr(&fx->m, "root");
    mstr(&fx->m, "");
    m32(&fx->m, uid);
    expect_ok(fx, TATTACH);
    return rqid(&fx->r);
}

static inline void walk_msg(struct fixture *fx, uint32_t fid, uint32_t newfid, int n, const char **names)
{
    m_begin(&fx->m, TWALK);
    m32(&fx->m, fid);
    m32(&fx->m, newfid);
    m16(&fx->m, (uint16_t)n);
    for (int i = 0; i < n; i++)
        mstr(&fx->m, names[i]);
}

/* Walks all of names; returns the last qid. */
static inline struct qid walk(struct fixture *fx, uint32_t fid, uint32_t newfid, int n, const char **names)
{
    struct qid q = { 0, 0 };
    walk_msg(fx, fid, newfid, n, names);
    expect_ok(fx, TWALK);
    assert_int_equal(r16(&fx->r), n);
    for (int i = 0; i < n; i++)
        q = rqid(&fx->r);
    return q;
}

static inline void walk1(struct fixture *fx, uint32_t fid, uint32_t newfid, const char *name)
{
    walk(fx, fid, newfid, 1, &name);
}

static inline void lopen_msg(struct fixture *fx, uint32_t fid, uint32_t flags)
{
    m_begin(&fx->m, TLOPEN);
    m32(&fx->m, fid);
    m32(&fx->m, flags);
}

static inline void lopen(struct fixture *fx, uint32_t fid, uint32_t flags)
{
    lopen_msg(fx, fid, flags);
    expect_ok(fx, TLOPEN);
}

static inline void read_msg(struct fixture *fx, uint32_t fid, uint64_t off, uint32_t count)
{
    m_begin(&fx->m, TREAD);
    m32(&fx->m, fid);
    m64(&fx->m, off);
    m32(&fx->m, count);
}

/* Reads into out; returns the count. */
static inline uint32_t read_fid(struct fixture *fx, uint32_t fid, uint64_t off, uint32_t count, void *out)
{
    uint32_t n;
    read_msg(fx, fid, off, count);
    expect_ok(fx, TREAD);
    n = r32(&fx->r);
    assert_true(fx->r.pos + n == fx->r.n);
    if (out)
        memcpy(out, fx->r.b + fx->r.pos, n);
    return n;
}

static inline void clunk_msg(struct fixture *fx, uint32_t fid)
{
    m_begin(&fx->m, TCLUNK);
    m32(&fx->m, fid);
}

static inline void clunk(struct fixture *fx, uint32_t fid)
{
    clunk_msg(fx, fid);
    expect_ok(fx, TCLUNK);
}

static inline void lcreate_msg(struct fixture *fx, uint32_t fid, const char *name, uint32_t flags, uint32_t mode,
                        uint32_t gid)
{
    m_begin(&fx->m, TLCREATE);
    m32(&fx->m, fid);
    mstr(&fx->m, name);
    m32(&fx->m, flags);
    m32(&fx->m, mode);
    m32(&fx->m, gid);
}

static inline void write_msg(struct fixture *fx, uint32_t fid, uint64_t off, const void *data, uint32_t len)
{
    m_begin(&fx->m, TWRITE);
    m32(&fx->m, fid);
    m64(&fx->m, off);
    m32(&fx->m, len);
    mbytes(&fx->m, data, len);
}

static inline uint32_t write_fid(struct fixture *fx, uint32_t fid, uint64_t off, const void *data, uint32_t len)
{
    write_msg(fx, fid, off, data, len);
    expect_ok(fx, TWRITE);
    return r32(&fx->r);
}

static inline void mkdir_msg(struct fixture *fx, uint32_t dfid, const char *name, uint32_t mode, uint32_t gid)
{
    m_begin(&fx->m, TMKDIR);
    m32(&fx->m, dfid);
    mstr(&fx->m, name);
    m32(&fx->m, mode);
    m32(&fx->m, gid);
}

static inline void symlink_msg(struct fixture *fx, uint32_t dfid, const char *name, const char *target)
{
    m_begin(&fx->m, TSYMLINK);
    m32(&fx->m, dfid);
    mstr(&fx->m, name);
    mstr(&fx->m, target);
    m32(&fx->m, 0);
}

static inline void unlinkat_msg(struct fixture *fx, uint32_t dfid, const char *name, uint32_t flags)
{
    m_begin(&fx->m, TUNLINKAT);
    m32(&fx->m, dfid);
    mstr(&fx->m, name);
    m32(&fx->m, flags);
}

static inline void renameat_msg(struct fixture *fx, uint32_t ofid, const char *oname, uint32_t nfid, const char *nname)
{
    m_begin(&fx->m, TRENAMEAT);
    m32(&fx->m, ofid);
    mstr(&fx->m, oname);
    m32(&fx->m, nfid);
    mstr(&fx->m, nname);
}

static inline void setattr_msg(struct fixture *fx, uint32_t fid, uint32_t valid, uint32_t mode, uint64_t size,
                        uint64_t mtime)
{
    m_begin(&fx->m, TSETATTR);
    m32(&fx->m, fid);
    m32(&fx->m, valid);
    m32(&fx->m, mode);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    m64(&fx->m, size);
    m64(&fx->m, 0);
    m64(&fx->m, 0);
    m64(&fx->m, mtime);
    m64(&fx->m, 0);
}

static inline void getattr_msg(struct fixture *fx, uint32_t fid)
{
    m_begin(&fx->m, TGETATTR);
    m32(&fx->m, fid);
    m64(&fx->m, 0x3fff);
}

struct attr {
    struct qid qid;
    uint32_t mode, uid, gid;
    uint64_t nlink, size, mtime;
};

static inline struct attr getattr(struct fixture *fx, uint32_t fid)
{
    struct attr a;
    getattr_msg(fx, fid);
    expect_ok(fx, TGETATTR);
    assert_true((r64(&fx->r) & 0x7ff) == 0x7ff);
    a.qid = rqid(&fx->r);
    a.mode = r32(&fx->r);
    a.uid = r32(&fx->r);
    a.gid = r32(&fx->r);
    a.nlink = r64(&fx->r);
    r64(&fx->r); /* rdev */
    a.size = r64(&fx->r);
    r64(&fx->r); /* blksize */
    r64(&fx->r); /* blocks */
    r64(&fx->r); r64(&fx->r); /* atime */
    a.mtime = r64(&fx->r);
    return a;
}

/* ---- fixture ---- */

static inline int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st; (void)type; (void)ftw;
    return remove(p);
}

static inline void write_file(const char *dir, const char *name, const char *text)
{
    char path[4096 + 256];
    int fd;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static inline int count_fds(void)
{
    char path[64];
    int n = 0;
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n += access(path, F_OK) == 0;
    }
    return n;
}

/* Whether this process can give a file to uid 1234 / gid 5678 (root in the
 * initial user namespace); otherwise new entries keep our own ids. */
static inline bool can_chown(struct fixture *fx)
{
    char path[256];
    bool ok;
    snprintf(path, sizeof path, "%s/chown-probe", fx->top);
    write_file(fx->top, "chown-probe", "");
    ok = chown(path, 1234, 5678) == 0;
    unlink(path);
    return ok;
}

static inline int make_server(struct fixture *fx, bool read_only, unsigned max_fids)
{
    struct p9_config c = { .root = fx->root, .read_only = read_only, .max_fids = max_fids };
    struct zerr e;
    if (fx->s)
        p9_server_free(fx->s);
    fx->s = NULL;
    if (p9_server_new(&c, &fx->s, &e))
        fail_msg("p9_server_new: %s", e.msg);
    return 0;
}

/* top/root is the export with hello.txt, sub/inner.txt, etc/passwd (the
 * export's own), etclink -> /etc, up -> ../outside; top/outside holds
 * secret. */
static inline int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    char path[256];
    assert_non_null(fx);
    fx->fds_before = count_fds();
    strcpy(fx->top, "/tmp/test_p9.XXXXXX");
    assert_non_null(mkdtemp(fx->top));
    snprintf(fx->root, sizeof fx->root, "%s/root", fx->top);
    snprintf(fx->outside, sizeof fx->outside, "%s/outside", fx->top);
    assert_int_equal(mkdir(fx->root, 0755), 0);
    assert_int_equal(mkdir(fx->outside, 0755), 0);
    write_file(fx->outside, "secret", "host secret\n");
    write_file(fx->root, "hello.txt", "hello, world\n");
    snprintf(path, sizeof path, "%s/sub", fx->root);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(path, "inner.txt", "inner\n");
    snprintf(path, sizeof path, "%s/etc", fx->root);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(path, "passwd", "export passwd\n");
    snprintf(path, sizeof path, "%s/etclink", fx->root);
    assert_int_equal(symlink("/etc", path), 0);
    snprintf(path, sizeof path, "%s/up", fx->root);
    assert_int_equal(symlink("../outside", path), 0);
    make_server(fx, false, 0);
    *state = fx;
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *fx = *state;
    p9_server_free(fx->s);
    nftw(fx->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(count_fds(), fx->fds_before); /* no fd leaked */
    free(fx);
    return 0;
}

/* Version msize 8192 and attach fid 0 as uid. */
static inline void session(struct fixture *fx, uint32_t uid)
{
    char v[32];
    assert_int_equal(version(fx, MSIZE, "9P2000.L", v), MSIZE);
    assert_string_equal(v, "9P2000.L");
    attach(fx, 0, uid);
}

static inline void host_path(struct fixture *fx, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", fx->root, name);
}

#endif
