/* images/registry_http.c, registry_fetch.c, registry.c, progress.c: the
 * pure decisions of a pull: registry URLs, Range/resume handling, platform
 * names, schema 1 detection, response headers and registry error bodies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "images/registry.h"

static void test_api_host(void **state)
{
    assert_string_equal(zreg_api_host("docker.io"), "registry-1.docker.io");
    assert_string_equal(zreg_api_host("index.docker.io"), "registry-1.docker.io");
    assert_string_equal(zreg_api_host("quay.io"), "quay.io");
    assert_string_equal(zreg_api_host("127.0.0.1:5000"), "127.0.0.1:5000");
}

static void test_build_url(void **state)
{
    char url[512];
    struct zerr e = {0};
    assert_int_equal(zreg_build_url("https", "docker.io", "library/busybox", "manifests",
                                    "latest", url, sizeof url, &e), 0);
    assert_string_equal(url, "https://registry-1.docker.io/v2/library/busybox/manifests/latest");
    const char *dig = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_int_equal(zreg_build_url("http", "127.0.0.1:5000", "a/b-c/d_e.f", "blobs", dig, url,
                                    sizeof url, &e), 0);
    assert_string_equal(url, "http://127.0.0.1:5000/v2/a/b-c/d_e.f/blobs/sha256:0123456789abcdef"
                             "0123456789abcdef0123456789abcdef0123456789abcdef");
    assert_int_equal(zreg_build_url("http", "[::1]:5000", "x", "manifests", "V1.0_rc-2", url,
                                    sizeof url, &e), 0);
    assert_string_equal(url, "http://[::1]:5000/v2/x/manifests/V1.0_rc-2");
}

static void test_build_url_invalid(void **state)
{
    char url[512];
    struct zerr e = {0};
    static const char *const bad_refs[] = {"a/b", "a?b", "a#b", "", "..", "a b", "a%2f"};
    for (size_t i = 0; i < sizeof bad_refs / sizeof bad_refs[0]; i++)
        assert_int_equal(zreg_build_url("https", "r.io", "x", "manifests", bad_refs[i], url,
                                        sizeof url, &e), -1);
    static const char *const bad_repos[] = {"A/b", "a/../b", "/a", "a?x", "a b", ""};
    for (size_t i = 0; i < sizeof bad_repos / sizeof bad_repos[0]; i++)
        assert_int_equal(zreg_build_url("https", "r.io", bad_repos[i], "blobs", "x", url,
                                        sizeof url, &e), -1);
    assert_int_equal(zreg_build_url("https", "r.io/evil", "x", "blobs", "y", url, sizeof url, &e),
                     -1);
    assert_int_equal(zreg_build_url("https", "user@r.io", "x", "blobs", "y", url, sizeof url, &e),
                     -1);
    assert_int_equal(zreg_build_url("file", "r.io", "x", "blobs", "y", url, sizeof url, &e), -1);
    assert_int_equal(zreg_build_url("https", "r.io", "x", "tags", "y", url, sizeof url, &e), -1);
    /* too small a buffer is an error, never a cut URL */
    assert_int_equal(zreg_build_url("https", "r.io", "x", "blobs", "y", url, 10, &e), -1);
    assert_int_equal(e.code, ENAMETOOLONG);
}

static void test_range_decide(void **state)
{
    /* fresh download */
    assert_int_equal(zreg_range_decide(0, 200, ""), ZRA_APPEND);
    /* resumed and honoured */
    assert_int_equal(zreg_range_decide(1000, 206, "bytes 1000-4999/5000"), ZRA_APPEND);
    assert_int_equal(zreg_range_decide(1000, 206, "bytes 1000-4999/*"), ZRA_APPEND);
    /* Range ignored: the body starts at 0 */
    assert_int_equal(zreg_range_decide(1000, 200, ""), ZRA_RESTART);
    /* a 206 for another offset, or without a usable Content-Range */
    assert_int_equal(zreg_range_decide(1000, 206, "bytes 0-4999/5000"), ZRA_RETRY_FULL);
    assert_int_equal(zreg_range_decide(1000, 206, ""), ZRA_RETRY_FULL);
    assert_int_equal(zreg_range_decide(1000, 206, NULL), ZRA_RETRY_FULL);
    assert_int_equal(zreg_range_decide(1000, 206, "bytes 1000-10/5000"), ZRA_RETRY_FULL);
    assert_int_equal(zreg_range_decide(1000, 206, "items 1000-4999/5000"), ZRA_RETRY_FULL);
    /* the partial is longer than the blob, or stale */
    assert_int_equal(zreg_range_decide(1000, 416, ""), ZRA_RETRY_FULL);
    assert_int_equal(zreg_range_decide(0, 416, ""), ZRA_ERROR);
    assert_int_equal(zreg_range_decide(0, 404, ""), ZRA_ERROR);
    assert_int_equal(zreg_range_decide(500, 500, ""), ZRA_ERROR);
    assert_int_equal(zreg_range_decide(0, 401, ""), ZRA_ERROR);
}

static void test_platform(void **state)
{
    char buf[64];
    const char *os, *arch, *variant;
    struct zerr e = {0};
    assert_int_equal(zregistry_parse_platform("linux/amd64", buf, sizeof buf, &os, &arch,
                                              &variant, &e), 0);
    assert_string_equal(os, "linux");
    assert_string_equal(arch, "amd64");
    assert_null(variant);
    assert_int_equal(zregistry_parse_platform("Linux/ARM64/v8", buf, sizeof buf, &os, &arch,
                                              &variant, &e), 0);
    assert_string_equal(os, "linux");
    assert_string_equal(arch, "arm64");
    assert_string_equal(variant, "v8");
    assert_int_equal(zregistry_parse_platform("linux/x86_64", buf, sizeof buf, &os, &arch,
                                              &variant, &e), 0);
    assert_string_equal(arch, "amd64");
    assert_int_equal(zregistry_parse_platform("linux/aarch64", buf, sizeof buf, &os, &arch,
                                              &variant, &e), 0);
    assert_string_equal(arch, "arm64");
    static const char *const bad[] = {"linux", "linux/", "/amd64", "linux/amd64/v8/x",
                                      "linux//v7", "linux/am d64", "", "linux/amd64/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = 0;
        assert_int_equal(zregistry_parse_platform(bad[i], buf, sizeof buf, &os, &arch, &variant,
                                                  &e), -1);
        assert_non_null(strstr(e.msg, "platform"));
    }
    assert_int_equal(zregistry_parse_platform("linux/amd64", buf, 5, &os, &arch, &variant, &e),
                     -1);
}

static void test_schema1(void **state)
{
    const char *s1 = "{\"schemaVersion\": 1, \"name\": \"x\", \"fsLayers\": []}";
    const char *s2 = "{\"schemaVersion\": 2, \"config\": {}}";
    assert_true(zreg_is_schema1("application/vnd.docker.distribution.manifest.v1+prettyjws",
                                s2, strlen(s2)));
    assert_true(zreg_is_schema1("application/vnd.docker.distribution.manifest.v1+json", "", 0));
    assert_true(zreg_is_schema1("application/json", s1, strlen(s1)));
    assert_true(zreg_is_schema1("", s1, strlen(s1)));
    assert_false(zreg_is_schema1("application/vnd.oci.image.manifest.v1+json", s2, strlen(s2)));
    assert_false(zreg_is_schema1("", "not json", 8));
    assert_false(zreg_is_schema1(NULL, "{\"schemaVersion\": \"1\"}", 22));
}

static void feed(struct zreg_response *r, const char *line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    assert_int_equal(zreg_header_cb(buf, 1, strlen(buf), r), strlen(line));
}

static void test_header_cb(void **state)
{
    struct zreg_response r = {0};
    /* a redirect's headers are forgotten when the next response starts */
    feed(&r, "HTTP/1.1 307 Temporary Redirect\r\n");
    feed(&r, "Docker-Content-Digest: sha256:aaaa\r\n");
    feed(&r, "WWW-Authenticate: Basic realm=x\r\n");
    feed(&r, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(r.docker_digest, "");
    assert_null(r.www_authenticate);
    feed(&r, "content-type:  application/vnd.oci.image.index.v1+json; charset=utf-8 \r\n");
    feed(&r, "Content-Range: bytes 5-9/10\r\n");
    feed(&r, "WWW-Authenticate: Basic realm=x\r\n");
    feed(&r, "WWW-Authenticate: Bearer realm=\"y\"\r\n");
    feed(&r, "WWW-Authenticate: Basic realm=z\r\n");
    feed(&r, "no colon line\r\n");
    feed(&r, "\r\n");
    assert_string_equal(r.content_type, "application/vnd.oci.image.index.v1+json");
    assert_string_equal(r.content_range, "bytes 5-9/10");
    assert_string_equal(r.www_authenticate, "Bearer realm=\"y\"");
    /* an over-long value is cut to the field, never overflows it */
    char longline[600] = "Docker-Content-Digest: ";
    memset(longline + strlen(longline), 'x', 400);
    feed(&r, longline);
    assert_int_equal(strlen(r.docker_digest), ZDIGEST_MAX - 1);
    zreg_response_clear(&r);
}

static void test_describe_status(void **state)
{
    char buf[256];
    struct zreg_response r = {.status = 404};
    char body[] = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest\\nunknown\"}]}";
    r.body = body;
    r.len = strlen(body);
    zreg_describe_status(&r, buf, sizeof buf);
    assert_string_equal(buf, "HTTP 404 (MANIFEST_UNKNOWN: manifest?unknown)");
    char junk[] = "<html>oops</html>";
    r.body = junk;
    r.len = strlen(junk);
    r.status = 502;
    zreg_describe_status(&r, buf, sizeof buf);
    assert_string_equal(buf, "HTTP 502");
}

static void test_progress_human(void **state)
{
    char buf[32];
    zprogress_human(0, buf, sizeof buf);
    assert_string_equal(buf, "0 B");
    zprogress_human(1023, buf, sizeof buf);
    assert_string_equal(buf, "1023 B");
    zprogress_human(1536, buf, sizeof buf);
    assert_string_equal(buf, "1.5 KiB");
    zprogress_human(64ull << 30, buf, sizeof buf);
    assert_string_equal(buf, "64.0 GiB");
}

/* Not a tty: one line per finished item, nothing while running; quiet or
 * no stream: nothing at all. */
static void test_progress_lines(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    struct zprogress *p = zprogress_new(f, false, 2);
    assert_non_null(p);
    zprogress_set(p, 0, "config abc", 10);
    zprogress_set(p, 1, "layer def", 2048);
    zprogress_update(p, 1, 1024);
    zprogress_finish(p, 1, "done");
    zprogress_finish(p, 0, "skipped: already exists");
    zprogress_finish(p, 0, "done");   /* once only */
    zprogress_note(p, "Writing manifest");
    zprogress_free(p);
    fclose(f);
    assert_string_equal(text, "Copying layer def done (2.0 KiB)\n"
                              "Copying config abc skipped: already exists\n"
                              "Writing manifest\n");
    free(text);
    assert_null(zprogress_new(stderr, true, 2));
    assert_null(zprogress_new(NULL, false, 2));
    /* a NULL progress is accepted everywhere */
    zprogress_set(NULL, 0, "x", 1);
    zprogress_update(NULL, 0, 1);
    zprogress_finish(NULL, 0, "done");
    zprogress_note(NULL, "x");
    zprogress_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_host),
        cmocka_unit_test(test_build_url),
        cmocka_unit_test(test_build_url_invalid),
        cmocka_unit_test(test_range_decide),
        cmocka_unit_test(test_platform),
        cmocka_unit_test(test_schema1),
        cmocka_unit_test(test_header_cb),
        cmocka_unit_test(test_describe_status),
        cmocka_unit_test(test_progress_human),
        cmocka_unit_test(test_progress_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
