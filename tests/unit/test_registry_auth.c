/* images/registry_auth.c: WWW-Authenticate challenges, --creds, auth files
 * (docker config.json and podman auth.json), token answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "images/registry.h"

static void test_challenge_bearer(void **state)
{
    struct zreg_challenge c;
    struct zerr e = {0};
    assert_int_equal(zreg_parse_challenge(
                         "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                         "scope=\"repository:library/busybox:pull\"",
                         &c, &e),
                     0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/busybox:pull");

    /* case-insensitive scheme and names, spaces around '=', token values,
     * a scope with two actions and an escaped quote, unknown parameters */
    assert_int_equal(zreg_parse_challenge(
                         "bearer REALM = \"http://127.0.0.1:5001/auth\" , error=\"invalid_token\", "
                         "scope=\"repository:a/b:pull,push\", service=my\\ svc",
                         &c, &e),
                     0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "http://127.0.0.1:5001/auth");
    assert_string_equal(c.scope, "repository:a/b:pull,push");
    assert_string_equal(c.service, "my");

    assert_int_equal(zreg_parse_challenge("Bearer realm=\"a\\\"b\"", &c, &e), 0);
    assert_string_equal(c.realm, "a\"b");
    assert_string_equal(c.service, "");
    assert_string_equal(c.scope, "");
}

static void test_challenge_basic_and_several(void **state)
{
    struct zreg_challenge c;
    struct zerr e = {0};
    assert_int_equal(zreg_parse_challenge("Basic realm=\"Registry Realm\"", &c, &e), 0);
    assert_string_equal(c.scheme, "Basic");
    assert_string_equal(c.realm, "Registry Realm");

    /* several challenges in one header: Bearer wins, wherever it is */
    assert_int_equal(zreg_parse_challenge(
                         "Basic realm=\"x\", Bearer realm=\"https://t/\",service=\"s\"", &c, &e),
                     0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "https://t/");
    assert_string_equal(c.service, "s");
    assert_int_equal(zreg_parse_challenge(
                         "Bearer realm=\"https://t/\", Basic realm=\"x\"", &c, &e), 0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "https://t/");

    /* a token68 and an unknown scheme are skipped over */
    assert_int_equal(zreg_parse_challenge("Negotiate abc==, Basic realm=r", &c, &e), 0);
    assert_string_equal(c.scheme, "Basic");
    assert_string_equal(c.realm, "r");
}

static void test_challenge_invalid(void **state)
{
    struct zreg_challenge c;
    struct zerr e = {0};
    assert_int_equal(zreg_parse_challenge("", &c, &e), -1);
    assert_int_equal(zreg_parse_challenge("Negotiate", &c, &e), -1);
    assert_non_null(strstr(e.msg, "no Bearer or Basic"));
    assert_int_equal(zreg_parse_challenge("Bearer service=\"x\"", &c, &e), -1);
    assert_non_null(strstr(e.msg, "without a realm"));
    assert_int_equal(zreg_parse_challenge("Bearer realm=\"unterminated", &c, &e), -1);
    assert_non_null(strstr(e.msg, "bad value of realm"));
    assert_int_equal(zreg_parse_challenge("Bearer realm=\"a\001b\"", &c, &e), -1);
    /* a realm longer than the field is refused, not cut */
    char big[4000] = "Bearer realm=\"";
    memset(big + strlen(big), 'a', 2100);
    strcat(big, "\"");
    assert_int_equal(zreg_parse_challenge(big, &c, &e), -1);
    assert_int_equal(zreg_parse_challenge(",,, ", &c, &e), -1);
}

static void test_split_creds(void **state)
{
    struct zreg_creds c;
    struct zerr e = {0};
    assert_int_equal(zreg_split_creds("alice:s3:cr:et", &c, &e), 0);
    assert_true(c.have);
    assert_string_equal(c.user, "alice");
    assert_string_equal(c.pass, "s3:cr:et");
    assert_int_equal(zreg_split_creds("bob:", &c, &e), 0);
    assert_string_equal(c.pass, "");
    assert_int_equal(zreg_split_creds("nopassword", &c, &e), -1);
    assert_false(c.have);
    assert_int_equal(zreg_split_creds(":pw", &c, &e), -1);
}

/* base64("alice:pw1") = YWxpY2U6cHcx, base64("bob:pw2") = Ym9iOnB3Mg==,
 * base64("hub:hubpw") = aHViOmh1YnB3, base64("ns:nspw") = bnM6bnNwdw== */
static const char auth_json[] =
    "{\"auths\": {"
    "  \"127.0.0.1:5000\": {\"auth\": \"YWxpY2U6cHcx\"},"
    "  \"https://quay.example/v1/\": {\"auth\": \"Ym9iOnB3Mg==\"},"
    "  \"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnB3\"},"
    "  \"quay.example/team\": {\"auth\": \"bnM6bnNwdw==\"},"
    "  \"tokenonly.example\": {\"identitytoken\": \"x\"}"
    "}, \"credsStore\": \"desktop\"}";

static void lookup(const char *registry, const char *repo, const char *user, const char *pass)
{
    struct zreg_creds c;
    struct zerr e = {0};
    assert_int_equal(zreg_auth_lookup(auth_json, strlen(auth_json), "auth.json", registry, repo,
                                      &c, &e),
                     0);
    if (!user) {
        assert_false(c.have);
        return;
    }
    assert_true(c.have);
    assert_string_equal(c.user, user);
    assert_string_equal(c.pass, pass);
}

static void test_auth_lookup(void **state)
{
    lookup("127.0.0.1:5000", "x/y", "alice", "pw1");
    lookup("127.0.0.1:5001", "x/y", NULL, NULL);
    lookup("127.0.0.1", "x/y", NULL, NULL);
    /* scheme and /v1/ path stripped */
    lookup("quay.example", "other/app", "bob", "pw2");
    /* a per-repository key is more specific, on component boundaries */
    lookup("quay.example", "team/app", "ns", "nspw");
    lookup("quay.example", "team", "ns", "nspw");
    lookup("quay.example", "teamx/app", "bob", "pw2");
    /* Docker Hub under its legacy key */
    lookup("docker.io", "library/busybox", "hub", "hubpw");
    lookup("registry-1.docker.io", "library/busybox", "hub", "hubpw");
    /* entries without "auth" are not credentials */
    lookup("tokenonly.example", "a", NULL, NULL);
}

static void test_auth_lookup_invalid(void **state)
{
    struct zreg_creds c;
    struct zerr e = {0};
    static const char *const bad[] = {
        "{\"auths\": {\"h\": {\"auth\": \"not base64!\"}}}",
        "{\"auths\": {\"h\": {\"auth\": \"bm9jb2xvbg==\"}}}",     /* "nocolon" */
        "{\"auths\": {\"h\": {\"auth\": 12}}}",
        "{\"auths\": {\"h\": {\"auth\": \"YQ=a\"}}}",
        "{\"auths\": {\"h\": {\"auth\": \"YWxpY2U6AHB3\"}}}",   /* NUL inside */
        "{\"auths\": []}",
        "[1]",
        "{\"auths\": {",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = 0;
        assert_int_equal(zreg_auth_lookup(bad[i], strlen(bad[i]), "F.json", "h", "r", &c, &e), -1);
        assert_false(c.have);
        assert_non_null(strstr(e.msg, "F.json"));
    }
    /* no auths at all: simply nothing found */
    assert_int_equal(zreg_auth_lookup("{}", 2, "F.json", "h", "r", &c, &e), 0);
    assert_false(c.have);
}

static void test_find_creds_files(void **state)
{
    char dir[] = "/tmp/zone-test-auth-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], home[512];
    snprintf(path, sizeof path, "%s/auth.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(auth_json, f);
    fclose(f);
    struct zreg_creds c;
    struct zerr e = {0};
    struct zpull_opts o = {.tls_verify = true};

    /* --creds wins over everything */
    o.creds = "u:p";
    o.auth_file = path;
    assert_int_equal(zreg_find_creds(&o, "127.0.0.1:5000", "r", &c, &e), 0);
    assert_string_equal(c.user, "u");
    /* --authfile */
    o.creds = NULL;
    assert_int_equal(zreg_find_creds(&o, "127.0.0.1:5000", "r", &c, &e), 0);
    assert_string_equal(c.user, "alice");
    /* a named file that is missing is an error */
    o.auth_file = "/nonexistent/zone/auth.json";
    assert_int_equal(zreg_find_creds(&o, "127.0.0.1:5000", "r", &c, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/zone/auth.json"));
    /* $REGISTRY_AUTH_FILE, then ~/.docker/config.json */
    o.auth_file = NULL;
    snprintf(home, sizeof home, "%s/home", dir);
    setenv("HOME", home, 1);
    setenv("XDG_RUNTIME_DIR", dir, 1);
    setenv("REGISTRY_AUTH_FILE", path, 1);
    assert_int_equal(zreg_find_creds(&o, "quay.example", "team/a", &c, &e), 0);
    assert_string_equal(c.user, "ns");
    unsetenv("REGISTRY_AUTH_FILE");
    /* none of the default files exist: no credentials, no error */
    assert_int_equal(zreg_find_creds(&o, "quay.example", "team/a", &c, &e), 0);
    assert_false(c.have);
    /* $XDG_RUNTIME_DIR/containers/auth.json */
    char sub[600], xdg_auth[700];
    snprintf(sub, sizeof sub, "%s/containers", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(xdg_auth, sizeof xdg_auth, "%s/auth.json", sub);
    assert_int_equal(rename(path, xdg_auth), 0);
    assert_int_equal(zreg_find_creds(&o, "docker.io", "library/x", &c, &e), 0);
    assert_string_equal(c.user, "hub");
    unlink(xdg_auth);
    rmdir(sub);
    rmdir(dir);
}

static void test_parse_token(void **state)
{
    char *t = NULL;
    struct zerr e = {0};
    const char *a = "{\"token\": \"abc.def\", \"expires_in\": 300}";
    assert_int_equal(zreg_parse_token(a, strlen(a), &t, &e), 0);
    assert_string_equal(t, "abc.def");
    free(t);
    const char *b = "{\"access_token\": \"xyz\"}";
    assert_int_equal(zreg_parse_token(b, strlen(b), &t, &e), 0);
    assert_string_equal(t, "xyz");
    free(t);
    const char *c = "{\"token\": \"\", \"access_token\": \"fallback\"}";
    assert_int_equal(zreg_parse_token(c, strlen(c), &t, &e), 0);
    assert_string_equal(t, "fallback");
    free(t);
    /* a token that would inject a header line is refused */
    const char *d = "{\"token\": \"abc\\r\\nX-Evil: 1\"}";
    assert_int_equal(zreg_parse_token(d, strlen(d), &t, &e), -1);
    assert_non_null(strstr(e.msg, "not allowed"));
    const char *f = "{\"nothing\": 1}";
    assert_int_equal(zreg_parse_token(f, strlen(f), &t, &e), -1);
    assert_int_equal(zreg_parse_token("{", 1, &t, &e), -1);
    assert_non_null(strstr(e.msg, "token answer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_bearer),
        cmocka_unit_test(test_challenge_basic_and_several),
        cmocka_unit_test(test_challenge_invalid),
        cmocka_unit_test(test_split_creds),
        cmocka_unit_test(test_auth_lookup),
        cmocka_unit_test(test_auth_lookup_invalid),
        cmocka_unit_test(test_find_creds_files),
        cmocka_unit_test(test_parse_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
