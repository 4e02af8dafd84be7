/* Manifest, index and image-config parsing from untrusted JSON, and index
 * platform selection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "images/manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int parse_m(const char *json, struct zmanifest *m, struct zerr *e)
{
    return zmanifest_parse(json, strlen(json), "manifest X", m, e);
}

static void test_manifest_ok(void **state)
{
    struct zerr e = {0};
    struct zmanifest m;
    const char *j =
        "{\"schemaVersion\":2,\"mediaType\":\"" ZMT_DOCKER_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" ZMT_DOCKER_CONFIG "\",\"digest\":\"" D1 "\",\"size\":1469},"
        "\"layers\":[{\"mediaType\":\"" ZMT_DOCKER_LAYER_GZ "\",\"digest\":\"" D2 "\",\"size\":2},"
        "{\"mediaType\":\"" ZMT_OCI_LAYER_ZST "\",\"digest\":\"" D3 "\",\"size\":0,"
        "\"annotations\":{\"a\":\"b\"}}]}";
    (void)state;
    assert_int_equal(parse_m(j, &m, &e), 0);
    assert_string_equal(m.media_type, ZMT_DOCKER_MANIFEST);
    assert_string_equal(m.config.digest, D1);
    assert_int_equal(m.config.size, 1469);
    assert_int_equal(m.n_layers, 2);
    assert_string_equal(m.layers[1].media_type, ZMT_OCI_LAYER_ZST);
    assert_int_equal(m.layers[1].size, 0);
    zmanifest_free(&m);
    assert_int_equal(zdoc_kind_of(j, strlen(j), NULL), ZDOC_MANIFEST);

    /* no mediaType: inferred as OCI; zero layers is allowed */
    assert_int_equal(parse_m("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
                             "\",\"size\":1},\"layers\":[]}", &m, &e), 0);
    assert_string_equal(m.media_type, ZMT_OCI_MANIFEST);
    assert_int_equal(m.n_layers, 0);
    zmanifest_free(&m);
}

static const struct { const char *json, *msg; } bad_manifests[] = {
    {"[]", "expected object"},
    {"{", "invalid JSON"},
    {"{\"schemaVersion\":1,\"config\":{},\"layers\":[]}", "schemaVersion 1"},
    {"{\"schemaVersion\":\"2\"}", "schemaVersion"},
    {"{\"layers\":[]}", "config: missing"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1}}", "layers: missing"},
    {"{\"config\":[],\"layers\":[]}", "config: expected object"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}", "layers: expected array"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}", "config.size"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1.5},\"layers\":[]}", "config.size"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":\"1\"},\"layers\":[]}", "config.size"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":99999999999999999999},\"layers\":[]}", "config.size"},
    {"{\"config\":{\"digest\":\"" D1 "\"},\"layers\":[]}", "config.size: missing"},
    {"{\"config\":{\"size\":1},\"layers\":[]}", "config.digest: missing"},
    {"{\"config\":{\"digest\":5,\"size\":1},\"layers\":[]}", "config.digest: expected string"},
    {"{\"config\":{\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}", "config.digest"},
    {"{\"config\":{\"digest\":\"md5:abc\",\"size\":1},\"layers\":[]}", "only sha256"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":\"" D2 "\",\"size\":-5}]}",
     "layers[0].size"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[5]}", "layers[0]: expected object"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1,\"mediaType\":7},\"layers\":[]}",
     "config.mediaType: expected string"},
    {"{\"mediaType\":\"" ZMT_OCI_INDEX "\",\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
     "is an index"},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1,\"mediaType\":\"a\\u0000b\"},\"layers\":[]}", "NUL"},
};

static void test_manifest_bad(void **state)
{
    struct zerr e = {0};
    struct zmanifest m;
    (void)state;
    for (size_t i = 0; i < sizeof bad_manifests / sizeof bad_manifests[0]; i++) {
        e.msg[0] = '\0';
        if (parse_m(bad_manifests[i].json, &m, &e) == 0)
            fail_msg("accepted: %s", bad_manifests[i].json);
        if (!strstr(e.msg, bad_manifests[i].msg) || !strstr(e.msg, "manifest X"))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad_manifests[i].json, e.msg,
                     bad_manifests[i].msg);
        assert_null(m.layers);
        assert_null(m.media_type);
    }
}

static char *many_layers(size_t n)
{
    size_t cap = 200 + n * 120;
    char *j = malloc(cap);
    size_t used = (size_t)snprintf(j, cap, "{\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[");
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(j + used, cap - used, "%s{\"mediaType\":\"x\",\"digest\":\"" D2
                                 "\",\"size\":%zu}", i ? "," : "", i);
    snprintf(j + used, cap - used, "]}");
    return j;
}

static void test_manifest_limits(void **state)
{
    struct zerr e = {0};
    struct zmanifest m;
    char *j;
    (void)state;
    j = many_layers(1000);
    assert_int_equal(parse_m(j, &m, &e), 0);
    assert_int_equal(m.n_layers, 1000);
    zmanifest_free(&m);
    free(j);
    j = many_layers(1001);
    assert_int_equal(parse_m(j, &m, &e), -1);
    assert_non_null(strstr(e.msg, "1001 layers"));
    free(j);

    /* larger than ZMANIFEST_MAX: refused before parsing */
    size_t big = ZMANIFEST_MAX + 1;
    j = malloc(big);
    memset(j, ' ', big);
    assert_int_equal(zmanifest_parse(j, big, "manifest X", &m, &e), -1);
    assert_int_equal(e.code, EFBIG);
    free(j);
}

/* -------------------------------------------------------------- index */

static const char *index_json =
    "{\"schemaVersion\":2,\"mediaType\":\"" ZMT_OCI_INDEX "\",\"manifests\":["
    "{\"mediaType\":\"" ZMT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
    " \"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" ZMT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":10,"
    " \"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
    "{\"mediaType\":\"" ZMT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":10,"
    " \"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" ZMT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
    " \"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
    "{\"mediaType\":\"" ZMT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":10,"
    " \"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}";

static void test_index(void **state)
{
    struct zerr e = {0};
    struct zindex x;
    size_t w;
    (void)state;
    assert_int_equal(zdoc_kind_of(index_json, strlen(index_json), NULL), ZDOC_INDEX);
    assert_int_equal(zindex_parse(index_json, strlen(index_json), "index X", &x, &e), 0);
    assert_int_equal(x.n_manifests, 5);
    assert_string_equal(x.manifests[0].variant, "v7");

    assert_int_equal(zindex_select(&x, "linux", "amd64", NULL, &w, &e), 0);
    assert_int_equal(w, 2);
    assert_int_equal(zindex_select(&x, "windows", "amd64", NULL, &w, &e), 0);
    assert_int_equal(w, 4);
    /* arm64/v8 matches an entry that leaves the default variant out */
    assert_int_equal(zindex_select(&x, "linux", "arm64", "v8", &w, &e), 0);
    assert_int_equal(w, 1);
    assert_int_equal(zindex_select(&x, "linux", "arm", "v7", &w, &e), 0);
    assert_int_equal(w, 0);
    assert_int_equal(zindex_select(&x, "linux", "arm", NULL, &w, &e), 0);
    assert_int_equal(w, 0);
    assert_int_equal(zindex_select(&x, "linux", "arm", "v6", &w, &e), -1);
    assert_int_equal(zindex_select(&x, "linux", "s390x", NULL, &w, &e), -1);
    assert_non_null(strstr(e.msg, "linux/s390x"));
    assert_non_null(strstr(e.msg, "linux/arm/v7, linux/arm64, linux/amd64"));
    /* the host: NULLs */
    int r = zindex_select(&x, NULL, NULL, NULL, &w, &e);
#if defined(__x86_64__)
    assert_int_equal(r, 0);
    assert_int_equal(w, 2);
#elif defined(__aarch64__)
    assert_int_equal(r, 0);
    assert_int_equal(w, 1);
#else
    (void)r;
#endif
    zindex_free(&x);

    /* docker manifest list, declared media type wins over shape */
    assert_int_equal(zdoc_kind_of("{}", 2, ZMT_DOCKER_LIST), ZDOC_INDEX);
    assert_int_equal(zdoc_kind_of("{}", 2, NULL), ZDOC_UNKNOWN);
    assert_int_equal(zdoc_kind_of("{\"manifests\":[]}", 16, NULL), ZDOC_INDEX);
    assert_int_equal(zdoc_kind_of("not json", 8, NULL), ZDOC_UNKNOWN);

    /* empty index: parses, selects nothing */
    assert_int_equal(zindex_parse("{\"manifests\":[]}", 16, "index X", &x, &e), 0);
    assert_int_equal(zindex_select(&x, "linux", "amd64", NULL, &w, &e), -1);
    assert_non_null(strstr(e.msg, "no platforms"));
    zindex_free(&x);
}

static const struct { const char *json, *msg; } bad_indexes[] = {
    {"{}", "manifests: missing"},
    {"{\"manifests\":{}}", "manifests: expected array"},
    {"{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}", "manifests[0].size"},
    {"{\"manifests\":[{\"digest\":\"sha256:zz\",\"size\":1}]}", "manifests[0].digest"},
    {"{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"platform\":[]}]}", "platform: expected object"},
    {"{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":1}}]}", "platform.os"},
    {"{\"mediaType\":\"" ZMT_OCI_MANIFEST "\",\"manifests\":[]}", "is a manifest"},
    {"{\"schemaVersion\":3,\"manifests\":[]}", "schemaVersion 3"},
};

static void test_index_bad(void **state)
{
    struct zerr e = {0};
    struct zindex x;
    (void)state;
    for (size_t i = 0; i < sizeof bad_indexes / sizeof bad_indexes[0]; i++) {
        const char *j = bad_indexes[i].json;
        if (zindex_parse(j, strlen(j), "index X", &x, &e) == 0)
            fail_msg("accepted: %s", j);
        if (!strstr(e.msg, bad_indexes[i].msg))
            fail_msg("%s: message \"%s\" lacks \"%s\"", j, e.msg, bad_indexes[i].msg);
        assert_null(x.manifests);
    }
}

/* -------------------------------------------------------------- config */

static void test_config(void **state)
{
    struct zerr e = {0};
    struct zimage_config c;
    const char *j =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-05-01T00:00:00Z\","
        "\"config\":{\"User\":\"app\",\"WorkingDir\":\"/srv\",\"StopSignal\":\"SIGQUIT\","
        "\"Env\":[\"PATH=/usr/bin\",\"A=b\"],\"Entrypoint\":null,\"Cmd\":[\"sh\",\"-c\",\"x\"],"
        "\"Volumes\":{\"/data\":{}},\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},"
        "\"Labels\":{\"k\":\"v\",\"k2\":\"v2\"}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},\"history\":[]}";
    (void)state;
    assert_int_equal(zimage_config_parse(j, strlen(j), "config X", &c, &e), 0);
    assert_string_equal(c.architecture, "amd64");
    assert_string_equal(c.user, "app");
    assert_string_equal(c.working_dir, "/srv");
    assert_string_equal(c.stop_signal, "SIGQUIT");
    assert_int_equal(c.n_env, 2);
    assert_null(c.entrypoint);
    assert_int_equal(c.n_cmd, 3);
    assert_string_equal(c.cmd[2], "x");
    assert_int_equal(c.n_volumes, 1);
    assert_string_equal(c.volumes[0], "/data");
    assert_int_equal(c.n_exposed_ports, 2);
    assert_int_equal(c.n_labels, 2);
    assert_string_equal(c.labels[1].key, "k2");
    assert_int_equal(c.n_diff_ids, 2);
    assert_string_equal(c.diff_ids[1], D2);
    assert_string_equal(c.created, "2024-05-01T00:00:00Z");
    zimage_config_free(&c);

    /* an empty Entrypoint array differs from none */
    const char *j2 = "{\"config\":{\"Entrypoint\":[]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    assert_int_equal(zimage_config_parse(j2, strlen(j2), "config X", &c, &e), 0);
    assert_non_null(c.entrypoint);
    assert_int_equal(c.n_entrypoint, 0);
    assert_null(c.cmd);
    zimage_config_free(&c);
}

static const struct { const char *json, *msg; } bad_configs[] = {
    {"{}", "rootfs: missing"},
    {"{\"rootfs\":[]}", "rootfs: expected object"},
    {"{\"rootfs\":{\"type\":\"other\",\"diff_ids\":[]}}", "rootfs.type"},
    {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:bad\"]}}", "rootfs.diff_ids[0]"},
    {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[5]}}", "rootfs.diff_ids[0]: expected string"},
    {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":\"x\"}}", "rootfs.diff_ids: expected array"},
    {"{\"config\":[],\"rootfs\":{\"type\":\"layers\"}}", "config: expected object"},
    {"{\"config\":{\"Env\":\"A=b\"},\"rootfs\":{\"type\":\"layers\"}}", "config.Env: expected array"},
    {"{\"config\":{\"Cmd\":[\"a\",1]},\"rootfs\":{\"type\":\"layers\"}}", "config.Cmd[1]: expected string"},
    {"{\"config\":{\"User\":0},\"rootfs\":{\"type\":\"layers\"}}", "config.User: expected string"},
    {"{\"config\":{\"Volumes\":[\"/a\"]},\"rootfs\":{\"type\":\"layers\"}}", "config.Volumes: expected object"},
    {"{\"config\":{\"Labels\":{\"a\":1}},\"rootfs\":{\"type\":\"layers\"}}", "config.Labels.a: expected string"},
    {"{\"config\":{\"Env\":[\"A=\\u0000b\"]},\"rootfs\":{\"type\":\"layers\"}}", "NUL"},
    {"{\"architecture\":[],\"rootfs\":{\"type\":\"layers\"}}", "architecture: expected string"},
};

static void test_config_bad(void **state)
{
    struct zerr e = {0};
    struct zimage_config c;
    (void)state;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        const char *j = bad_configs[i].json;
        if (zimage_config_parse(j, strlen(j), "config X", &c, &e) == 0)
            fail_msg("accepted: %s", j);
        if (!strstr(e.msg, bad_configs[i].msg) || !strstr(e.msg, "config X"))
            fail_msg("%s: message \"%s\" lacks \"%s\"", j, e.msg, bad_configs[i].msg);
        assert_null(c.env);
        assert_null(c.diff_ids);
    }
}

static void test_config_many_diff_ids(void **state)
{
    struct zerr e = {0};
    struct zimage_config c;
    size_t n = 1001, cap = 100 + n * 80, used;
    char *j = malloc(cap);
    (void)state;
    used = (size_t)snprintf(j, cap, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(j + used, cap - used, "%s\"" D1 "\"", i ? "," : "");
    snprintf(j + used, cap - used, "]}}");
    assert_int_equal(zimage_config_parse(j, strlen(j), "config X", &c, &e), -1);
    assert_non_null(strstr(e.msg, "1001 entries"));
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_ok),
        cmocka_unit_test(test_manifest_bad),
        cmocka_unit_test(test_manifest_limits),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_index_bad),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_config_bad),
        cmocka_unit_test(test_config_many_diff_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
