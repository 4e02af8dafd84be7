/* images/userns.c and the rootless parts of the unpacker: id shifting
 * through the user's ranges, squashing to the user's own id, and running
 * store work as root of a user namespace (as an unprivileged user). */
#include "test_unpack_util.h"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "images/userns.h"

static void test_host_id(void **state)
{
    (void)state;
    /* zone spec --rootless for uid 1000 with 100000-165535 delegated */
    const struct zid_range r[] = { { 0, 1000, 1 }, { 1, 100000, 65536 } };
    assert_int_equal(zuserns_host_id(r, 2, 0), 1000);
    assert_int_equal(zuserns_host_id(r, 2, 1), 100000);
    assert_int_equal(zuserns_host_id(r, 2, 1000), 100999);
    assert_int_equal(zuserns_host_id(r, 2, 65536), 165535);
    assert_int_equal(zuserns_host_id(r, 2, 65537), -1);
    assert_int_equal(zuserns_host_id(r, 2, UINT32_MAX), -1);
    assert_int_equal(zuserns_host_id(r, 0, 0), -1);
    /* a range at the top of the id space does not wrap */
    const struct zid_range top[] = { { 4294967000u, 10, 295 } };
    assert_int_equal(zuserns_host_id(top, 1, 4294967294u), 304);
    assert_int_equal(zuserns_host_id(top, 1, 4294967295u), -1);
}

static void test_squash(void **state)
{
    struct fx *f = TU_FX(state);
    struct zunpack_opts o = { .mode = ZUNPACK_OVERLAY, .opaque_xattr = "user.overlay.opaque",
                              .squash_ids = true };
    struct zunpack_stats st;
    struct stat s;

    TU_WRITE(f, T_NONE,
             { .name = "home/", .type = AE_IFDIR, .perm = 0755 },
             { .name = "home/dev/", .type = AE_IFDIR, .perm = 0700, .uid = 1000, .gid = 1000 },
             { .name = "home/dev/f", .data = "x", .perm = 02755, .uid = 1000, .gid = 1000 },
             { .name = "bin/su", .data = "x", .perm = 04755 });
    tu_expect_ok(f, &o, &st);
    assert_int_equal(st.squashed_owners, 2);
    assert_int_equal(lstat(tu_path(f, "home/dev/f"), &s), 0);
    assert_int_equal(s.st_uid, 0);
    assert_int_equal(s.st_gid, 0);
    assert_int_equal(s.st_mode & 07777, 02755);
    assert_int_equal(lstat(tu_path(f, "home/dev"), &s), 0);
    assert_int_equal(s.st_uid, 0);
    assert_int_equal(s.st_mode & 07777, 0700);
    assert_int_equal(lstat(tu_path(f, "bin/su"), &s), 0);
    assert_int_equal(s.st_mode & 07777, 04755);
}

static int as_ns_root(void *arg, struct zerr *e)
{
    int *seen = arg;
    *seen = 1;      /* lost: the function runs in a child */
    if (geteuid() != 0 || getegid() != 0)
        return zerr_set(e, EPERM, "euid %d egid %d in the namespace", (int)geteuid(),
                        (int)getegid());
    return zerr_set(e, EXDEV, "reported from the namespace");
}

/* As nobody (one-id mapping, written without a helper): fn runs as root
 * of the new namespace and its error comes back. */
static void test_run_as_user(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct zerr e = {0};
        int seen = 0;
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(10);
        /* setuid made us non-dumpable (root-owned /proc files); a user's
         * exec'd zone is dumpable */
        prctl(PR_SET_DUMPABLE, 1);
        if (!zuserns_wanted())
            _exit(11);
        if (zuserns_run(as_ns_root, &seen, &e) != -1)
            _exit(12);
        if (e.code != EXDEV || strcmp(e.msg, "reported from the namespace") != 0) {
            fprintf(stderr, "zuserns_run: %d %s\n", e.code, e.msg);
            _exit(13);
        }
        if (seen)
            _exit(14);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_id),
        cmocka_unit_test_setup_teardown(test_squash, tu_setup, tu_teardown),
        cmocka_unit_test(test_run_as_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
