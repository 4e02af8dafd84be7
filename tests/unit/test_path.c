/* core/path.c: lexical helpers, resolution inside a root (openat2 and the
 * component-by-component fallback), creation helpers, file helpers. */
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
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/path.h"

/* A scratch tree:
 *   <top>/outside/secret          host file that must never be reached
 *   <top>/root/                   the "container root"
 *   <top>/root/etc/secret         the in-root file with the same name
 *   <top>/root/abs -> /etc        absolute symlink
 *   <top>/root/up -> ../../..     relative symlink climbing out
 *   <top>/root/deep/up2 -> ../../outside
 *   <top>/root/loop1 -> loop2, loop2 -> loop1
 *   <top>/root/proc/self/fd-like magic link stand-in: plain symlink */
struct tree {
    char top[256];
    char root[PATH_MAX];
    int root_fd;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *path_of(const struct tree *t, const char *rel)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", t->top, rel) > 0);
    return p;
}

static int tree_setup(void **state)
{
    struct tree *t = calloc(1, sizeof *t);
    char *p;
    snprintf(t->top, sizeof t->top, "/tmp/zone-test-path-XXXXXX");
    assert_non_null(mkdtemp(t->top));
    snprintf(t->root, sizeof t->root, "%s/root", t->top);
    const char *dirs[] = { "outside", "root", "root/etc", "root/deep", "root/real" };
    for (size_t i = 0; i < ZARRAY_SIZE(dirs); i++) {
        p = path_of(t, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
    }
    p = path_of(t, "outside/secret"); write_file(p, "host\n"); free(p);
    p = path_of(t, "root/etc/secret"); write_file(p, "inside\n"); free(p);
    struct { const char *target, *link; } links[] = {
        { "/etc", "root/abs" },
        { "../../..", "root/up" },
        { "../../outside", "root/deep/up2" },
        { "loop2", "root/loop1" },
        { "loop1", "root/loop2" },
        { "/real/sub", "root/dangling" },
        { "real", "root/rel" },
    };
    for (size_t i = 0; i < ZARRAY_SIZE(links); i++) {
        p = path_of(t, links[i].link);
        assert_int_equal(symlink(links[i].target, p), 0);
        free(p);
    }
    t->root_fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(t->root_fd >= 0);
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    struct tree *t = *state;
    char cmd[PATH_MAX + 16];
    close(t->root_fd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->top);
    assert_int_equal(system(cmd), 0);
    free(t);
    zpath_force_fallback(false);
    return 0;
}

static void read_fd_text(int fd, char *buf, size_t size)
{
    ssize_t n = read(fd, buf, size - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
}

static void assert_opens_inside(int root_fd, const char *path)
{
    struct zerr e = {0};
    char buf[64];
    _cleanup_close_ int fd = zpath_open_in_root(root_fd, path, O_RDONLY, 0, &e);
    if (fd < 0)
        fail_msg("%s: %s", path, e.msg);
    read_fd_text(fd, buf, sizeof buf);
    assert_string_equal(buf, "inside\n");
}

static void check_escapes(void **state, bool fallback)
{
    struct tree *t = *state;
    zpath_force_fallback(fallback);
    assert_opens_inside(t->root_fd, "/etc/secret");
    assert_opens_inside(t->root_fd, "abs/secret");
    assert_opens_inside(t->root_fd, "up/etc/secret");
    assert_opens_inside(t->root_fd, "../../../etc/secret");
    assert_opens_inside(t->root_fd, "/real/../../etc/secret");
    /* deep/up2 -> ../../outside clamps at the root: /outside does not exist */
    struct zerr e = {0};
    int fd = zpath_open_in_root(t->root_fd, "deep/up2/secret", O_RDONLY, 0, &e);
    assert_int_equal(fd, -1);
    assert_int_equal(e.code, ENOENT);
    assert_non_null(strstr(e.msg, "deep/up2/secret"));
    /* symlink loops end with ELOOP, not a hang */
    fd = zpath_open_in_root(t->root_fd, "loop1/x", O_RDONLY, 0, &e);
    assert_int_equal(fd, -1);
    assert_int_equal(e.code, ELOOP);
    /* O_NOFOLLOW on a final symlink behaves as open(2) does */
    fd = zpath_open_in_root(t->root_fd, "abs", O_RDONLY | O_NOFOLLOW, 0, &e);
    assert_int_equal(fd, -1);
    assert_int_equal(e.code, ELOOP);
    /* O_CREAT through an absolute symlink creates inside the root */
    fd = zpath_open_in_root(t->root_fd, "/abs/new", O_WRONLY | O_CREAT, 0600, &e);
    assert_true(fd >= 0);
    close(fd);
    char *p = path_of(t, "root/etc/new");
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(unlink(p), 0);
    free(p);
}

static void test_escapes_openat2(void **state) { check_escapes(state, false); }
static void test_escapes_fallback(void **state) { check_escapes(state, true); }

static void check_mkdir_p(void **state, bool fallback)
{
    struct tree *t = *state;
    struct zerr e = {0};
    struct stat st;
    char *p;
    zpath_force_fallback(fallback);

    /* through an absolute symlink, then a climbing one: stays inside */
    int fd = zpath_mkdir_p_in_root(t->root_fd, "/abs/x/../y/z", 0755, &e);
    if (fd < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    close(fd);
    p = path_of(t, "root/etc/y/z");
    assert_int_equal(stat(p, &st), 0);
    free(p);

    fd = zpath_mkdir_p_in_root(t->root_fd, "up/up/tmp-made", 0755, &e);
    assert_true(fd >= 0);
    close(fd);
    p = path_of(t, "root/tmp-made");
    assert_int_equal(stat(p, &st), 0);
    free(p);
    p = path_of(t, "tmp-made");
    assert_int_equal(stat(p, &st), -1);   /* not beside the root */
    free(p);

    /* dangling absolute symlink: created inside the root */
    fd = zpath_mkdir_p_in_root(t->root_fd, "dangling", 0755, &e);
    assert_true(fd >= 0);
    close(fd);
    p = path_of(t, "root/real/sub");
    assert_int_equal(stat(p, &st), 0);
    free(p);

    /* a file in the way is an error */
    fd = zpath_mkdir_p_in_root(t->root_fd, "etc/secret/sub", 0755, &e);
    assert_int_equal(fd, -1);
    assert_int_equal(e.code, ENOTDIR);

    fd = zpath_mkdir_p_in_root(t->root_fd, "loop1", 0755, &e);
    assert_int_equal(fd, -1);
    assert_int_equal(e.code, ELOOP);

    /* the root itself */
    fd = zpath_mkdir_p_in_root(t->root_fd, "/", 0755, &e);
    assert_true(fd >= 0);
    struct stat rs;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(fstat(t->root_fd, &rs), 0);
    assert_int_equal(st.st_ino, rs.st_ino);
    close(fd);
}

static void test_mkdir_p_openat2(void **state) { check_mkdir_p(state, false); }
static void test_mkdir_p_fallback(void **state) { check_mkdir_p(state, true); }

static void check_mkfile(void **state, bool fallback)
{
    struct tree *t = *state;
    struct zerr e = {0};
    struct stat st;
    zpath_force_fallback(fallback);

    int fd = zpath_mkfile_in_root(t->root_fd, "/up/rel/a/b/file", 0644, &e);
    if (fd < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 0);
    close(fd);
    char *p = path_of(t, "root/real/a/b/file");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(unlink(p), 0);
    free(p);

    /* existing file: opened, not truncated */
    fd = zpath_mkfile_in_root(t->root_fd, "abs/secret", 0644, &e);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 7);
    close(fd);
}

static void test_mkfile_openat2(void **state) { check_mkfile(state, false); }
static void test_mkfile_fallback(void **state) { check_mkfile(state, true); }

static void test_clean(void **state)
{
    struct { const char *in, *out; } cases[] = {
        { "", "." }, { ".", "." }, { "/", "/" }, { "//", "/" },
        { "a//b/../c", "a/c" }, { "/a/b/../../..", "/" }, { "/../x", "/x" },
        { "../../a", "../../a" }, { "a/../..", ".." }, { "a/./b/", "a/b" },
        { "/proc/../proc/", "/proc" }, { "abc/..", "." }, { "/a/b/c/../d", "/a/b/d" },
        { "./../x/./y//", "../x/y" },
    };
    for (size_t i = 0; i < ZARRAY_SIZE(cases); i++) {
        char *c = zpath_clean(cases[i].in);
        if (strcmp(c, cases[i].out) != 0)
            fail_msg("clean(\"%s\") = \"%s\", want \"%s\"", cases[i].in, c, cases[i].out);
        free(c);
    }
    char *j = zpath_join("/bundle/", "../rootfs//x");
    assert_string_equal(j, "/rootfs/x");
    free(j);
    assert_true(zpath_is_abs("/x"));
    assert_false(zpath_is_abs("x"));
    assert_false(zpath_is_abs(NULL));
    assert_true(zpath_has_prefix("/proc", "/proc"));
    assert_true(zpath_has_prefix("/proc/sys", "/proc"));
    assert_false(zpath_has_prefix("/procx", "/proc"));
    assert_true(zpath_has_prefix("/x", "/"));
}

static void test_file_helpers(void **state)
{
    struct tree *t = *state;
    struct zerr e = {0};
    _cleanup_close_ int dfd = open(t->top, O_DIRECTORY | O_CLOEXEC);
    size_t len = 0;
    assert_true(dfd >= 0);

    assert_int_equal(zfile_write_atomic(dfd, "state.json", "{\"a\":1}", 7, 0640, &e), 0);
    assert_int_equal(zfile_write_atomic(dfd, "state.json", "{}", 2, 0640, &e), 0);
    char *p = path_of(t, "state.json");
    char *text = zfile_read(p, 1024, &len, &e);
    assert_non_null(text);
    assert_int_equal(len, 2);
    assert_string_equal(text, "{}");
    free(text);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    /* no temporary left behind */
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep tmp)\"", t->top);
    assert_int_equal(system(cmd), 0);

    /* too large */
    assert_null(zfile_read(p, 1, &len, &e));
    assert_int_equal(e.code, EFBIG);
    free(p);
    /* proc files report size 0 but have content */
    text = zfile_read("/proc/self/status", 1 << 20, &len, &e);
    assert_non_null(text);
    assert_true(len > 0 && strstr(text, "Pid:"));
    free(text);
    assert_null(zfile_read("/nonexistent/zone", 10, NULL, &e));
    assert_int_equal(e.code, ENOENT);
    assert_non_null(strstr(e.msg, "/nonexistent/zone"));
    /* a directory that is missing */
    assert_int_equal(zfile_write_atomic(dfd, "nodir/x", "", 0, 0600, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test_setup_teardown(test_escapes_openat2, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_escapes_fallback, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p_openat2, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p_fallback, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_mkfile_openat2, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_mkfile_fallback, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_file_helpers, tree_setup, tree_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
