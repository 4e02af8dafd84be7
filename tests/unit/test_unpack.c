/* images/unpack.c: entry kinds and metadata, escapes, compression, diff_id
 * and foreign formats. Whiteouts, hard-link copy-up, id maps and
 * zlayers_prepare are in test_unpack_layers.c. */
#include "test_unpack_util.h"

/* VFS_CAP_REVISION_2 with the effective bit, CAP_NET_BIND_SERVICE (10). */
static const unsigned char cap_v2[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };

static void test_regular_tree(void **state)
{
    struct fx *f = TU_FX(state);
    struct zunpack_stats st;
    struct stat s;
    char v[64];

    TU_WRITE(f, T_NONE,
             { .name = "./", .type = AE_IFDIR, .perm = 0711 },
             { .name = "./etc/", .type = AE_IFDIR, .perm = 0750, .uid = 5, .gid = 6,
               .mtime = 1234567 },
             { .name = "./etc/motd", .data = "hello\n", .perm = 0640, .uid = 10, .gid = 20,
               .mtime = 7654321, .xname = "user.note", .xval = "hi", .xlen = 2 },
             { .name = "./bin/su", .data = "#!\n", .perm = 04755, .mtime = 99 },
             { .name = "./bin/ping", .data = "ping", .perm = 0755, .xname = "security.capability",
               .xval = cap_v2, .xlen = sizeof cap_v2 },
             { .name = "./etc/secret", .data = "t", .xname = "trusted.zone", .xval = "x",
               .xlen = 1 });
    tu_expect_ok(f, NULL, &st);
    assert_int_equal(st.entries, 6);
    assert_int_equal(st.bytes, 6 + 3 + 4 + 1);

    assert_int_equal(stat(f->target, &s), 0);
    assert_int_equal(s.st_mode & 07777, 0711);
    assert_int_equal(stat(tu_path(f, "etc"), &s), 0);
    assert_true(S_ISDIR(s.st_mode));
    assert_int_equal(s.st_mode & 07777, 0750);
    assert_int_equal(s.st_uid, 5);
    assert_int_equal(s.st_gid, 6);
    /* set after its children were created */
    assert_int_equal(s.st_mtime, 1234567);

    assert_int_equal(stat(tu_path(f, "etc/motd"), &s), 0);
    assert_int_equal(s.st_mode & 07777, 0640);
    assert_int_equal(s.st_uid, 10);
    assert_int_equal(s.st_gid, 20);
    assert_int_equal(s.st_mtime, 7654321);
    assert_string_equal(tu_read_file(tu_path(f, "etc/motd")), "hello\n");
    assert_int_equal(getxattr(tu_path(f, "etc/motd"), "user.note", v, sizeof v), 2);
    assert_memory_equal(v, "hi", 2);

    assert_int_equal(stat(tu_path(f, "bin/su"), &s), 0);
    assert_int_equal(s.st_mode & 07777, 04755);
    assert_int_equal(s.st_mtime, 99);
    /* an implicit parent */
    assert_int_equal(stat(tu_path(f, "bin"), &s), 0);
    assert_true(S_ISDIR(s.st_mode));

    assert_int_equal(getxattr(tu_path(f, "bin/ping"), "security.capability", v, sizeof v),
                     sizeof cap_v2);
    assert_memory_equal(v, cap_v2, sizeof cap_v2);
    assert_int_equal(getxattr(tu_path(f, "etc/secret"), "trusted.zone", v, sizeof v), 1);
    tu_assert_sentinel(f);
}

static void test_hardlink_inside(void **state)
{
    struct fx *f = TU_FX(state);
    struct stat a, b;
    TU_WRITE(f, T_GZIP,
             { .name = "usr/bin/a", .data = "same", .perm = 0755 },
             { .name = "usr/bin/b", .hardlink = "usr/bin/a" },
             { .name = "c", .hardlink = "./usr/bin/a" });
    tu_expect_ok(f, NULL, NULL);
    assert_int_equal(stat(tu_path(f, "usr/bin/a"), &a), 0);
    assert_int_equal(stat(tu_path(f, "usr/bin/b"), &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_nlink, 3);
    assert_int_equal(stat(tu_path(f, "c"), &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    tu_assert_sentinel(f);
}

static void test_symlink(void **state)
{
    struct fx *f = TU_FX(state);
    char buf[64];
    struct stat s;
    ssize_t n;
    TU_WRITE(f, T_NONE,
             { .name = "bin/sh", .data = "x" },
             { .name = "link", .type = AE_IFLNK, .symlink = "bin/sh", .uid = 7, .gid = 8,
               .mtime = 4242 },
             { .name = "abs", .type = AE_IFLNK, .symlink = "/etc/passwd" },
             /* replaces the earlier symlink, never writes through it */
             { .name = "replace", .type = AE_IFLNK, .symlink = "/etc/shadow" },
             { .name = "replace", .data = "plain" });
    tu_expect_ok(f, NULL, NULL);
    n = readlink(tu_path(f, "link"), buf, sizeof buf - 1);
    assert_int_equal(n, 6);
    buf[n] = '\0';
    assert_string_equal(buf, "bin/sh");
    assert_int_equal(lstat(tu_path(f, "link"), &s), 0);
    assert_int_equal(s.st_uid, 7);
    assert_int_equal(s.st_gid, 8);
    assert_int_equal(s.st_mtime, 4242);
    n = readlink(tu_path(f, "abs"), buf, sizeof buf - 1);
    buf[n] = '\0';
    assert_string_equal(buf, "/etc/passwd");
    assert_int_equal(lstat(tu_path(f, "replace"), &s), 0);
    assert_true(S_ISREG(s.st_mode));
    assert_string_equal(tu_read_file(tu_path(f, "replace")), "plain");
    tu_assert_sentinel(f);
}

static void test_device_and_fifo(void **state)
{
    struct fx *f = TU_FX(state);
    struct zunpack_stats st;
    struct stat s;
    TU_WRITE(f, T_NONE,
             { .name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rmajor = 1, .rminor = 3 },
             { .name = "dev/loop0", .type = AE_IFBLK, .perm = 0660, .rmajor = 7, .rminor = 0,
               .gid = 6 },
             { .name = "run/fifo", .type = AE_IFIFO, .perm = 0620, .uid = 3 });
    tu_expect_ok(f, NULL, &st);
    if (geteuid() == 0) {
        assert_int_equal(st.skipped_devices, 0);
        assert_int_equal(lstat(tu_path(f, "dev/null"), &s), 0);
        assert_true(S_ISCHR(s.st_mode));
        assert_int_equal(s.st_rdev, makedev(1, 3));
        assert_int_equal(s.st_mode & 07777, 0666);
        assert_int_equal(lstat(tu_path(f, "dev/loop0"), &s), 0);
        assert_true(S_ISBLK(s.st_mode));
        assert_int_equal(s.st_rdev, makedev(7, 0));
        assert_int_equal(s.st_gid, 6);
    } else {
        assert_int_equal(st.skipped_devices, 2);
    }
    assert_int_equal(lstat(tu_path(f, "run/fifo"), &s), 0);
    assert_true(S_ISFIFO(s.st_mode));
    assert_int_equal(s.st_mode & 07777, 0620);
    assert_int_equal(s.st_uid, 3);
    tu_assert_sentinel(f);
}

static void test_dotdot_escape(void **state)
{
    struct fx *f = TU_FX(state);
    TU_WRITE(f, T_NONE,
             { .name = "ok", .data = "x" },
             { .name = "../sentinel/pwned", .data = "evil" });
    tu_expect_error(f, NULL, "\"../sentinel/pwned\"");
    tu_assert_sentinel(f);

    /* a ".." that stays inside is resolved lexically */
    TU_WRITE(f, T_NONE, { .name = "a/../b/../inside", .data = "fine" });
    tu_expect_ok(f, NULL, NULL);
    assert_string_equal(tu_read_file(tu_path(f, "inside")), "fine");
    TU_WRITE(f, T_NONE, { .name = "a/../../x", .data = "evil" });
    tu_expect_error(f, NULL, "climbs above the root");
    tu_assert_sentinel(f);
}

static void test_absolute_stays_inside(void **state)
{
    struct fx *f = TU_FX(state);
    char name[PATH_MAX + 16];
    snprintf(name, sizeof name, "%s/pwned", f->sentinel);
    TU_WRITE(f, T_NONE,
             { .name = "/etc/passwd", .data = "root:x:0:0::/root:/bin/sh\n" },
             { .name = name, .data = "evil" });
    tu_expect_ok(f, NULL, NULL);
    assert_string_equal(tu_read_file(tu_path(f, "etc/passwd")), "root:x:0:0::/root:/bin/sh\n");
    /* the absolute name landed below the target */
    assert_string_equal(tu_read_file(tu_path(f, name + 1)), "evil");
    tu_assert_sentinel(f);
}

static void test_symlinked_parent_escape(void **state)
{
    struct fx *f = TU_FX(state);
    TU_WRITE(f, T_NONE,
             { .name = "a", .type = AE_IFLNK, .symlink = f->sentinel },
             { .name = "a/file", .data = "evil" },
             { .name = "b", .type = AE_IFLNK, .symlink = "../sentinel" },
             { .name = "b/file2", .data = "evil2" },
             { .name = "c", .type = AE_IFLNK, .symlink = "/tmp/x" },
             { .name = "c/file3", .data = "evil3" });
    char inside[PATH_MAX + 16];
    tu_expect_ok(f, NULL, NULL);
    /* absolute and climbing symlinks are resolved with the target as "/" */
    snprintf(inside, sizeof inside, "%s/file", f->sentinel + 1);
    assert_string_equal(tu_read_file(tu_path(f, inside)), "evil");
    assert_string_equal(tu_read_file(tu_path(f, "sentinel/file2")), "evil2");
    assert_string_equal(tu_read_file(tu_path(f, "tmp/x/file3")), "evil3");
    assert_int_equal(access("/tmp/x/file3", F_OK), -1);
    tu_assert_sentinel(f);
}

static void test_symlink_dotdot_chain(void **state)
{
    struct fx *f = TU_FX(state);
    TU_WRITE(f, T_NONE,
             { .name = "d1/d2", .type = AE_IFDIR },
             { .name = "d1/d2/l1", .type = AE_IFLNK, .symlink = ".." },
             { .name = "d1/d2/l2", .type = AE_IFLNK, .symlink = "l1/.." },
             { .name = "d1/d2/l3", .type = AE_IFLNK, .symlink = "l2/../../../.." },
             { .name = "d1/d2/l3/sentinel/chain", .data = "evil" },
             { .name = "d1/d2/l2/d1/d2/l2/d1/d2/l3/chain2", .data = "x" });
    tu_expect_ok(f, NULL, NULL);
    assert_string_equal(tu_read_file(tu_path(f, "sentinel/chain")), "evil");
    assert_string_equal(tu_read_file(tu_path(f, "chain2")), "x");
    tu_assert_sentinel(f);
}

static void test_hardlink_escape(void **state)
{
    struct fx *f = TU_FX(state);
    char abs[PATH_MAX + 16];
    TU_WRITE(f, T_NONE, { .name = "h", .hardlink = "../../etc/passwd" });
    tu_expect_error(f, NULL, "climbs above the root");
    TU_WRITE(f, T_NONE, { .name = "h", .hardlink = "../sentinel/keep" });
    tu_expect_error(f, NULL, "\"h\"");
    /* an absolute target is looked up inside the target, where it is not */
    snprintf(abs, sizeof abs, "%s/keep", f->sentinel);
    TU_WRITE(f, T_NONE, { .name = "h", .hardlink = abs });
    tu_expect_error(f, NULL, "hard link target");
    tu_assert_sentinel(f);
}

static void test_hardlink_symlinked_parent(void **state)
{
    struct fx *f = TU_FX(state);
    struct stat s;
    TU_WRITE(f, T_NONE,
             { .name = "s", .type = AE_IFLNK, .symlink = f->sentinel },
             { .name = "h", .hardlink = "s/keep" });
    tu_expect_error(f, NULL, "hard link target");
    tu_assert_sentinel(f);
    TU_WRITE(f, T_NONE,
             { .name = "up", .type = AE_IFLNK, .symlink = "../.." },
             { .name = "h2", .hardlink = "up/sentinel/keep" });
    tu_expect_error(f, NULL, "hard link target");
    tu_assert_sentinel(f);
    /* a hard link to a symlink links the symlink itself */
    TU_WRITE(f, T_NONE,
             { .name = "s", .type = AE_IFLNK, .symlink = f->sentinel },
             { .name = "h3", .hardlink = "s" });
    tu_expect_ok(f, NULL, NULL);
    assert_int_equal(lstat(tu_path(f, "h3"), &s), 0);
    assert_true(S_ISLNK(s.st_mode));
    assert_int_equal(s.st_nlink, 2);
    tu_assert_sentinel(f);
}

static void test_whiteout_dot_names(void **state)
{
    struct fx *f = TU_FX(state);
    const char *names[] = { ".wh.", ".wh..", ".wh...", "dir/.wh..", "dir/.wh...", "dir/.wh." };
    for (size_t mode = 0; mode < 2; mode++) {
        struct zunpack_opts o = { .mode = mode ? ZUNPACK_FLAT : ZUNPACK_OVERLAY,
                                  .opaque_xattr = "trusted.overlay.opaque" };
        for (size_t i = 0; i < ZARRAY_SIZE(names); i++) {
            struct stat s;
            TU_WRITE(f, T_NONE, { .name = "dir/file", .data = "x" }, { .name = names[i] });
            tu_expect_error(f, &o, "would delete its parent");
            assert_int_equal(stat(tu_path(f, "dir/file"), &s), 0);
        }
    }
    tu_assert_sentinel(f);
}

static void check_compressed(struct fx *f, enum tfilter filter)
{
    TU_WRITE(f, filter,
             { .name = "a/b", .data = "compressed content" },
             { .name = "a/c", .type = AE_IFLNK, .symlink = "b" });
    tu_expect_ok(f, NULL, NULL);
    assert_string_equal(tu_read_file(tu_path(f, "a/c")), "compressed content");
    tu_assert_sentinel(f);
}

static void test_gzip(void **state) { check_compressed(TU_FX(state), T_GZIP); }
static void test_zstd(void **state) { check_compressed(TU_FX(state), T_ZSTD); }

static void digest_of_file(const char *path, char out[ZDIGEST_MAX])
{
    struct zerr e;
    _cleanup_free_ char *data = NULL;
    FILE *fp = fopen(path, "r");
    long len;
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    data = malloc((size_t)len + 1);
    assert_int_equal(fread(data, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    zdigest_of(data, (size_t)len, out);
    (void)e;
}

static void test_diff_id(void **state)
{
    struct fx *f = TU_FX(state);
    char digest[ZDIGEST_MAX];
    struct zunpack_opts o = { .mode = ZUNPACK_OVERLAY, .expect_diff_id = digest };
    const struct tentry v[] = { { .name = "f", .data = "diff id" }, { .name = "d", .type = AE_IFDIR } };

    tu_write_archive(f->blob, T_NONE, false, v, ZARRAY_SIZE(v));
    digest_of_file(f->blob, digest);
    tu_expect_ok(f, &o, NULL);
    /* same tar, compressed: the diff_id is over the uncompressed bytes */
    tu_write_archive(f->blob, T_ZSTD, false, v, ZARRAY_SIZE(v));
    tu_expect_ok(f, &o, NULL);
    tu_write_archive(f->blob, T_GZIP, false, v, ZARRAY_SIZE(v));
    tu_expect_ok(f, &o, NULL);
    /* the compressed blob's own digest is not the diff_id */
    digest_of_file(f->blob, digest);
    tu_expect_error(f, &o, "diff_id mismatch");
    digest[strlen(digest) - 1] = digest[strlen(digest) - 1] == '0' ? '1' : '0';
    tu_expect_error(f, &o, "diff_id mismatch");
    tu_assert_sentinel(f);
}

static void test_truncated_gzip(void **state)
{
    struct fx *f = TU_FX(state);
    char big[20000];
    struct stat s;
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    big[sizeof big - 1] = '\0';
    TU_WRITE(f, T_GZIP, { .name = "f1", .data = big }, { .name = "f2", .data = big });
    assert_int_equal(stat(f->blob, &s), 0);
    assert_int_equal(truncate(f->blob, s.st_size / 2), 0);
    tu_expect_error(f, NULL, "layer test");
    tu_assert_sentinel(f);
}

static void test_zip_refused(void **state)
{
    struct fx *f = TU_FX(state);
    const struct tentry v[] = { { .name = "f", .data = "zip" } };
    tu_write_archive(f->blob, T_NONE, true, v, 1);
    tu_expect_error(f, NULL, "zip");
    tu_expect_error(f, NULL, "not a tar archive");
    tu_write_archive(f->blob, T_GZIP, true, v, 1);
    tu_expect_error(f, NULL, "zip");
    assert_int_equal(access(tu_path(f, "f"), F_OK), -1);
}

static void test_overlay_xattr_refused(void **state)
{
    struct fx *f = TU_FX(state);
    TU_WRITE(f, T_NONE, { .name = "d", .type = AE_IFDIR, .xname = "trusted.overlay.opaque",
                          .xval = "y", .xlen = 1 });
    tu_expect_error(f, NULL, "overlay xattr");
    TU_WRITE(f, T_NONE, { .name = "f", .xname = "user.overlay.redirect", .xval = "/x",
                          .xlen = 2 });
    tu_expect_error(f, NULL, "\"f\"");
}

static void test_limits(void **state)
{
    struct fx *f = TU_FX(state);
    char *longtarget = malloc(5000), *longname = malloc(5000);
    memset(longtarget, 'a', 4999);
    longtarget[4999] = '\0';
    TU_WRITE(f, T_NONE, { .name = "l", .type = AE_IFLNK, .symlink = longtarget });
    tu_expect_error(f, NULL, "symlink target longer");
    for (size_t i = 0; i < 4999; i++)
        longname[i] = i % 100 == 99 ? '/' : 'n';
    longname[4999] = '\0';
    TU_WRITE(f, T_NONE, { .name = longname, .data = "x" });
    tu_expect_error(f, NULL, "name longer");
    memset(longname, 'c', 300);
    longname[300] = '\0';
    TU_WRITE(f, T_NONE, { .name = longname, .data = "x" });
    tu_expect_error(f, NULL, "component longer");
    free(longtarget);
    free(longname);
}

static void test_empty_and_garbage(void **state)
{
    struct fx *f = TU_FX(state);
    struct zunpack_stats st;
    /* an empty blob and an empty tar are empty layers */
    tu_write_file(f->blob, "");
    tu_expect_ok(f, NULL, &st);
    assert_int_equal(st.entries, 0);
    tu_write_archive(f->blob, T_GZIP, false, NULL, 0);
    tu_expect_ok(f, NULL, &st);
    assert_int_equal(st.entries, 0);
    tu_write_file(f->blob, "this is not a tar archive at all, just some text\n");
    tu_expect_error(f, NULL, "not a tar archive");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, tu_setup, tu_teardown)
        T(test_regular_tree),
        T(test_hardlink_inside),
        T(test_symlink),
        T(test_device_and_fifo),
        T(test_dotdot_escape),
        T(test_absolute_stays_inside),
        T(test_symlinked_parent_escape),
        T(test_symlink_dotdot_chain),
        T(test_hardlink_escape),
        T(test_hardlink_symlinked_parent),
        T(test_whiteout_dot_names),
        T(test_gzip),
        T(test_zstd),
        T(test_diff_id),
        T(test_truncated_gzip),
        T(test_zip_refused),
        T(test_overlay_xattr_refused),
        T(test_limits),
        T(test_empty_and_garbage),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
