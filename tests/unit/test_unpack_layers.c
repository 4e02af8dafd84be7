/* images/unpack_whiteout.c, hard-link copy-up, id maps (unpack_entry.c)
 * and zlayers_prepare (layers.c). */
#include "test_unpack_util.h"

#include "images/manifest.h"

static void test_whiteout_overlay(void **state)
{
    struct fx *f = TU_FX(state);
    struct stat s;
    char v[8];

    TU_WRITE(f, T_NONE,
             { .name = "gone", .data = "this layer had it first" },
             { .name = ".wh.gone" },
             { .name = "dir/x", .data = "x" },
             { .name = "dir/.wh..wh..opq" },
             { .name = "other/.wh..wh..opq" },       /* before its directory */
             { .name = "other/", .type = AE_IFDIR, .perm = 0700 },
             { .name = "deep/er/.wh.file" },
             { .name = "dir2/.wh..wh.plnk" });       /* aufs bookkeeping: skipped */
    tu_expect_ok(f, NULL, NULL);
    assert_int_equal(lstat(tu_path(f, "gone"), &s), 0);
    assert_true(S_ISCHR(s.st_mode));
    assert_int_equal(s.st_rdev, makedev(0, 0));
    assert_int_equal(lstat(tu_path(f, "deep/er/file"), &s), 0);
    assert_true(S_ISCHR(s.st_mode));
    assert_int_equal(getxattr(tu_path(f, "dir"), "trusted.overlay.opaque", v, sizeof v), 1);
    assert_int_equal(v[0], 'y');
    assert_string_equal(tu_read_file(tu_path(f, "dir/x")), "x");
    assert_int_equal(getxattr(tu_path(f, "other"), "trusted.overlay.opaque", v, sizeof v), 1);
    assert_int_equal(stat(tu_path(f, "other"), &s), 0);
    assert_int_equal(s.st_mode & 07777, 0700);
    assert_int_equal(lstat(tu_path(f, "dir2/.wh..wh.plnk"), &s), -1);
    assert_int_equal(lstat(tu_path(f, ".wh.gone"), &s), -1);

    /* the user.* name (rootless overlay with userxattr) */
    struct zunpack_opts o = { .mode = ZUNPACK_OVERLAY, .opaque_xattr = "user.overlay.opaque" };
    TU_WRITE(f, T_NONE, { .name = "u/.wh..wh..opq" });
    tu_expect_ok(f, &o, NULL);
    assert_int_equal(getxattr(tu_path(f, "u"), "user.overlay.opaque", v, sizeof v), 1);
    tu_assert_sentinel(f);
}

/* An earlier layer in the flat tree. */
static void flat_lower(struct fx *f)
{
    struct zunpack_opts o = { .mode = ZUNPACK_FLAT };
    TU_WRITE(f, T_NONE,
             { .name = "a/old1", .data = "1" },
             { .name = "a/sub/old2", .data = "2" },
             { .name = "a/sub/keepdir/", .type = AE_IFDIR },
             { .name = "b/keep", .data = "k" },
             { .name = "c", .data = "c" },
             { .name = "d/tree/deep/file", .data = "d" },
             { .name = "e/old", .data = "e" });
    tu_expect_ok(f, &o, NULL);
}

static void test_whiteout_flat(void **state)
{
    struct fx *f = TU_FX(state);
    struct zunpack_opts o = { .mode = ZUNPACK_FLAT };
    struct stat s;

    flat_lower(f);
    /* entries of this layer both before and after the opaque marker */
    TU_WRITE(f, T_NONE,
             { .name = "a/new", .data = "n" },
             { .name = "a/sub/new2", .data = "n2" },
             { .name = "a/.wh..wh..opq" },
             { .name = "a/after", .data = "after" },
             { .name = ".wh.c" },
             { .name = ".wh.d" },
             { .name = ".wh.nothing" },
             { .name = "e/.wh..wh..opq" },
             { .name = "e/old", .data = "replaced" });
    tu_expect_ok(f, &o, NULL);
    assert_string_equal(tu_read_file(tu_path(f, "a/new")), "n");
    assert_string_equal(tu_read_file(tu_path(f, "a/sub/new2")), "n2");
    assert_string_equal(tu_read_file(tu_path(f, "a/after")), "after");
    assert_int_equal(lstat(tu_path(f, "a/old1"), &s), -1);
    assert_int_equal(lstat(tu_path(f, "a/sub/old2"), &s), -1);
    assert_int_equal(lstat(tu_path(f, "a/sub/keepdir"), &s), -1);
    assert_string_equal(tu_read_file(tu_path(f, "b/keep")), "k");
    assert_int_equal(lstat(tu_path(f, "c"), &s), -1);
    assert_int_equal(lstat(tu_path(f, "d"), &s), -1);
    assert_string_equal(tu_read_file(tu_path(f, "e/old")), "replaced");
    /* no whiteout devices or markers in a flat tree */
    assert_int_equal(lstat(tu_path(f, ".wh.c"), &s), -1);
    assert_int_equal(lstat(tu_path(f, "a/.wh..wh..opq"), &s), -1);
    tu_assert_sentinel(f);
}

static void test_whiteout_flat_opaque_first(void **state)
{
    struct fx *f = TU_FX(state);
    struct zunpack_opts o = { .mode = ZUNPACK_FLAT };
    struct stat s;

    flat_lower(f);
    TU_WRITE(f, T_NONE,
             { .name = "a/.wh..wh..opq" },
             { .name = "a/sub/new2", .data = "n2" },
             /* a whiteout of a name this layer itself adds keeps it */
             { .name = "b/keep", .data = "mine" },
             { .name = "b/.wh.keep" });
    tu_expect_ok(f, &o, NULL);
    assert_int_equal(lstat(tu_path(f, "a/old1"), &s), -1);
    assert_int_equal(lstat(tu_path(f, "a/sub/old2"), &s), -1);
    assert_string_equal(tu_read_file(tu_path(f, "a/sub/new2")), "n2");
    assert_string_equal(tu_read_file(tu_path(f, "b/keep")), "mine");
    tu_assert_sentinel(f);
}

static void test_flat_whiteout_through_symlink(void **state)
{
    struct fx *f = TU_FX(state);
    struct zunpack_opts o = { .mode = ZUNPACK_FLAT };
    TU_WRITE(f, T_NONE, { .name = "s", .type = AE_IFLNK, .symlink = f->sentinel });
    tu_expect_ok(f, &o, NULL);
    /* s resolves inside the target, where there is no "keep" */
    TU_WRITE(f, T_NONE, { .name = "s/.wh.keep" }, { .name = "s/.wh..wh..opq" });
    tu_expect_ok(f, &o, NULL);
    TU_WRITE(f, T_NONE, { .name = "../sentinel/.wh.keep" });
    tu_expect_error(f, &o, "climbs above the root");
    tu_assert_sentinel(f);
}

static void test_hardlink_copy_up(void **state)
{
    struct fx *f = TU_FX(state);
    char lower[PATH_MAX + 16], p[PATH_MAX + 32];
    const char *lowers[1] = { lower };
    struct zunpack_opts o = { .mode = ZUNPACK_OVERLAY, .opaque_xattr = "trusted.overlay.opaque",
                              .lower_dirs = lowers, .n_lower_dirs = 1 };
    struct stat a, b;
    char v[8];

    snprintf(lower, sizeof lower, "%s/lower", f->top);
    assert_int_equal(mkdir(lower, 0755), 0);
    snprintf(p, sizeof p, "%s/usr", lower);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/usr/tool", lower);
    tu_write_file(p, "lower content");
    assert_int_equal(chown(p, 12, 34), 0);
    assert_int_equal(chmod(p, 04711), 0);
    assert_int_equal(setxattr(p, "user.k", "v", 1, 0), 0);
    snprintf(p, sizeof p, "%s/gone", lower);
    assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0);

    TU_WRITE(f, T_NONE, { .name = "bin/tool", .hardlink = "usr/tool" });
    tu_expect_ok(f, &o, NULL);
    assert_int_equal(stat(tu_path(f, "usr/tool"), &a), 0);
    assert_int_equal(stat(tu_path(f, "bin/tool"), &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_mode & 07777, 04711);
    assert_int_equal(a.st_uid, 12);
    assert_int_equal(a.st_gid, 34);
    assert_string_equal(tu_read_file(tu_path(f, "bin/tool")), "lower content");
    assert_int_equal(getxattr(tu_path(f, "usr/tool"), "user.k", v, sizeof v), 1);
    /* the lower file itself is untouched */
    snprintf(p, sizeof p, "%s/usr/tool", lower);
    assert_int_equal(stat(p, &a), 0);
    assert_int_equal(a.st_nlink, 1);

    /* deleted in the lower layer, absent, or escaping: refused */
    TU_WRITE(f, T_NONE, { .name = "x", .hardlink = "gone" });
    tu_expect_error(f, &o, "not found");
    TU_WRITE(f, T_NONE, { .name = "x", .hardlink = "nowhere" });
    tu_expect_error(f, &o, "not found");
    TU_WRITE(f, T_NONE, { .name = "x", .hardlink = "../lower/usr/tool" });
    tu_expect_error(f, &o, "climbs above");
    TU_WRITE(f, T_NONE, { .name = ".wh.w" }, { .name = "x", .hardlink = "w" });
    tu_expect_error(f, &o, "deleted");
    /* without lower dirs a target outside this layer is refused */
    o.n_lower_dirs = 0;
    TU_WRITE(f, T_NONE, { .name = "y", .hardlink = "usr/other" });
    tu_expect_error(f, &o, "\"y\"");
    tu_assert_sentinel(f);
}

static void test_id_maps(void **state)
{
    struct fx *f = TU_FX(state);
    const struct zid_range uids[] = { { 0, 100000, 1000 }, { 5000, 7000, 10 } };
    const struct zid_range gids[] = { { 0, 200000, 65536 } };
    struct zunpack_opts o = { .mode = ZUNPACK_OVERLAY, .opaque_xattr = "trusted.overlay.opaque",
                              .uid_map = uids, .n_uid_map = 2, .gid_map = gids, .n_gid_map = 1 };
    struct stat s;

    TU_WRITE(f, T_NONE,
             { .name = "f", .data = "x", .uid = 5, .gid = 7 },
             { .name = "g", .data = "x", .uid = 5009, .gid = 0 },
             { .name = "l", .type = AE_IFLNK, .symlink = "f", .uid = 999, .gid = 65535 });
    tu_expect_ok(f, &o, NULL);
    assert_int_equal(lstat(tu_path(f, "f"), &s), 0);
    assert_int_equal(s.st_uid, 100005);
    assert_int_equal(s.st_gid, 200007);
    assert_int_equal(lstat(tu_path(f, "g"), &s), 0);
    assert_int_equal(s.st_uid, 7009);
    assert_int_equal(lstat(tu_path(f, "l"), &s), 0);
    assert_int_equal(s.st_uid, 100999);
    assert_int_equal(s.st_gid, 265535);

    TU_WRITE(f, T_NONE, { .name = "bad", .data = "x", .uid = 1000 });
    tu_expect_error(f, &o, "\"bad\": owner uid 1000 has no mapping");
    TU_WRITE(f, T_NONE, { .name = "badg", .type = AE_IFDIR, .gid = 70000 });
    tu_expect_error(f, &o, "\"badg/\": owner gid 70000 has no mapping");
    tu_assert_sentinel(f);
}

/* ------------------------------------------------------------ store */

struct sfx {
    struct fx *f;
    struct zstore *s;
    char dir[PATH_MAX + 16];
};

static void put_layer(struct sfx *x, const struct tentry *v, size_t n, char digest[ZDIGEST_MAX],
                      char diff_id[ZDIGEST_MAX])
{
    struct zerr e = {0};
    _cleanup_free_ char *data = NULL;
    FILE *fp;
    long len;

    tu_write_archive(x->f->blob, T_NONE, false, v, n);
    fp = fopen(x->f->blob, "r");
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    data = malloc((size_t)len);
    assert_int_equal(fread(data, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    zdigest_of(data, (size_t)len, diff_id);
    /* stored gzip-compressed, as registries serve them */
    tu_write_archive(x->f->blob, T_GZIP, false, v, n);
    free(data);
    fp = fopen(x->f->blob, "r");
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    data = malloc((size_t)len);
    assert_int_equal(fread(data, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    if (zstore_put_blob(x->s, data, (size_t)len, NULL, digest, &e) < 0)
        fail_msg("put_blob: %s", e.msg);
}

static void image_of(struct zimage *im, struct zdescriptor *layers, char **diff_ids, size_t n)
{
    memset(im, 0, sizeof *im);
    snprintf(im->manifest_digest, sizeof im->manifest_digest, "sha256:%064d", 7);
    im->manifest.layers = layers;
    im->manifest.n_layers = n;
    im->config.diff_ids = diff_ids;
    im->config.n_diff_ids = n;
}

static size_t count_tmp(const char *layers_dir)
{
    DIR *d = opendir(layers_dir);
    struct dirent *de;
    size_t n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        n += strncmp(de->d_name, "tmp-", 4) == 0;
    closedir(d);
    return n;
}

static void test_layers_prepare(void **state)
{
    struct sfx x = { .f = TU_FX(state) };
    struct zerr e = {0};
    struct zdescriptor layers[3] = {0};
    char diff[3][ZDIGEST_MAX], *diff_ids[3] = { diff[0], diff[1], diff[2] };
    char p[2 * PATH_MAX], layers_dir[PATH_MAX + 32], **dirs;
    struct zimage im;
    struct stat a, b;
    size_t n;

    snprintf(x.dir, sizeof x.dir, "%s/lower", x.f->top);   /* lower: allowed by the sentinel check */
    snprintf(layers_dir, sizeof layers_dir, "%s/layers", x.dir);
    if (zstore_open(x.dir, &x.s, &e) < 0)
        fail_msg("zstore_open: %s", e.msg);
    {
        const struct tentry l0[] = { { .name = "usr/tool", .data = "tool" },
                                     { .name = "etc/old", .data = "o" } };
        const struct tentry l1[] = { { .name = "bin/tool", .hardlink = "usr/tool" },
                                     { .name = "etc/.wh..wh..opq" },
                                     { .name = "etc/new", .data = "n" } };
        put_layer(&x, l0, ZARRAY_SIZE(l0), layers[0].digest, diff[0]);
        put_layer(&x, l1, ZARRAY_SIZE(l1), layers[1].digest, diff[1]);
        /* the bottom layer again on top (as empty layers repeat) */
        memcpy(layers[2].digest, layers[0].digest, ZDIGEST_MAX);
        memcpy(diff[2], diff[0], ZDIGEST_MAX);
    }
    image_of(&im, layers, diff_ids, 3);
    if (zlayers_prepare(x.s, &im, &dirs, &n, &e) < 0)
        fail_msg("zlayers_prepare: %s", e.msg);
    /* topmost first, the repeated layer once at its topmost place */
    assert_int_equal(n, 2);
    snprintf(p, sizeof p, "%s/%s/rootfs", layers_dir, diff[0] + 7);
    assert_string_equal(dirs[0], p);
    snprintf(p, sizeof p, "%s/%s/rootfs", layers_dir, diff[1] + 7);
    assert_string_equal(dirs[1], p);
    snprintf(p, sizeof p, "%s/%s/complete", layers_dir, diff[1] + 7);
    assert_int_equal(access(p, F_OK), 0);
    /* the hard link was copied up from the lower layer */
    snprintf(p, sizeof p, "%s/bin/tool", dirs[1]);
    assert_int_equal(stat(p, &a), 0);
    snprintf(p, sizeof p, "%s/usr/tool", dirs[1]);
    assert_int_equal(stat(p, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    snprintf(p, sizeof p, "%s/etc", dirs[1]);
    assert_int_equal(getxattr(p, "trusted.overlay.opaque", NULL, 0), 1);
    assert_int_equal(count_tmp(layers_dir), 0);

    /* prepared layers are reused, not unpacked again */
    snprintf(p, sizeof p, "%s/marker", dirs[0]);
    tu_write_file(p, "still here");
    zlayers_free(dirs, n);
    if (zlayers_prepare(x.s, &im, &dirs, &n, &e) < 0)
        fail_msg("zlayers_prepare again: %s", e.msg);
    assert_string_equal(tu_read_file(p), "still here");
    zlayers_free(dirs, n);

    /* layer and diff_id counts must agree */
    im.config.n_diff_ids = 2;
    assert_int_equal(zlayers_prepare(x.s, &im, &dirs, &n, &e), -1);
    assert_non_null(strstr(e.msg, "diff_ids"));

    /* a wrong diff_id: error naming the layer, nothing left behind */
    snprintf(diff[1], ZDIGEST_MAX, "sha256:%064d", 1);
    image_of(&im, layers, diff_ids, 2);
    assert_int_equal(zlayers_prepare(x.s, &im, &dirs, &n, &e), -1);
    assert_non_null(strstr(e.msg, "diff_id mismatch"));
    assert_non_null(strstr(e.msg, "layer 1"));
    snprintf(p, sizeof p, "%s/%s", layers_dir, diff[1] + 7);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(count_tmp(layers_dir), 0);

    /* a missing blob */
    snprintf(layers[1].digest, ZDIGEST_MAX, "sha256:%064d", 2);
    assert_int_equal(zlayers_prepare(x.s, &im, &dirs, &n, &e), -1);
    assert_non_null(strstr(e.msg, "not in the store"));
    zstore_close(x.s);
    tu_assert_sentinel(x.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, tu_setup, tu_teardown)
        T(test_whiteout_overlay),
        T(test_whiteout_flat),
        T(test_whiteout_flat_opaque_first),
        T(test_flat_whiteout_through_symlink),
        T(test_hardlink_copy_up),
        T(test_id_maps),
        T(test_layers_prepare),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
