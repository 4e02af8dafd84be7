/* Developer container records (engine/containers.h) and -p specs
 * (engine/pasta.h): names, ids, resolution, exit records, removal. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/containers.h"
#include "engine/pasta.h"

static char store[256];

static int setup(void **state)
{
    (void)state;
    snprintf(store, sizeof store, "/tmp/zone-dev-test-XXXXXX");
    return mkdtemp(store) ? 0 : -1;
}

static int teardown(void **state)
{
    struct zerr e;
    (void)state;
    return zctr_remove_tree(store, &e);
}

static void new_record(struct zctr *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->name = name ? strdup(name) : NULL;
    c->image = strdup("busybox");
    c->manifest = strdup("sha256:0000000000000000000000000000000000000000000000000000000000000000");
    c->root = strdup("/run/zone");
    c->command = calloc(3, sizeof *c->command);
    c->command[0] = strdup("sleep");
    c->command[1] = strdup("10");
    c->n_command = 2;
    c->timeout = 30;
    c->rm = true;
}

static void test_names(void **state)
{
    struct zerr e;
    (void)state;
    assert_int_equal(zctr_check_name("web", &e), 0);
    assert_int_equal(zctr_check_name("a_b.c-d9", &e), 0);
    assert_int_equal(zctr_check_name("_x", &e), -1);
    assert_int_equal(zctr_check_name("", &e), -1);
    assert_int_equal(zctr_check_name("a/b", &e), -1);
    assert_int_equal(zctr_check_name("..", &e), -1);
    assert_int_equal(zctr_check_name("a b", &e), -1);
    assert_non_null(strstr(e.msg, "a b"));
}

static void test_create_load_roundtrip(void **state)
{
    struct zctr c, back;
    struct zerr e;
    (void)state;
    new_record(&c, "web");
    assert_int_equal(zctr_create(store, &c, &e), 0);
    assert_int_equal(strlen(c.id), ZCTR_ID_LEN);
    assert_non_null(c.created);
    assert_int_equal(zctr_load(store, c.id, &back, &e), 0);
    assert_string_equal(back.name, "web");
    assert_string_equal(back.image, "busybox");
    assert_string_equal(back.root, "/run/zone");
    assert_int_equal(back.n_command, 2);
    assert_string_equal(back.command[1], "10");
    assert_true(back.rm);
    assert_int_equal(back.timeout, 30);
    assert_false(back.exited);
    assert_true(zctr_parse_time(back.created) > 0);
    zctr_clear(&back);

    /* the same name again is refused, naming it */
    {
        struct zctr dup;
        new_record(&dup, "web");
        assert_int_equal(zctr_create(store, &dup, &e), -1);
        assert_int_equal(e.code, EEXIST);
        assert_non_null(strstr(e.msg, "\"web\""));
        zctr_clear(&dup);
    }
    /* a generated name */
    {
        struct zctr gen;
        new_record(&gen, NULL);
        assert_int_equal(zctr_create(store, &gen, &e), 0);
        assert_int_equal(strncmp(gen.name, "zone_", 5), 0);
        assert_int_equal(strlen(gen.name), 5 + 12);
        assert_string_not_equal(gen.id, c.id);
        zctr_clear(&gen);
    }
    zctr_clear(&c);
}

static void test_resolve(void **state)
{
    struct zctr a, b;
    struct zerr e;
    char id[ZCTR_ID_LEN + 1];
    (void)state;
    new_record(&a, "alpha");
    new_record(&b, "beta");
    assert_int_equal(zctr_create(store, &a, &e), 0);
    assert_int_equal(zctr_create(store, &b, &e), 0);
    assert_int_equal(zctr_resolve(store, "alpha", id, &e), 0);
    assert_string_equal(id, a.id);
    assert_int_equal(zctr_resolve(store, b.id, id, &e), 0);
    assert_string_equal(id, b.id);
    /* a prefix long enough to be unique */
    {
        char prefix[13];
        snprintf(prefix, sizeof prefix, "%.12s", a.id);
        assert_int_equal(zctr_resolve(store, prefix, id, &e), 0);
        assert_string_equal(id, a.id);
    }
    assert_int_equal(zctr_resolve(store, "gamma", id, &e), -1);
    assert_int_equal(e.code, ENOENT);
    /* loading something that is not an id never builds a path from it */
    {
        struct zctr x;
        assert_int_equal(zctr_load(store, "../../etc", &x, &e), -1);
        assert_int_equal(e.code, EINVAL);
    }
    zctr_clear(&a);
    zctr_clear(&b);
}

static void test_list_and_exit_record(void **state)
{
    struct zctr c, *v;
    size_t n;
    struct zerr e;
    int fd;
    (void)state;
    new_record(&c, "done");
    assert_int_equal(zctr_create(store, &c, &e), 0);
    fd = zctr_lock(store, c.id, &e);
    assert_true(fd >= 0);
    assert_int_equal(zctr_write_exit(fd, 124, 9, &e), 0);
    close(fd);
    assert_int_equal(zctr_list(store, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_true(v[0].exited);
    assert_int_equal(v[0].exit_code, 124);
    assert_int_equal(v[0].signal, 9);
    assert_non_null(v[0].finished);
    zctr_list_free(v, n);
    /* a stray directory or a broken record is skipped, not fatal */
    {
        char path[512];
        snprintf(path, sizeof path, "%s/containers/not-an-id", store);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof path, "%s/containers/%064d", store, 7);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    assert_int_equal(zctr_list(store, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    zctr_list_free(v, n);
    zctr_clear(&c);
}

static void test_remove_unwritable_tree(void **state)
{
    struct zctr c;
    struct zerr e;
    char path[1100], dir[512];
    (void)state;
    new_record(&c, "messy");
    assert_int_equal(zctr_create(store, &c, &e), 0);
    /* an overlay upper with a directory without any permission, holding
     * a file, and a subdirectory of mode 0 */
    snprintf(dir, sizeof dir, "%s/containers/%s/upper/locked", store, c.id);
    snprintf(path, sizeof path, "%s/containers/%s/upper", store, c.id);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/file", dir);
    close(open(path, O_CREAT | O_WRONLY, 0));
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0), 0);
    assert_int_equal(chmod(dir, 0), 0);
    assert_int_equal(zctr_remove(store, c.id, &e), 0);
    snprintf(path, sizeof path, "%s/containers/%s", store, c.id);
    assert_int_equal(access(path, F_OK), -1);
    /* removing again is fine */
    assert_int_equal(zctr_remove(store, c.id, &e), 0);
    zctr_clear(&c);
}

static void test_publish_specs(void **state)
{
    struct zerr e;
    (void)state;
    assert_int_equal(zpasta_check_publish("8080:80", &e), 0);
    assert_int_equal(zpasta_check_publish("80", &e), 0);
    assert_int_equal(zpasta_check_publish("127.0.0.1:8080:80", &e), 0);
    assert_int_equal(zpasta_check_publish("5353:53/udp", &e), 0);
    assert_int_equal(zpasta_check_publish("[::1]:8080:80/tcp", &e), 0);
    assert_int_equal(zpasta_check_publish("8080:80/sctp", &e), -1);
    assert_int_equal(zpasta_check_publish("0:80", &e), -1);
    assert_int_equal(zpasta_check_publish("70000:80", &e), -1);
    assert_int_equal(zpasta_check_publish("a:80", &e), -1);
    assert_int_equal(zpasta_check_publish("host;rm:1:2", &e), -1);
    assert_int_equal(zpasta_check_publish("", &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_create_load_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_exit_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_unwritable_tree, setup, teardown),
        cmocka_unit_test(test_publish_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
