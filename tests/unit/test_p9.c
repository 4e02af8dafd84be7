/* vm-sandbox/p9: the 9P2000.L server through a full session over a
 * temporary export: version, attach, walk, lopen, read, lcreate (exact
 * mode, owner), write, fsync, getattr, setattr, readdir in one and many
 * replies, rename/renameat with fids following, unlinkat, mkdir,
 * symlink/readlink, link, mknod, statfs, xattrs, locks, flush, remove.
 * Hostile input is in test_p9_hostile.c. */
#include "tests/unit/test_p9_client.h"

/* ---- the full session ---- */

static void test_read_and_create(void **state)
{
    struct fixture *fx = *state;
    char buf[64], path[256];
    struct attr a;
    struct stat st;
    /* the guest asks for 1234:5678; a server that cannot give them
     * (unprivileged) leaves its own ids */
    bool root = can_chown(fx);
    uint32_t uid = root ? 1234 : getuid(), gid = root ? 5678 : getgid();

    session(fx, 1234);
    walk1(fx, 0, 1, "hello.txt");
    lopen(fx, 1, 0);
    memset(buf, 0, sizeof buf);
    assert_int_equal(read_fid(fx, 1, 0, sizeof buf, buf), 13);
    assert_string_equal(buf, "hello, world\n");
    assert_int_equal(read_fid(fx, 1, 7, 5, buf), 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(read_fid(fx, 1, 100, 10, NULL), 0);
    lopen_msg(fx, 1, 0);
    expect_err(fx, EBUSY); /* already open */
    clunk(fx, 1);

    /* O_APPEND is the client's business: Twrite's offset is honoured (a
     * cached client writes back whole pages at their offsets) */
    walk1(fx, 0, 1, "hello.txt");
    lopen(fx, 1, 2 | 02000 /* RDWR | APPEND */);
    assert_int_equal(write_fid(fx, 1, 0, "HELLO", 5), 5);
    assert_int_equal(read_fid(fx, 1, 0, sizeof buf, buf), 13);
    assert_memory_equal(buf, "HELLO, world\n", 13);
    clunk(fx, 1);

    /* lcreate: the directory fid becomes the new, open file */
    umask(022);
    make_server(fx, false, 0);
    session(fx, 1234);
    walk(fx, 0, 2, 0, NULL);
    lcreate_msg(fx, 2, "new.txt", 2 /* RDWR */, 0664, 5678);
    expect_ok(fx, TLCREATE);
    assert_int_equal(rqid(&fx->r).type, 0);
    assert_int_equal(write_fid(fx, 2, 0, "data!", 5), 5);
    assert_int_equal(read_fid(fx, 2, 1, 10, buf), 4);
    assert_memory_equal(buf, "ata!", 4);
    m_begin(&fx->m, TFSYNC);
    m32(&fx->m, 2);
    m32(&fx->m, 1);
    expect_ok(fx, TFSYNC);
    a = getattr(fx, 2);
    assert_int_equal(a.size, 5);
    assert_int_equal(a.mode, S_IFREG | 0664); /* exact despite umask 022 */
    assert_int_equal(a.uid, uid);
    assert_int_equal(a.gid, gid);

    host_path(fx, "new.txt", path, sizeof path);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, uid);
    assert_int_equal(st.st_gid, gid);
    assert_int_equal(st.st_mode & 07777, 0664);

    /* setattr: size, mode, mtime */
    setattr_msg(fx, 2, 0x1 | 0x8 | 0x20 | 0x100, 0600, 2, 1000000);
    expect_ok(fx, TSETATTR);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 2);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_mtime, 1000000);
    a = getattr(fx, 2);
    assert_int_equal(a.mtime, 1000000);
    setattr_msg(fx, 2, 0x20 | 0x100, 0, 0, 5);
    fx->m.n -= 8; /* mtime_nsec out of range */
    m64(&fx->m, 2000000000);
    expect_err(fx, EINVAL);
    clunk(fx, 2);

    /* an existing name without EXCL opens it; with EXCL it fails */
    walk(fx, 0, 3, 0, NULL);
    lcreate_msg(fx, 3, "new.txt", 0200 | 1, 0644, gid);
    expect_err(fx, EEXIST);
    lcreate_msg(fx, 3, "new.txt", 1 | 01000 /* TRUNC */, 0644, gid);
    expect_ok(fx, TLCREATE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(st.st_uid, uid); /* not re-owned */
    clunk(fx, 3);
}

/* Reads a directory with count-sized Treaddirs; returns the names seen as
 * one "|name|name|" string. */
static void readdir_all(struct fixture *fx, uint32_t fid, uint32_t count, char *names, size_t cap)
{
    uint64_t off = 0;
    int rounds = 0;
    names[0] = '|';
    names[1] = '\0';
    for (;;) {
        uint32_t n;
        size_t end;
        m_begin(&fx->m, TREADDIR);
        m32(&fx->m, fid);
        m64(&fx->m, off);
        m32(&fx->m, count);
        expect_ok(fx, TREADDIR);
        n = r32(&fx->r);
        assert_true(n <= count);
        assert_int_equal(fx->r.pos + n, fx->r.n);
        if (n == 0)
            break;
        end = fx->r.pos + n;
        while (fx->r.pos < end) {
            char name[256];
            rqid(&fx->r);
            off = r64(&fx->r);
            r8(&fx->r);
            rstr(&fx->r, name, sizeof name);
            assert_true(strlen(names) + strlen(name) + 2 < cap);
            strcat(names, name);
            strcat(names, "|");
        }
        assert_true(++rounds < 1000);
    }
}

static void test_readdir(void **state)
{
    struct fixture *fx = *state;
    char names[8192], name[64];
    session(fx, 0);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "file-%02d-with-a-longer-name", i);
        write_file(fx->root, name, "x");
    }
    walk(fx, 0, 1, 0, NULL);
    lopen(fx, 1, 0200000 /* DIRECTORY */);
    /* a big count, then a count that fits one or two entries per reply */
    for (int pass = 0; pass < 2; pass++) {
        readdir_all(fx, 1, pass ? 80 : 8192, names, sizeof names);
        assert_non_null(strstr(names, "|.|"));
        assert_non_null(strstr(names, "|..|"));
        assert_non_null(strstr(names, "|hello.txt|"));
        assert_non_null(strstr(names, "|sub|"));
        for (int i = 0; i < 40; i++) {
            char *hit;
            snprintf(name, sizeof name, "|file-%02d-with-a-longer-name|", i);
            hit = strstr(names, name);
            assert_non_null(hit);
            assert_null(strstr(hit + 1, name)); /* exactly once */
        }
    }
    /* a count too small for any entry gives an empty reply */
    m_begin(&fx->m, TREADDIR);
    m32(&fx->m, 1);
    m64(&fx->m, 0);
    m32(&fx->m, 10);
    expect_ok(fx, TREADDIR);
    assert_int_equal(r32(&fx->r), 0);
    /* readdir needs an open directory */
    walk1(fx, 0, 2, "sub");
    m_begin(&fx->m, TREADDIR);
    m32(&fx->m, 2);
    m64(&fx->m, 0);
    m32(&fx->m, 100);
    expect_err(fx, EBADF);
}

static void test_names(void **state)
{
    struct fixture *fx = *state;
    char path[256], buf[256];
    struct stat st;
    struct attr a;
    bool root = can_chown(fx);
    uint32_t uid = root ? 4321 : getuid();

    umask(077);
    make_server(fx, false, 0);
    session(fx, 4321);

    /* mkdir: exact mode despite umask 077, owner from the attach */
    mkdir_msg(fx, 0, "d", 0755, 99);
    expect_ok(fx, TMKDIR);
    assert_int_equal(rqid(&fx->r).type, 0x80);
    host_path(fx, "d", path, sizeof path);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_uid, uid);
    if (root)
        assert_int_equal(st.st_gid, 99);
    mkdir_msg(fx, 0, "d", 0755, 0);
    expect_err(fx, EEXIST);

    /* rename (Trenameat, then Trename of a walked fid) */
    write_file(fx->root, "a.txt", "A");
    renameat_msg(fx, 0, "a.txt", 0, "b.txt");
    expect_ok(fx, TRENAMEAT);
    host_path(fx, "b.txt", path, sizeof path);
    assert_int_equal(access(path, F_OK), 0);
    walk1(fx, 0, 1, "b.txt");
    walk1(fx, 0, 2, "d");
    m_begin(&fx->m, TRENAME);
    m32(&fx->m, 1);
    m32(&fx->m, 2);
    mstr(&fx->m, "c.txt");
    expect_ok(fx, TRENAME);
    host_path(fx, "d/c.txt", path, sizeof path);
    assert_int_equal(access(path, F_OK), 0);
    /* the fid followed: renaming it again works from its new place */
    m_begin(&fx->m, TRENAME);
    m32(&fx->m, 1);
    m32(&fx->m, 0);
    mstr(&fx->m, "back.txt");
    expect_ok(fx, TRENAME);
    host_path(fx, "back.txt", path, sizeof path);
    assert_int_equal(access(path, F_OK), 0);
    /* a fid below a renamed directory follows too: ".." leads to the new
     * parent's parent */
    walk1(fx, 2, 3, "..");
    renameat_msg(fx, 0, "d", 0, "e");
    expect_ok(fx, TRENAMEAT);
    mkdir_msg(fx, 0, "d", 0700, 0); /* a decoy under the old name */
    expect_ok(fx, TMKDIR);
    write_file(fx->root, "e/marker", "m");
    {
        const char *n2[] = { "..", "e", "marker" };
        walk(fx, 2, 4, 3, n2);
        clunk(fx, 4);
    }

    /* unlink a file and a directory */
    unlinkat_msg(fx, 0, "back.txt", 0);
    expect_ok(fx, TUNLINKAT);
    host_path(fx, "back.txt", path, sizeof path);
    assert_int_equal(access(path, F_OK), -1);
    unlinkat_msg(fx, 0, "d", 0x200);
    expect_ok(fx, TUNLINKAT);
    unlinkat_msg(fx, 0, "e", 0);
    expect_err(fx, EISDIR);
    unlinkat_msg(fx, 0, "e", 0x1);
    expect_err(fx, EINVAL);

    /* symlink and readlink; the target is stored as the guest wrote it */
    symlink_msg(fx, 0, "ln", "/etc/../../target");
    expect_ok(fx, TSYMLINK);
    assert_int_equal(rqid(&fx->r).type, 0x02);
    host_path(fx, "ln", path, sizeof path);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_uid, uid);
    walk1(fx, 0, 5, "ln");
    m_begin(&fx->m, TREADLINK);
    m32(&fx->m, 5);
    expect_ok(fx, TREADLINK);
    rstr(&fx->r, buf, sizeof buf);
    assert_string_equal(buf, "/etc/../../target");
    lopen_msg(fx, 5, 0);
    expect_err(fx, ELOOP); /* the server never opens a symlink */
    m_begin(&fx->m, TREADLINK);
    m32(&fx->m, 0);
    expect_err(fx, EINVAL); /* not a symlink */

    /* hard link */
    walk1(fx, 0, 6, "hello.txt");
    m_begin(&fx->m, TLINK);
    m32(&fx->m, 0);
    m32(&fx->m, 6);
    mstr(&fx->m, "hard.txt");
    expect_ok(fx, TLINK);
    a = getattr(fx, 6);
    assert_int_equal(a.nlink, 2);
    host_path(fx, "hard.txt", path, sizeof path);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_nlink, 2);

    /* a hard link to a symlink is another symlink, never its target
     * (up -> ../outside) */
    walk1(fx, 0, 9, "up");
    m_begin(&fx->m, TLINK);
    m32(&fx->m, 0);
    m32(&fx->m, 9);
    mstr(&fx->m, "up2");
    expect_ok(fx, TLINK);
    host_path(fx, "up2", path, sizeof path);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_nlink, 2);

    /* mknod: a FIFO is made but never opened by the server */
    m_begin(&fx->m, TMKNOD);
    m32(&fx->m, 0);
    mstr(&fx->m, "fifo");
    m32(&fx->m, S_IFIFO | 0640);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    expect_ok(fx, TMKNOD);
    host_path(fx, "fifo", path, sizeof path);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);
    walk1(fx, 0, 7, "fifo");
    lopen_msg(fx, 7, 0);
    expect_err(fx, ENXIO);
    m_begin(&fx->m, TMKNOD);
    m32(&fx->m, 0);
    mstr(&fx->m, "dir");
    m32(&fx->m, S_IFDIR | 0755);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    m32(&fx->m, 0);
    expect_err(fx, EINVAL);

    /* statfs */
    m_begin(&fx->m, TSTATFS);
    m32(&fx->m, 0);
    expect_ok(fx, TSTATFS);
    r32(&fx->r);
    assert_true(r32(&fx->r) > 0); /* bsize */
    assert_true(r64(&fx->r) > 0); /* blocks */

    /* remove clunks the fid, even when it fails */
    walk1(fx, 0, 8, "hard.txt");
    m_begin(&fx->m, TREMOVE);
    m32(&fx->m, 8);
    expect_ok(fx, TREMOVE);
    host_path(fx, "hard.txt", path, sizeof path);
    assert_int_equal(access(path, F_OK), -1);
    clunk_msg(fx, 8);
    expect_err(fx, EBADF);
    m_begin(&fx->m, TREMOVE);
    m32(&fx->m, 0); /* the root: refused, but the fid is gone */
    expect_err(fx, EBUSY);
    clunk_msg(fx, 0);
    expect_err(fx, EBADF);
}

static void test_xattr_lock_flush(void **state)
{
    struct fixture *fx = *state;
    char path[256], val[64], list[256];
    ssize_t n;
    session(fx, 0);
    host_path(fx, "hello.txt", path, sizeof path);
    if (setxattr(path, "user.probe", "1", 1, 0)) {
        print_message("skipping xattr checks: %s has no user xattrs (%s)\n", fx->root, strerror(errno));
    } else {
        removexattr(path, "user.probe");
        /* set user.color = "blue" through a fid */
        walk1(fx, 0, 1, "hello.txt");
        m_begin(&fx->m, TXATTRCREATE);
        m32(&fx->m, 1);
        mstr(&fx->m, "user.color");
        m64(&fx->m, 4);
        m32(&fx->m, 0);
        expect_ok(fx, TXATTRCREATE);
        assert_int_equal(write_fid(fx, 1, 0, "bl", 2), 2);
        assert_int_equal(write_fid(fx, 1, 2, "ue", 2), 2);
        write_msg(fx, 1, 3, "xx", 2);
        expect_err(fx, ERANGE); /* past the announced size */
        clunk(fx, 1);
        n = getxattr(path, "user.color", val, sizeof val);
        assert_int_equal(n, 4);
        assert_memory_equal(val, "blue", 4);
        /* read it back, and the list */
        walk1(fx, 0, 2, "hello.txt");
        m_begin(&fx->m, TXATTRWALK);
        m32(&fx->m, 2);
        m32(&fx->m, 3);
        mstr(&fx->m, "user.color");
        expect_ok(fx, TXATTRWALK);
        assert_int_equal(r64(&fx->r), 4);
        assert_int_equal(read_fid(fx, 3, 0, 100, val), 4);
        assert_memory_equal(val, "blue", 4);
        assert_int_equal(read_fid(fx, 3, 2, 100, val), 2);
        clunk(fx, 3);
        m_begin(&fx->m, TXATTRWALK);
        m32(&fx->m, 2);
        m32(&fx->m, 3);
        mstr(&fx->m, "");
        expect_ok(fx, TXATTRWALK);
        n = (ssize_t)r64(&fx->r);
        assert_true(n > 0 && n < (ssize_t)sizeof list);
        assert_int_equal(read_fid(fx, 3, 0, sizeof list, list), n);
        assert_true(memmem(list, (size_t)n, "user.color", 11) != NULL);
        clunk(fx, 3);
        m_begin(&fx->m, TXATTRWALK);
        m32(&fx->m, 2);
        m32(&fx->m, 3);
        mstr(&fx->m, "user.missing");
        expect_err(fx, ENODATA);
        /* an announced size larger than written is not committed */
        m_begin(&fx->m, TXATTRCREATE);
        m32(&fx->m, 2);
        mstr(&fx->m, "user.part");
        m64(&fx->m, 10);
        m32(&fx->m, 0);
        expect_ok(fx, TXATTRCREATE);
        write_fid(fx, 2, 0, "abc", 3);
        clunk_msg(fx, 2);
        expect_err(fx, EINVAL);
        assert_int_equal(getxattr(path, "user.part", val, sizeof val), -1);
        /* size 0 removes */
        walk1(fx, 0, 2, "hello.txt");
        m_begin(&fx->m, TXATTRCREATE);
        m32(&fx->m, 2);
        mstr(&fx->m, "user.color");
        m64(&fx->m, 0);
        m32(&fx->m, 0);
        expect_ok(fx, TXATTRCREATE);
        clunk(fx, 2);
        assert_int_equal(getxattr(path, "user.color", val, sizeof val), -1);
        /* refused names and sizes */
        walk1(fx, 0, 2, "hello.txt");
        m_begin(&fx->m, TXATTRCREATE);
        m32(&fx->m, 2);
        mstr(&fx->m, "trusted.overlay.redirect");
        m64(&fx->m, 1);
        m32(&fx->m, 0);
        expect_err(fx, EOPNOTSUPP);
        m_begin(&fx->m, TXATTRCREATE);
        m32(&fx->m, 2);
        mstr(&fx->m, "user.big");
        m64(&fx->m, 1ULL << 40);
        m32(&fx->m, 0);
        expect_err(fx, E2BIG);
        clunk(fx, 2);
    }

    /* locks: granted on an open fid, refused otherwise */
    walk1(fx, 0, 4, "hello.txt");
    m_begin(&fx->m, TLOCK);
    m32(&fx->m, 4);
    m8(&fx->m, 1);
    m32(&fx->m, 0);
    m64(&fx->m, 0);
    m64(&fx->m, 0);
    m32(&fx->m, 42);
    mstr(&fx->m, "guest");
    expect_err(fx, EBADF);
    lopen(fx, 4, 2);
    m_begin(&fx->m, TLOCK);
    m32(&fx->m, 4);
    m8(&fx->m, 1);
    m32(&fx->m, 1);
    m64(&fx->m, 10);
    m64(&fx->m, 5);
    m32(&fx->m, 42);
    mstr(&fx->m, "guest");
    expect_ok(fx, TLOCK);
    assert_int_equal(r8(&fx->r), 0);
    m_begin(&fx->m, TGETLOCK);
    m32(&fx->m, 4);
    m8(&fx->m, 0);
    m64(&fx->m, 0);
    m64(&fx->m, 100);
    m32(&fx->m, 7);
    mstr(&fx->m, "guest");
    expect_ok(fx, TGETLOCK);
    assert_int_equal(r8(&fx->r), 2);
    assert_int_equal(r64(&fx->r), 0);
    assert_int_equal(r64(&fx->r), 100);
    assert_int_equal(r32(&fx->r), 7);
    m_begin(&fx->m, TLOCK);
    m32(&fx->m, 4);
    m8(&fx->m, 9); /* no such type */
    m32(&fx->m, 0);
    m64(&fx->m, 0);
    m64(&fx->m, 0);
    m32(&fx->m, 42);
    mstr(&fx->m, "guest");
    expect_err(fx, EINVAL);

    m_begin(&fx->m, TFLUSH);
    m16(&fx->m, 7);
    expect_ok(fx, TFLUSH);
    assert_int_equal(fx->r.n, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_and_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xattr_lock_flush, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
