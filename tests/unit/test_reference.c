/* Image reference normalization (docker/podman rules) and refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "images/reference.h"

#define D64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct {
    const char *in, *def;
    const char *registry, *repository, *tag, *digest, *formatted;
} good[] = {
    {"busybox", NULL, "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest"},
    {"busybox:1.36", NULL, "docker.io", "library/busybox", "1.36", "", "docker.io/library/busybox:1.36"},
    {"library/busybox", NULL, "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest"},
    {"docker.io/busybox", NULL, "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest"},
    {"index.docker.io/busybox", NULL, "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest"},
    {"user/app:v1", NULL, "docker.io", "user/app", "v1", "", "docker.io/user/app:v1"},
    {"localhost:5000/a/b:tag", NULL, "localhost:5000", "a/b", "tag", "", "localhost:5000/a/b:tag"},
    {"localhost/a", NULL, "localhost", "a", "latest", "", "localhost/a:latest"},
    {"quay.io/podman/hello", NULL, "quay.io", "podman/hello", "latest", "", "quay.io/podman/hello:latest"},
    {"ghcr.io/o/r/deep/path:1.0-rc_1", NULL, "ghcr.io", "o/r/deep/path", "1.0-rc_1", "", "ghcr.io/o/r/deep/path:1.0-rc_1"},
    {"Registry.Example/x", NULL, "Registry.Example", "x", "latest", "", "Registry.Example/x:latest"},
    {"MyHost/x", NULL, "MyHost", "x", "latest", "", "MyHost/x:latest"},
    {"[::1]:5000/x:y", NULL, "[::1]:5000", "x", "y", "", "[::1]:5000/x:y"},
    {"busybox@sha256:" D64, NULL, "docker.io", "library/busybox", "", "sha256:" D64,
     "docker.io/library/busybox@sha256:" D64},
    {"busybox:1@sha256:" D64, NULL, "docker.io", "library/busybox", "1", "sha256:" D64,
     "docker.io/library/busybox@sha256:" D64},
    {"a__b.c-d---e_f", NULL, "docker.io", "library/a__b.c-d---e_f", "latest", "", "docker.io/library/a__b.c-d---e_f:latest"},
    {"mine", "localhost", "localhost", "mine", "latest", "", "localhost/mine:latest"},
    {"x/mine:2", "localhost", "localhost", "x/mine", "2", "", "localhost/x/mine:2"},
};

static void test_good(void **state)
{
    struct zerr e = {0};
    struct zref r;
    char buf[1024];
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (zref_parse(good[i].in, good[i].def, &r, &e) < 0)
            fail_msg("%s: %s", good[i].in, e.msg);
        assert_string_equal(r.registry, good[i].registry);
        assert_string_equal(r.repository, good[i].repository);
        assert_string_equal(r.tag, good[i].tag);
        assert_string_equal(r.digest, good[i].digest);
        zref_format(&r, buf, sizeof buf);
        assert_string_equal(buf, good[i].formatted);
        /* the formatted name is a fixed point */
        struct zref again;
        char buf2[1024];
        assert_int_equal(zref_parse(buf, NULL, &again, &e), 0);
        zref_format(&again, buf2, sizeof buf2);
        assert_string_equal(buf, buf2);
    }
}

static const struct { const char *in, *msg; } bad[] = {
    {"", "empty"},
    {"Busybox", "lowercase"},
    {"docker.io/Library/x", "lowercase"},
    {"a//b", "component"},
    {"/a", "component"},
    {"a/", "component"},
    {"-a", "component"},
    {"a-", "component"},
    {"a..b", "component"},
    {"a___b", "component"},
    {"a:", "tag"},
    {"a:-x", "tag"},
    {"a:x y", "tag"},
    {"a:t/b", "registry"},
    {"a@sha256:abc", "sha256"},
    {"a@sha512:" D64, "sha256"},
    {"a@", "digest"},
    {":tag", "empty"},
    {"host:port/x", "registry"},
    {"-bad.io/x", "registry"},
    {"bad_host.io/x", "registry"},
    {"h.io:123456/x", "registry"},
    {D64, "image ID"},
    {"a b", "component"},
    {"a\tb", "component"},
};

static void test_bad(void **state)
{
    struct zerr e = {0};
    struct zref r;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = '\0';
        if (zref_parse(bad[i].in, NULL, &r, &e) == 0)
            fail_msg("\"%s\" was accepted", bad[i].in);
        if (!strstr(e.msg, bad[i].msg))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].in, e.msg, bad[i].msg);
        assert_non_null(strstr(e.msg, "invalid reference"));
    }
}

static void test_lengths(void **state)
{
    struct zerr e = {0};
    struct zref r;
    char name[1200], tag[200];
    (void)state;
    /* repository names longer than 255 characters in all */
    memset(name, 'a', 300);
    name[300] = '\0';
    assert_int_equal(zref_parse(name, NULL, &r, &e), -1);
    assert_non_null(strstr(e.msg, "255"));
    /* text beyond the parser's limit */
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(zref_parse(name, NULL, &r, &e), -1);
    /* tag of 128 is fine, 129 is not */
    memset(tag, 'v', 128);
    tag[128] = '\0';
    snprintf(name, sizeof name, "a:%s", tag);
    assert_int_equal(zref_parse(name, NULL, &r, &e), 0);
    snprintf(name, sizeof name, "a:%sv", tag);
    assert_int_equal(zref_parse(name, NULL, &r, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
