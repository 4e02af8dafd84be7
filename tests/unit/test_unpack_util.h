/* Shared by the test_unpack*.c files: crafted tars written with
 * libarchive's writer, and a scratch tree
 *
 *   <top>/target/          where layers are unpacked
 *   <top>/sentinel/keep    must never change (escape tests)
 *   <top>/layer.tar        the crafted blob
 */
#ifndef ZONE_TEST_UNPACK_UTIL_H
#define ZONE_TEST_UNPACK_UTIL_H

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "images/store.h"
#include "images/unpack.h"

enum tfilter { T_NONE, T_GZIP, T_ZSTD };

struct tentry {
    const char *name;
    mode_t type;                /* AE_IFREG when 0 */
    mode_t perm;                /* 0644 / 0755 when 0 */
    int64_t uid, gid;
    time_t mtime;               /* 1000000000 when 0 */
    const char *data;           /* regular files */
    const char *symlink;
    const char *hardlink;
    unsigned rmajor, rminor;
    const char *xname;          /* one xattr */
    const void *xval;
    size_t xlen;
};

struct fx {
    char top[128];
    char target[PATH_MAX], sentinel[PATH_MAX], blob[PATH_MAX];
    int target_fd;
};

/* The fixture, or a skip when not root (cmocka cannot skip from setup). */
#define TU_FX(state) ({ \
        struct fx *fx_ = *(state); \
        if (!fx_) { \
            print_message("skipping: unpack tests need root (chown, mknod, trusted.* xattrs)\n"); \
            skip(); \
        } \
        fx_; })

static inline void tu_write_archive(const char *path, enum tfilter filter, bool zip,
                                    const struct tentry *v, size_t n)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    if (zip)
        assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
    else
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    if (filter == T_GZIP)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    else if (filter == T_ZSTD)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        const struct tentry *t = &v[i];
        struct archive_entry *ae = archive_entry_new();
        mode_t type = t->type ? t->type : AE_IFREG;
        size_t len = t->data ? strlen(t->data) : 0;
        archive_entry_set_pathname(ae, t->name);
        archive_entry_set_filetype(ae, type);
        archive_entry_set_perm(ae, t->perm ? t->perm : type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_uid(ae, t->uid);
        archive_entry_set_gid(ae, t->gid);
        archive_entry_set_mtime(ae, t->mtime ? t->mtime : 1000000000, 0);
        if (t->symlink)
            archive_entry_set_symlink(ae, t->symlink);
        if (t->hardlink)
            archive_entry_set_hardlink(ae, t->hardlink);
        if (type == AE_IFCHR || type == AE_IFBLK) {
            archive_entry_set_rdevmajor(ae, t->rmajor);
            archive_entry_set_rdevminor(ae, t->rminor);
        }
        if (t->xname)
            archive_entry_xattr_add_entry(ae, t->xname, t->xval, t->xlen);
        archive_entry_set_size(ae, type == AE_IFREG && !t->hardlink ? (la_int64_t)len : 0);
        assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
        if (len && !t->hardlink)
            assert_int_equal(archive_write_data(a, t->data, len), (la_ssize_t)len);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static inline void tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static inline char *tu_read_file(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static inline int tu_setup(void **state)
{
    struct fx *f;
    char p[PATH_MAX + 16];
    *state = NULL;
    if (geteuid() != 0)
        return 0;       /* each test skips, see TU_FX */
    f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->top, sizeof f->top, "/tmp/zone-test-unpack-XXXXXX");
    assert_non_null(mkdtemp(f->top));
    snprintf(f->target, sizeof f->target, "%s/target", f->top);
    snprintf(f->sentinel, sizeof f->sentinel, "%s/sentinel", f->top);
    snprintf(f->blob, sizeof f->blob, "%s/layer.tar", f->top);
    assert_int_equal(mkdir(f->target, 0755), 0);
    assert_int_equal(mkdir(f->sentinel, 0755), 0);
    snprintf(p, sizeof p, "%s/keep", f->sentinel);
    tu_write_file(p, "sentinel\n");
    f->target_fd = open(f->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->target_fd >= 0);
    *state = f;
    return 0;
}

static inline int tu_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];
    if (!f)
        return 0;
    close(f->target_fd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->top);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Nothing was written next to the target: the sentinel holds only its
 * file, unchanged and with one link, and <top> holds only what we made. */
static inline void tu_assert_sentinel(const struct fx *f)
{
    char p[PATH_MAX + 16];
    struct stat st;
    size_t count = 0;
    DIR *d = opendir(f->sentinel);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            count++;
    closedir(d);
    assert_int_equal(count, 1);
    snprintf(p, sizeof p, "%s/keep", f->sentinel);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_nlink, 1);
    assert_string_equal(tu_read_file(p), "sentinel\n");
    d = opendir(f->top);
    count = 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            strcmp(de->d_name, "target") && strcmp(de->d_name, "sentinel") &&
            strcmp(de->d_name, "layer.tar") && strcmp(de->d_name, "lower"))
            count++;
    closedir(d);
    assert_int_equal(count, 0);
}

static inline char *tu_path(const struct fx *f, const char *rel)
{
    static char buf[2 * PATH_MAX + 256];
    snprintf(buf, sizeof buf, "%s/%s", f->target, rel);
    return buf;
}

/* Unpacks the blob with o (overlay mode, trusted xattr when NULL). */
static inline int tu_unpack(struct fx *f, const struct zunpack_opts *o, struct zunpack_stats *st,
                            struct zerr *e)
{
    struct zunpack_opts def = { .mode = ZUNPACK_OVERLAY,
                                .opaque_xattr = "trusted.overlay.opaque" };
    return zunpack_layer(f->target_fd, f->blob, "layer test", o ? o : &def, st, e);
}

/* Expects failure with a message containing `needle`. */
static inline void tu_expect_error(struct fx *f, const struct zunpack_opts *o, const char *needle)
{
    struct zerr e = {0};
    int r = tu_unpack(f, o, NULL, &e);
    if (r == 0)
        fail_msg("unpack succeeded, expected an error with \"%s\"", needle);
    if (!strstr(e.msg, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", e.msg, needle);
    assert_non_null(strstr(e.msg, "layer test"));
}

static inline void tu_expect_ok(struct fx *f, const struct zunpack_opts *o, struct zunpack_stats *st)
{
    struct zerr e = {0};
    if (tu_unpack(f, o, st, &e) < 0)
        fail_msg("unpack failed: %s", e.msg);
}

#define TU_WRITE(f, filter, ...) do { \
        const struct tentry v_[] = { __VA_ARGS__ }; \
        tu_write_archive((f)->blob, filter, false, v_, ZARRAY_SIZE(v_)); \
    } while (0)

#endif
