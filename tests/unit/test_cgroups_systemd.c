/* The systemd cgroup driver without systemd: unit names, the properties of
 * StartTransientUnit, the state line, and the failure paths when the bus
 * cannot be reached. The D-Bus exchange itself is covered by
 * tests/integration/t_cgroups_systemd.sh against a fake manager. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cgroups/internal.h"
#include "tests/unit/test_cgroups_fake.h"

static struct zcg_systemd *new_ok(const char *spn, const char *id,
                                  enum zcg_mode mode)
{
    struct zerr e = {0};
    struct zcg_systemd *sd = zcg_systemd_new(spn, id, mode, &e);
    if (!sd)
        fail_msg("%s", e.msg);
    return sd;
}

static void test_unit_names(void **state)
{
    struct zcg_systemd *sd;
    struct zerr e = {0};

    sd = new_ok("system.slice:zone:test1", "x", ZCG_V2);
    assert_string_equal(sd->unit, "zone-test1.scope");
    assert_string_equal(sd->slice, "system.slice");
    assert_false(sd->v1);
    assert_false(sd->started);
    zcg_systemd_free(sd);

    sd = new_ok(NULL, "abc", ZCG_V1);
    assert_string_equal(sd->unit, "zone-abc.scope");
    assert_string_equal(sd->slice, "system.slice");
    assert_true(sd->v1);
    zcg_systemd_free(sd);

    sd = new_ok(":p:n", "x", ZCG_HYBRID);
    assert_string_equal(sd->unit, "p-n.scope");
    assert_string_equal(sd->slice, "system.slice");
    assert_true(sd->v1);
    zcg_systemd_free(sd);

    sd = new_ok("machine.slice::n", "x", ZCG_V2);
    assert_string_equal(sd->unit, "n.scope");
    assert_string_equal(sd->slice, "machine.slice");
    zcg_systemd_free(sd);

    sd = new_ok("a-b.slice:zone:inner.slice", "x", ZCG_V2);
    assert_string_equal(sd->unit, "inner.slice");
    assert_string_equal(sd->slice, "a-b.slice");
    zcg_systemd_free(sd);

    assert_null(zcg_systemd_new("system.slice:zone", "x", ZCG_V2, &e));
    assert_non_null(strstr(e.msg, "slice:prefix:name"));
    assert_null(zcg_systemd_new("system.slice:zone:a/b", "x", ZCG_V2, &e));
    assert_null(zcg_systemd_new("nota-slice:zone:n", "x", ZCG_V2, &e));
}

static const struct zcg_sd_prop *find_prop(const struct zcg_sd_prop *p,
                                           size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return &p[i];
    return NULL;
}

static void test_scope_properties(void **state)
{
    struct zcg_systemd *sd = new_ok("system.slice:zone:test1", "x", ZCG_V1);
    struct zcg_sd_prop p[ZCG_SD_MAX_PROPS];
    const struct zcg_sd_prop *q;
    size_t n = zcg_systemd_properties(sd, 4242, "zone container", p);

    assert_int_equal(n, 5);
    assert_string_equal(p[0].name, "Description");
    assert_string_equal(p[0].s, "zone container");
    assert_non_null(q = find_prop(p, n, "Slice"));
    assert_int_equal(q->type, 's');
    assert_string_equal(q->s, "system.slice");
    assert_non_null(q = find_prop(p, n, "Delegate"));
    assert_int_equal(q->type, 'b');
    assert_true(q->b);
    assert_non_null(q = find_prop(p, n, "PIDs"));
    assert_int_equal(q->type, 'p');
    assert_int_equal(q->pid, 4242);
    assert_non_null(q = find_prop(p, n, "DefaultDependencies"));
    assert_false(q->b);
    assert_null(find_prop(p, n, "MemoryLimit"));
    zcg_systemd_free(sd);
}

static void test_limit_properties(void **state)
{
    struct zspec_memory mem = {.has_limit = true, .limit = 64 << 20};
    struct zspec_cpu cpu = {.has_shares = true, .shares = 1024};
    struct zspec_pids pids = {.has_limit = true, .limit = 0};
    struct zspec_resources r = {.memory = &mem, .cpu = &cpu, .pids = &pids};
    struct zcg_sd_prop p[ZCG_SD_MAX_PROPS];
    const struct zcg_sd_prop *q;
    struct zcg_systemd *v1 = new_ok(NULL, "a", ZCG_V1);
    struct zcg_systemd *v2 = new_ok(NULL, "a", ZCG_V2);
    size_t n;

    zcg_systemd_note_resources(v1, &r);
    n = zcg_systemd_properties(v1, 1, "d", p);
    assert_true(n <= ZCG_SD_MAX_PROPS);
    assert_non_null(q = find_prop(p, n, "MemoryLimit"));
    assert_int_equal(q->type, 't');
    assert_int_equal(q->t, 64 << 20);
    assert_non_null(q = find_prop(p, n, "CPUShares"));
    assert_int_equal(q->t, 1024);
    assert_non_null(q = find_prop(p, n, "TasksMax"));
    assert_true(q->t == UINT64_MAX);
    assert_null(find_prop(p, n, "MemoryMax"));

    mem.limit = -1;
    pids.limit = 50;
    zcg_systemd_note_resources(v2, &r);
    n = zcg_systemd_properties(v2, 1, "d", p);
    assert_non_null(q = find_prop(p, n, "MemoryMax"));
    assert_true(q->t == UINT64_MAX);
    assert_non_null(q = find_prop(p, n, "CPUWeight"));
    assert_int_equal(q->t, zcg_shares_to_weight(1024));
    assert_non_null(q = find_prop(p, n, "TasksMax"));
    assert_int_equal(q->t, 50);
    assert_null(find_prop(p, n, "CPUShares"));
    zcg_systemd_free(v1);
    zcg_systemd_free(v2);
}

static void test_slice_unit_properties(void **state)
{
    struct zcg_systemd *sd = new_ok("system.slice:zone:my.slice", "x", ZCG_V2);
    struct zcg_sd_prop p[ZCG_SD_MAX_PROPS];
    size_t n = zcg_systemd_properties(sd, 7, "d", p);
    const struct zcg_sd_prop *q;

    /* a slice holds no process and cannot be delegated */
    assert_null(find_prop(p, n, "PIDs"));
    assert_null(find_prop(p, n, "Delegate"));
    assert_null(find_prop(p, n, "Slice"));
    assert_non_null(q = find_prop(p, n, "Wants"));
    assert_string_equal(q->s, "system.slice");
    zcg_systemd_free(sd);
}

static void test_state_line(void **state)
{
    struct zerr e = {0};
    struct zcg_systemd *sd = zcg_systemd_parse("zone-a.scope system.slice",
                                               ZCG_V2, &e);
    if (!sd)
        fail_msg("%s", e.msg);
    assert_string_equal(sd->unit, "zone-a.scope");
    assert_string_equal(sd->slice, "system.slice");
    assert_true(sd->started);
    zcg_systemd_free(sd);
    assert_null(zcg_systemd_parse("zone-a.scope", ZCG_V2, &e));
    assert_non_null(strstr(e.msg, "systemd-unit"));
    assert_null(zcg_systemd_parse("a b c", ZCG_V2, &e));
    assert_null(zcg_systemd_parse("../x.scope system.slice", ZCG_V2, &e));
    assert_null(zcg_systemd_parse(" system.slice", ZCG_V2, &e));
}

static void test_runtime_dir(void **state)
{
    unsetenv(ZCG_SYSTEMD_RUNTIME_DIR_ENV);
    assert_string_equal(zcg_systemd_runtime_dir(), "/run/systemd/system");
    setenv(ZCG_SYSTEMD_RUNTIME_DIR_ENV, "/tmp/fake-systemd", 1);
    assert_string_equal(zcg_systemd_runtime_dir(), "/tmp/fake-systemd");
    unsetenv(ZCG_SYSTEMD_RUNTIME_DIR_ENV);
}

/* A v1 layout with memory and pids in a temp dir. */
struct fake {
    char *root;
    struct zcg_layout l;
};

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    char text[2048];
    struct zerr e = {0};

    if (!f || !(f->root = fake_root()))
        return -1;
    snprintf(text, sizeof text,
             "40 1 0:30 / %s/memory rw - cgroup cgroup rw,memory\n"
             "41 1 0:31 / %s/pids rw - cgroup cgroup rw,pids\n",
             f->root, f->root);
    fake_mkdir(f->root, "memory");
    fake_mkdir(f->root, "pids");
    if (zcg_layout_parse_mountinfo(text, &f->l, &e) < 0) {
        fail_msg("%s", e.msg);
        return -1;
    }
    /* nothing listens here: every bus call fails to connect */
    setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/zone-test-bus", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    zcg_layout_free(&f->l);
    fake_remove(f->root);
    free(f);
    return 0;
}

static bool exists(const char *root, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return access(p, F_OK) == 0;
}

static void test_create_serialize_open(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, "system.slice:zone:t1",
                                       "t1", true, true, &e);
    struct zcgroup *again;
    char *s, *s2;

    if (!cg)
        fail_msg("%s", e.msg);
    assert_string_equal(zcg_path(cg), "/system.slice/zone-t1.scope");
    assert_true(exists(f->root, "memory/system.slice/zone-t1.scope"));
    assert_true(exists(f->root, "pids/system.slice/zone-t1.scope"));
    s = zcg_serialize(cg);
    assert_string_equal(s, "v1 /system.slice/zone-t1.scope\n"
                           "systemd-unit zone-t1.scope system.slice\n");
    if (!(again = zcg_open_in(&f->l, s, &e)))
        fail_msg("%s", e.msg);
    assert_non_null(again->sd);
    assert_true(again->sd->started);
    assert_string_equal(again->sd->unit, "zone-t1.scope");
    s2 = zcg_serialize(again);
    assert_string_equal(s, s2);
    free(s);
    free(s2);
    zcg_free(again);
    zcg_free(cg);
    /* the plain cgroupfs state has no unit */
    if (!(again = zcg_open_in(&f->l, "v1 /zone/x\n", &e)))
        fail_msg("%s", e.msg);
    assert_null(again->sd);
    zcg_free(again);
}

static void test_not_running(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    assert_null(zcg_create_in(&f->l, NULL, "system.slice:zone:t1", "t1", true,
                              false, &e));
    assert_non_null(strstr(e.msg, "systemd is not running"));
    assert_false(exists(f->root, "memory/system.slice"));
}

static void test_enter_without_bus_fails(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, "system.slice:zone:t2",
                                       "t2", true, true, &e);
    if (!cg)
        fail_msg("%s", e.msg);
    assert_int_equal(zcg_enter(cg, getpid(), &e), -1);
    assert_non_null(strstr(e.msg, "systemd cgroup driver: connect to the "
                                  "system bus"));
    assert_false(cg->sd->started);
    /* delete still removes the directories when systemd is unreachable */
    assert_int_equal(zcg_destroy(cg, false, &e), 0);
    assert_false(exists(f->root, "memory/system.slice/zone-t2.scope"));
    assert_false(exists(f->root, "pids/system.slice/zone-t2.scope"));
    zcg_free(cg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_names),
        cmocka_unit_test(test_scope_properties),
        cmocka_unit_test(test_limit_properties),
        cmocka_unit_test(test_slice_unit_properties),
        cmocka_unit_test(test_state_line),
        cmocka_unit_test(test_runtime_dir),
        cmocka_unit_test_setup_teardown(test_create_serialize_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enter_without_bus_fails, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
