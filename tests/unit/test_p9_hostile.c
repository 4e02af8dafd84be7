/* vm-sandbox/p9: hostile input to the 9P2000.L server: truncated
 * messages, size fields shorter than the header or longer than the buffer,
 * string lengths past the end, Twrite counts past their data, nwname 17,
 * bad names, ".." at the root, symlinks to /etc and out of the export,
 * unknown and reused fids, huge counts against msize and a small resp_cap,
 * msize negotiation, the fid limit, read-only mode, random messages. */
#include "tests/unit/test_p9_client.h"

/* ---- hostile input ---- */

static void test_framing(void **state)
{
    struct fixture *fx = *state;
    char v[32];
    uint32_t big;

    /* before Tversion only Tversion is served */
    m_begin(&fx->m, TATTACH);
    m32(&fx->m, 0);
    m32(&fx->m, NOFID);
    mstr(&fx->m, "");
    mstr(&fx->m, "");
    m32(&fx->m, 0);
    expect_err(fx, EPROTO);

    /* msize: too small refused, too large clamped, unknown version */
    m_begin(&fx->m, TVERSION);
    m32(&fx->m, 100);
    mstr(&fx->m, "9P2000.L");
    expect_err(fx, EINVAL);
    assert_int_equal(version(fx, 0xffffffffu, "9P2000.L", v), P9_MSIZE_MAX);
    assert_int_equal(version(fx, MSIZE, "9P2000.u", v), MSIZE);
    assert_string_equal(v, "unknown");
    m_begin(&fx->m, TATTACH); /* the failed version left no session */
    m32(&fx->m, 0);
    m32(&fx->m, NOFID);
    mstr(&fx->m, "");
    mstr(&fx->m, "");
    m32(&fx->m, 0);
    expect_err(fx, EPROTO);
    session(fx, 0);

    /* too short to carry a tag, or no room for a reply: nothing */
    m_begin(&fx->m, TCLUNK);
    m_end(&fx->m);
    assert_int_equal(p9_handle(fx->s, fx->m.b, 6, fx->r.b, BUF), 0);
    assert_int_equal(p9_handle(fx->s, fx->m.b, 7, fx->r.b, 10), 0);
    assert_int_equal(p9_handle(NULL, fx->m.b, 7, fx->r.b, BUF), 0);

    /* size field shorter than the header, or longer than the buffer */
    m_begin(&fx->m, TCLUNK);
    m32(&fx->m, 0);
    m_end(&fx->m);
    fx->m.b[0] = 3;
    assert_int_equal(send_raw(fx, fx->m.n, BUF), RLERROR);
    assert_int_equal(r32(&fx->r), EPROTO);
    m_end(&fx->m);
    fx->m.b[0] = 200;
    assert_int_equal(send_raw(fx, fx->m.n, BUF), RLERROR);
    assert_int_equal(r32(&fx->r), EPROTO);
    /* a request larger than msize */
    m_begin(&fx->m, TWRITE);
    m32(&fx->m, 0);
    m64(&fx->m, 0);
    m32(&fx->m, MSIZE);
    memset(fx->m.b + fx->m.n, 'x', MSIZE);
    fx->m.n += MSIZE;
    expect_err(fx, EINVAL);

    /* truncated bodies: every fixed field cut short */
    m_begin(&fx->m, TWALK);
    m32(&fx->m, 0);
    m16(&fx->m, 0);
    expect_err(fx, EPROTO);
    m_begin(&fx->m, TREAD);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    expect_err(fx, EPROTO);
    m_begin(&fx->m, TSETATTR);
    m32(&fx->m, 0);
    m32(&fx->m, 1);
    expect_err(fx, EPROTO);
    /* a string length past the end */
    m_begin(&fx->m, TWALK);
    m32(&fx->m, 0);
    m32(&fx->m, 1);
    m16(&fx->m, 1);
    m16(&fx->m, 500);
    mbytes(&fx->m, "abc", 3);
    expect_err(fx, EPROTO);
    m_begin(&fx->m, TMKDIR);
    m32(&fx->m, 0);
    m16(&fx->m, 0xffff);
    expect_err(fx, EPROTO);
    /* Twrite's count larger than its data */
    m_begin(&fx->m, TWRITE);
    m32(&fx->m, 0);
    m64(&fx->m, 0);
    m32(&fx->m, 0xffffffffu);
    mbytes(&fx->m, "abc", 3);
    expect_err(fx, EPROTO);
    /* unknown, legacy and reply types */
    m_begin(&fx->m, 200);
    expect_err(fx, EOPNOTSUPP);
    m_begin(&fx->m, 112); /* 9P2000 Topen */
    m32(&fx->m, 0);
    m8(&fx->m, 0);
    expect_err(fx, EOPNOTSUPP);
    m_begin(&fx->m, TAUTH);
    m32(&fx->m, 5);
    mstr(&fx->m, "");
    mstr(&fx->m, "");
    m32(&fx->m, 0);
    expect_err(fx, EOPNOTSUPP);
    m_begin(&fx->m, TATTACH + 1);
    expect_err(fx, EOPNOTSUPP);
    /* attach: an auth fid or another tree */
    m_begin(&fx->m, TATTACH);
    m32(&fx->m, 9);
    m32(&fx->m, 3);
    mstr(&fx->m, "");
    mstr(&fx->m, "");
    m32(&fx->m, 0);
    expect_err(fx, EBADF);
    m_begin(&fx->m, TATTACH);
    m32(&fx->m, 9);
    m32(&fx->m, NOFID);
    mstr(&fx->m, "");
    mstr(&fx->m, "/etc");
    m32(&fx->m, 0);
    expect_err(fx, ENOENT);

    /* huge counts are clamped to the reply: msize, then a smaller cap */
    walk1(fx, 0, 1, "hello.txt");
    lopen(fx, 1, 0);
    read_msg(fx, 1, 0, 0xffffffffu);
    m_end(&fx->m);
    assert_int_equal(send_raw(fx, fx->m.n, BUF), TREAD + 1);
    assert_true(fx->r.n <= MSIZE);
    read_msg(fx, 1, 0, 0xffffffffu);
    m_end(&fx->m);
    assert_int_equal(send_raw(fx, fx->m.n, 16), TREAD + 1);
    assert_int_equal(r32(&fx->r), 5); /* 16 - 11 bytes of data */
    read_msg(fx, 1, 1ULL << 63, 10);
    expect_err(fx, EINVAL);
    walk(fx, 0, 2, 0, NULL);
    lopen(fx, 2, 0);
    m_begin(&fx->m, TREADDIR);
    m32(&fx->m, 2);
    m64(&fx->m, 0);
    m32(&fx->m, 0xffffffffu);
    m_end(&fx->m);
    assert_int_equal(send_raw(fx, fx->m.n, 100), TREADDIR + 1);
    big = r32(&fx->r);
    assert_true(big <= 100 - 11);
    assert_int_equal(fx->r.pos + big, fx->r.n);
}

static void test_walks(void **state)
{
    struct fixture *fx = *state;
    const char *names[17];
    char buf[128];
    struct qid root_q, q;
    uint32_t n;

    session(fx, 0);
    walk(fx, 0, 1, 0, NULL);
    root_q = getattr(fx, 1).qid;

    /* nwname 17 */
    for (int i = 0; i < 17; i++)
        names[i] = "sub";
    walk_msg(fx, 0, 2, 17, names);
    expect_err(fx, EINVAL);
    /* 16 is allowed (and fails at the second "sub" with a short walk) */
    walk_msg(fx, 0, 2, 16, names);
    expect_ok(fx, TWALK);
    assert_int_equal(r16(&fx->r), 1);
    clunk_msg(fx, 2);
    expect_err(fx, EBADF); /* a short walk creates no fid */

    /* bad names */
    const char *bad[] = { ".", "a/b", "", "../hello.txt", "/etc" };
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        walk_msg(fx, 0, 2, 1, &bad[i]);
        expect_err(fx, EINVAL);
    }
    walk_msg(fx, 0, 2, 0, NULL);
    fx->m.b[15] = 1; /* nwname 1: a name with a NUL in it */
    m16(&fx->m, 3);
    mbytes(&fx->m, "a\0b", 3);
    expect_err(fx, EINVAL);
    walk_msg(fx, 0, 2, 0, NULL);
    fx->m.b[15] = 1; /* a name of 300 bytes */
    m16(&fx->m, 300);
    memset(fx->m.b + fx->m.n, 'n', 300);
    fx->m.n += 300;
    expect_err(fx, ENAMETOOLONG);

    /* ".." stays at the root */
    const char *up3[] = { "..", "..", ".." };
    q = walk(fx, 0, 2, 3, up3);
    assert_true(q.path == root_q.path);
    const char *subup[] = { "sub", "..", "..", "hello.txt" };
    walk(fx, 0, 3, 4, subup);
    lopen(fx, 3, 0);
    assert_int_equal(read_fid(fx, 3, 0, sizeof buf, buf), 13);
    assert_memory_equal(buf, "hello, world", 12);

    /* a symlink to /etc inside the export: walking through it never
     * reaches the host's /etc (the symlink itself is a leaf for the
     * server; the guest resolves it against its own root) */
    const char *via_link[] = { "etclink", "passwd" };
    walk_msg(fx, 0, 4, 2, via_link);
    expect_ok(fx, TWALK);
    assert_int_equal(r16(&fx->r), 1);
    assert_int_equal(rqid(&fx->r).type, 0x02);
    walk1(fx, 0, 4, "etclink");
    walk_msg(fx, 4, 5, 1, via_link + 1);
    expect_err(fx, ENOTDIR);
    lopen_msg(fx, 4, 0);
    expect_err(fx, ELOOP);
    lcreate_msg(fx, 4, "x", 1, 0644, 0);
    expect_err(fx, ENOTDIR);
    mkdir_msg(fx, 4, "x", 0755, 0);
    expect_err(fx, ENOTDIR);
    /* the guest's view: /etclink -> /etc resolved by the guest is the
     * export's etc */
    const char *guest_view[] = { "etc", "passwd" };
    walk(fx, 0, 6, 2, guest_view);
    lopen(fx, 6, 0);
    n = read_fid(fx, 6, 0, sizeof buf, buf);
    assert_int_equal(n, 14);
    assert_memory_equal(buf, "export passwd\n", 14);

    /* up -> ../outside: no walk, create, or open goes through it */
    const char *via_up[] = { "up", "secret" };
    walk_msg(fx, 0, 7, 2, via_up);
    expect_ok(fx, TWALK);
    assert_int_equal(r16(&fx->r), 1);
    walk1(fx, 0, 7, "up");
    lopen_msg(fx, 7, 0);
    expect_err(fx, ELOOP);
    /* creating over a dangling symlink that points out of the root */
    {
        char path[256], target[256];
        snprintf(target, sizeof target, "%s/created-outside", fx->outside);
        host_path(fx, "dangle", path, sizeof path);
        assert_int_equal(symlink(target, path), 0);
        walk(fx, 0, 8, 0, NULL);
        lcreate_msg(fx, 8, "dangle", 1, 0644, 0);
        expect_err(fx, EEXIST);
        assert_int_equal(access(target, F_OK), -1);
        /* and a guest-made symlink to an absolute host path */
        symlink_msg(fx, 0, "abs", target);
        expect_ok(fx, TSYMLINK);
        lcreate_msg(fx, 8, "abs", 1, 0644, 0);
        expect_err(fx, EEXIST);
        assert_int_equal(access(target, F_OK), -1);
        /* setattr and xattrs on a symlink fid touch the link, not the
         * target */
        walk1(fx, 0, 9, "up");
        setattr_msg(fx, 9, 0x1, 0777, 0, 0);
        expect_err(fx, EOPNOTSUPP);
        setattr_msg(fx, 9, 0x8, 0, 0, 0);
        expect_err(fx, EINVAL);
        snprintf(path, sizeof path, "%s/secret", fx->outside);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 12);
    }
}

static void test_fids(void **state)
{
    struct fixture *fx = *state;
    char v[32];
    /* fids never attached */
    session(fx, 0);
    lopen_msg(fx, 99, 0);
    expect_err(fx, EBADF);
    read_msg(fx, 99, 0, 10);
    expect_err(fx, EBADF);
    write_msg(fx, 99, 0, "x", 1);
    expect_err(fx, EBADF);
    walk_msg(fx, 99, 100, 0, NULL);
    expect_err(fx, EBADF);
    clunk_msg(fx, 99);
    expect_err(fx, EBADF);
    getattr_msg(fx, 99);
    expect_err(fx, EBADF);
    mkdir_msg(fx, 99, "x", 0755, 0);
    expect_err(fx, EBADF);
    /* reuse: attach or walk onto a fid in use, NOFID as a new fid */
    m_begin(&fx->m, TATTACH);
    m32(&fx->m, 0);
    m32(&fx->m, NOFID);
    mstr(&fx->m, "");
    mstr(&fx->m, "");
    m32(&fx->m, 0);
    expect_err(fx, EBADF);
    walk1(fx, 0, 1, "sub");
    walk_msg(fx, 0, 1, 0, NULL);
    expect_err(fx, EBADF);
    walk_msg(fx, 0, NOFID, 0, NULL);
    expect_err(fx, EBADF);
    /* walking a fid onto itself replaces it */
    walk1(fx, 1, 1, "inner.txt");
    assert_int_equal(getattr(fx, 1).size, 6);
    /* reading a fid that is not open */
    read_msg(fx, 1, 0, 10);
    expect_err(fx, EBADF);
    /* a new version drops every fid */
    version(fx, MSIZE, "9P2000.L", v);
    getattr_msg(fx, 1);
    expect_err(fx, EBADF);

    /* the fid limit, and clunk freeing a slot */
    make_server(fx, false, 4);
    session(fx, 0);
    walk(fx, 0, 1, 0, NULL);
    walk(fx, 0, 2, 0, NULL);
    walk(fx, 0, 3, 0, NULL);
    walk_msg(fx, 0, 4, 0, NULL);
    expect_err(fx, EMFILE);
    clunk(fx, 3);
    walk(fx, 0, 4, 0, NULL);
    /* a failed attach leaves no fid behind either */
    m_begin(&fx->m, TATTACH);
    m32(&fx->m, 5);
    m32(&fx->m, NOFID);
    mstr(&fx->m, "");
    mstr(&fx->m, "");
    m32(&fx->m, 0);
    expect_err(fx, EMFILE);
}

static void test_read_only(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    make_server(fx, true, 0);
    session(fx, 0);
    walk1(fx, 0, 1, "hello.txt");
    lopen_msg(fx, 1, 1);
    expect_err(fx, EROFS);
    lopen_msg(fx, 1, 01000);
    expect_err(fx, EROFS);
    lopen(fx, 1, 0);
    assert_int_equal(read_fid(fx, 1, 0, 5, NULL), 5);
    write_msg(fx, 1, 0, "x", 1);
    expect_err(fx, EROFS);
    walk(fx, 0, 2, 0, NULL);
    lcreate_msg(fx, 2, "n", 1, 0644, 0);
    expect_err(fx, EROFS);
    mkdir_msg(fx, 0, "n", 0755, 0);
    expect_err(fx, EROFS);
    symlink_msg(fx, 0, "n", "t");
    expect_err(fx, EROFS);
    m_begin(&fx->m, TMKNOD);
    m32(&fx->m, 0);
    mstr(&fx->m, "n");
    m32(&fx->m, S_IFIFO | 0644);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    expect_err(fx, EROFS);
    walk1(fx, 0, 3, "hello.txt");
    m_begin(&fx->m, TLINK);
    m32(&fx->m, 0);
    m32(&fx->m, 3);
    mstr(&fx->m, "n");
    expect_err(fx, EROFS);
    m_begin(&fx->m, TRENAME);
    m32(&fx->m, 3);
    m32(&fx->m, 0);
    mstr(&fx->m, "n");
    expect_err(fx, EROFS);
    renameat_msg(fx, 0, "hello.txt", 0, "n");
    expect_err(fx, EROFS);
    unlinkat_msg(fx, 0, "hello.txt", 0);
    expect_err(fx, EROFS);
    setattr_msg(fx, 3, 0x1, 0600, 0, 0);
    expect_err(fx, EROFS);
    m_begin(&fx->m, TXATTRCREATE);
    m32(&fx->m, 3);
    mstr(&fx->m, "user.x");
    m64(&fx->m, 1);
    m32(&fx->m, 0);
    expect_err(fx, EROFS);
    m_begin(&fx->m, TREMOVE);
    m32(&fx->m, 3);
    expect_err(fx, EROFS);
    clunk_msg(fx, 3); /* Tremove clunked it anyway */
    expect_err(fx, EBADF);
    host_path(fx, "hello.txt", path, sizeof path);
    assert_int_equal(access(path, F_OK), 0);
    host_path(fx, "n", path, sizeof path);
    assert_int_equal(access(path, F_OK), -1);
}

/* Random garbage after a valid session never crashes and every reply is
 * well formed (the fuzzer does this at length). */
static void test_garbage(void **state)
{
    struct fixture *fx = *state;
    unsigned seed = 12345;
    session(fx, 0);
    walk1(fx, 0, 1, "hello.txt");
    for (int i = 0; i < 20000; i++) {
        size_t len = 7 + (rand_r(&seed) % 64);
        for (size_t k = 0; k < len; k++)
            fx->m.b[k] = (uint8_t)rand_r(&seed);
        fx->m.b[4] = (uint8_t)(rand_r(&seed) % 128);
        if (fx->m.b[4] == TVERSION || fx->m.b[4] == TREMOVE || fx->m.b[4] == TCLUNK)
            continue;
        if (rand_r(&seed) % 2) {
            uint32_t n = (uint32_t)len;
            memcpy(fx->m.b, &n, 4);
        }
        fx->m.b[5] = 0x34;
        fx->m.b[6] = 0x12;
        send_raw(fx, len, 256);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
