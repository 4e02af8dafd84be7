/* cgroups: resource -> file translations (v1 and v2) against fake trees,
 * and the conversion formulas. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/internal.h"
#include "core/cleanup.h"
#include "tests/unit/test_cgroups_fake.h"

static const char *const memory_v1_files[] = {
    "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
    "memory.swappiness", "memory.oom_control",
};

static int setup_dir(void **state)
{
    char *root = fake_root();
    if (!root)
        return -1;
    *state = root;
    return 0;
}

static int teardown_dir(void **state)
{
    fake_remove(*state);
    return 0;
}

/* ------------------------------------------------------------ formulas */

static void test_shares_to_weight(void **state)
{
    (void)state;
    assert_int_equal(zcg_shares_to_weight(0), 0);
    assert_int_equal(zcg_shares_to_weight(1), 1);      /* clamped to 2 */
    assert_int_equal(zcg_shares_to_weight(2), 1);
    assert_int_equal(zcg_shares_to_weight(1024), 39);  /* 1 + 1022*9999/262142 */
    assert_int_equal(zcg_shares_to_weight(512), 20);
    assert_int_equal(zcg_shares_to_weight(262144), 10000);
    assert_int_equal(zcg_shares_to_weight(1000000), 10000);
}

static void swap_case(bool has_limit, int64_t limit, bool has_swap,
                      int64_t swap, int expect_rc, bool expect_set,
                      const char *expect)
{
    struct zspec_memory m = {.has_limit = has_limit, .limit = limit,
                             .has_swap = has_swap, .swap = swap};
    struct zerr e = {0};
    char buf[32] = "";
    bool set = true;
    int rc = zcg_swap_v2_value(&m, buf, sizeof buf, &set, &e);
    assert_int_equal(rc, expect_rc);
    if (rc == 0) {
        assert_int_equal(set, expect_set);
        if (expect_set)
            assert_string_equal(buf, expect);
    } else {
        assert_int_equal(e.code, EINVAL);
        assert_non_null(strstr(e.msg, "linux.resources.memory.swap"));
    }
}

static void test_swap_conversion(void **state)
{
    (void)state;
    swap_case(true, 4096, true, 8192, 0, true, "4096");  /* 8192-4096 */
    swap_case(true, 4096, true, 4096, 0, true, "0");     /* no swap at all */
    swap_case(true, 4096, true, -1, 0, true, "max");
    swap_case(true, -1, false, 0, 0, true, "max");       /* both unlimited */
    swap_case(true, 4096, false, 0, 0, false, NULL);     /* unset */
    swap_case(false, 0, false, 0, 0, false, NULL);
    swap_case(true, 4096, true, 0, 0, false, NULL);      /* 0 = unset */
    swap_case(false, 0, true, 8192, -1, false, NULL);    /* needs a limit */
    swap_case(true, -1, true, 8192, -1, false, NULL);
    swap_case(true, 8192, true, 4096, -1, false, NULL);  /* swap < limit */
}

static void test_pids_and_limit_values(void **state)
{
    char buf[32];
    (void)state;
    zcg_pids_max_value(-1, buf, sizeof buf);
    assert_string_equal(buf, "max");
    zcg_pids_max_value(0, buf, sizeof buf);
    assert_string_equal(buf, "max");
    zcg_pids_max_value(128, buf, sizeof buf);
    assert_string_equal(buf, "128");
    zcg_v2_limit_value(-1, buf, sizeof buf);
    assert_string_equal(buf, "max");
    zcg_v2_limit_value(1048576, buf, sizeof buf);
    assert_string_equal(buf, "1048576");
}

static void test_device_rules(void **state)
{
    struct zerr e = {0};
    char buf[80];
    struct zspec_device_cgroup all = {.allow = false};
    struct zspec_device_cgroup null = {.allow = true, .type = "c",
                                       .has_major = true, .major = 1,
                                       .has_minor = true, .minor = 3,
                                       .access = "rwm"};
    struct zspec_device_cgroup anyminor = {.type = "b", .has_major = true,
                                           .major = 8, .access = "r"};
    struct zspec_device_cgroup bad_type = {.type = "x"};
    struct zspec_device_cgroup bad_access = {.type = "c", .access = "rwx"};
    struct zspec_device_cgroup bad_major = {.type = "c", .has_major = true,
                                            .major = -2};
    (void)state;
    assert_int_equal(zcg_device_rule(&all, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "a *:* rwm");
    assert_int_equal(zcg_device_rule(&null, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "c 1:3 rwm");
    assert_int_equal(zcg_device_rule(&anyminor, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "b 8:* r");
    assert_int_equal(zcg_device_rule(&bad_type, buf, sizeof buf, &e), -1);
    assert_non_null(strstr(e.msg, "type \"x\""));
    assert_int_equal(zcg_device_rule(&bad_access, buf, sizeof buf, &e), -1);
    assert_non_null(strstr(e.msg, "access \"rwx\""));
    assert_int_equal(zcg_device_rule(&bad_major, buf, sizeof buf, &e), -1);
    assert_non_null(strstr(e.msg, "major -2"));
}

static void test_unified_keys(void **state)
{
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zcg_unified_key_check("memory.high", &e), 0);
    assert_int_equal(zcg_unified_key_check("cgroup.max.depth", &e), 0);
    assert_int_equal(zcg_unified_key_check("../memory.high", &e), -1);
    assert_non_null(strstr(e.msg, "\"../memory.high\""));
    assert_int_equal(zcg_unified_key_check("a/memory.high", &e), -1);
    assert_int_equal(zcg_unified_key_check("memory..high", &e), -1);
    assert_int_equal(zcg_unified_key_check(".hidden", &e), -1);
    assert_int_equal(zcg_unified_key_check("", &e), -1);
    assert_int_equal(zcg_unified_key_check("nodot", &e), -1);
    assert_int_equal(zcg_unified_key_check("memory.high\n", &e), -1);
}

/* ------------------------------------------------------------ v1 */

static void make_memory_v1(const char *dir, bool memsw)
{
    for (size_t i = 0; i < ZARRAY_SIZE(memory_v1_files); i++)
        fake_file(dir, memory_v1_files[i], "");
    if (memsw)
        fake_file(dir, "memory.memsw.limit_in_bytes", "9223372036854771712");
}

static void test_v1_memory(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_memory m = {.has_limit = true, .limit = 4096,
                             .has_reservation = true, .reservation = 2048,
                             .has_swap = true, .swap = 8192,
                             .has_swappiness = true, .swappiness = 10,
                             .has_disable_oom_killer = true,
                             .disable_oom_killer = true};
    make_memory_v1(dir, true);
    assert_int_equal(zcg_v1_memory(dir, &m, &e), 0);
    assert_string_equal(fake_read(dir, "memory.limit_in_bytes"), "4096");
    assert_string_equal(fake_read(dir, "memory.soft_limit_in_bytes"), "2048");
    assert_string_equal(fake_read(dir, "memory.memsw.limit_in_bytes"), "8192");
    assert_string_equal(fake_read(dir, "memory.swappiness"), "10");
    assert_string_equal(fake_read(dir, "memory.oom_control"), "1");

    /* lifting the limit lifts memsw too */
    struct zspec_memory unl = {.has_limit = true, .limit = -1};
    assert_int_equal(zcg_v1_memory(dir, &unl, &e), 0);
    assert_string_equal(fake_read(dir, "memory.limit_in_bytes"), "-1");
    assert_string_equal(fake_read(dir, "memory.memsw.limit_in_bytes"), "-1");
}

static void test_v1_memory_errors(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    char want[PATH_MAX + 128];
    struct zspec_memory small_swap = {.has_limit = true, .limit = 8192,
                                      .has_swap = true, .swap = 4096};
    struct zspec_memory swappy = {.has_swappiness = true, .swappiness = 101};
    struct zspec_memory lim = {.has_limit = true, .limit = 4096};

    make_memory_v1(dir, true);
    assert_int_equal(zcg_v1_memory(dir, &small_swap, &e), -1);
    assert_non_null(strstr(e.msg, "below memory.limit 8192"));
    assert_int_equal(zcg_v1_memory(dir, &swappy, &e), -1);
    assert_non_null(strstr(e.msg, "swappiness 101"));

    /* a missing control file: the error names the file and the value */
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/empty", dir);
    mkdir(sub, 0755);
    assert_int_equal(zcg_v1_memory(sub, &lim, &e), -1);
    snprintf(want, sizeof want,
             "cgroup: write %s/memory.limit_in_bytes \"4096\": no such file or directory", sub);
    assert_string_equal(e.msg, want);
    assert_int_equal(e.code, ENOENT);
}

static void test_v1_memory_without_swap_accounting(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_memory m = {.has_limit = true, .limit = 4096,
                             .has_swap = true, .swap = 8192};
    make_memory_v1(dir, false);
    assert_int_equal(zcg_v1_memory(dir, &m, &e), 0);
    assert_string_equal(fake_read(dir, "memory.limit_in_bytes"), "4096");
    assert_string_equal(fake_read(dir, "memory.memsw.limit_in_bytes"),
                        "<missing>");
}

static void test_v1_cpu(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_cpu c = {.has_shares = true, .shares = 512,
                          .has_quota = true, .quota = 50000,
                          .has_period = true, .period = 100000,
                          .has_burst = true, .burst = 1000,
                          .has_idle = true, .idle = 0};
    struct zspec_cpu unl = {.has_quota = true, .quota = -1};
    const char *files[] = {"cpu.shares", "cpu.cfs_quota_us",
                           "cpu.cfs_period_us", "cpu.cfs_burst_us", "cpu.idle"};
    for (size_t i = 0; i < ZARRAY_SIZE(files); i++)
        fake_file(dir, files[i], "untouched");
    assert_int_equal(zcg_v1_cpu(dir, &c, &e), 0);
    assert_string_equal(fake_read(dir, "cpu.shares"), "512");
    assert_string_equal(fake_read(dir, "cpu.cfs_quota_us"), "50000");
    assert_string_equal(fake_read(dir, "cpu.cfs_period_us"), "100000");
    assert_string_equal(fake_read(dir, "cpu.cfs_burst_us"), "1000");
    assert_string_equal(fake_read(dir, "cpu.idle"), "0");
    assert_int_equal(zcg_v1_cpu(dir, &unl, &e), 0);
    assert_string_equal(fake_read(dir, "cpu.cfs_quota_us"), "-1");
    assert_string_equal(fake_read(dir, "cpu.cfs_period_us"), "100000");
}

static void test_v1_cpuset_and_inherit(void **state)
{
    const char *root = *state;
    char child[PATH_MAX];
    struct zerr e = {0};
    struct zspec_cpu c = {.cpus = "1", .mems = "0"};

    snprintf(child, sizeof child, "%s/child", root);
    mkdir(child, 0755);
    fake_file(root, "cpuset.cpus", "0-3\n");
    fake_file(root, "cpuset.mems", "0\n");
    fake_file(child, "cpuset.cpus", "\n");
    fake_file(child, "cpuset.mems", "");
    assert_int_equal(zcg_v1_cpuset_inherit(root, child, &e), 0);
    assert_string_equal(fake_read(child, "cpuset.cpus"), "0-3");
    assert_string_equal(fake_read(child, "cpuset.mems"), "0");
    /* a level that already has values keeps them */
    fake_file(child, "cpuset.cpus", "2\n");
    assert_int_equal(zcg_v1_cpuset_inherit(root, child, &e), 0);
    assert_string_equal(fake_read(child, "cpuset.cpus"), "2\n");
    assert_int_equal(zcg_v1_cpuset(child, &c, &e), 0);
    assert_string_equal(fake_read(child, "cpuset.cpus"), "1");
    assert_string_equal(fake_read(child, "cpuset.mems"), "0");
}

static void test_v1_pids(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_pids p = {.has_limit = true, .limit = 64};
    struct zspec_pids none = {.has_limit = true, .limit = -1};
    fake_file(dir, "pids.max", "");
    assert_int_equal(zcg_v1_pids(dir, &p, &e), 0);
    assert_string_equal(fake_read(dir, "pids.max"), "64");
    assert_int_equal(zcg_v1_pids(dir, &none, &e), 0);
    assert_string_equal(fake_read(dir, "pids.max"), "max");
}

/* devices.allow/deny as FIFOs keep every write, so the order shows. */
static void test_v1_devices_in_order(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    char p[PATH_MAX], buf[256];
    int allow_fd, deny_fd;
    ssize_t n;
    struct zspec_device_cgroup rules[] = {
        {.allow = false, .access = "rwm"},
        {.allow = true, .type = "c", .has_major = true, .major = 1,
         .has_minor = true, .minor = 3, .access = "rwm"},
        {.allow = true, .type = "c", .has_major = true, .major = 136,
         .access = "rw"},
        {.allow = false, .type = "b", .has_major = true, .major = 8,
         .has_minor = true, .minor = 0, .access = "m"},
    };
    snprintf(p, sizeof p, "%s/devices.allow", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    allow_fd = open(p, O_RDONLY | O_NONBLOCK);
    snprintf(p, sizeof p, "%s/devices.deny", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    deny_fd = open(p, O_RDONLY | O_NONBLOCK);
    assert_true(allow_fd >= 0 && deny_fd >= 0);

    assert_int_equal(zcg_v1_devices(dir, rules, ZARRAY_SIZE(rules), &e), 0);
    n = read(allow_fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    assert_string_equal(buf, "c 1:3 rwmc 136:* rw");
    n = read(deny_fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    assert_string_equal(buf, "a *:* rwmb 8:0 m");
    close(allow_fd);
    close(deny_fd);

    /* a bad rule is reported with its index and nothing after it written */
    struct zspec_device_cgroup bad[] = {{.allow = true, .type = "q"}};
    assert_int_equal(zcg_v1_devices(dir, bad, 1, &e), -1);
    assert_non_null(strstr(e.msg, "linux.resources.devices[0]"));
}

/* ------------------------------------------------------------ v2 */

static void test_v2_memory(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_memory m = {.has_limit = true, .limit = 4096,
                             .has_reservation = true, .reservation = 1024,
                             .has_swap = true, .swap = 12288,
                             .has_swappiness = true, .swappiness = 60};
    struct zspec_memory unl = {.has_limit = true, .limit = -1};
    fake_file(dir, "memory.max", "");
    fake_file(dir, "memory.low", "");
    fake_file(dir, "memory.swap.max", "");
    assert_int_equal(zcg_v2_memory(dir, &m, &e), 0);
    assert_string_equal(fake_read(dir, "memory.max"), "4096");
    assert_string_equal(fake_read(dir, "memory.low"), "1024");
    assert_string_equal(fake_read(dir, "memory.swap.max"), "8192");
    assert_int_equal(zcg_v2_memory(dir, &unl, &e), 0);
    assert_string_equal(fake_read(dir, "memory.max"), "max");
    assert_string_equal(fake_read(dir, "memory.swap.max"), "max");
}

static void test_v2_cpu(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_cpu c = {.has_shares = true, .shares = 1024,
                          .has_quota = true, .quota = 50000,
                          .has_period = true, .period = 100000,
                          .has_burst = true, .burst = 2000};
    struct zspec_cpu unl = {.has_quota = true, .quota = -1,
                            .has_period = true, .period = 200000};
    struct zspec_cpu quota_only = {.has_quota = true, .quota = 30000};
    struct zspec_cpu period_only = {.has_period = true, .period = 50000};
    struct zspec_cpu rt = {.has_realtime_runtime = true, .realtime_runtime = 5};
    fake_file(dir, "cpu.weight", "");
    fake_file(dir, "cpu.max", "");
    fake_file(dir, "cpu.max.burst", "");
    assert_int_equal(zcg_v2_cpu(dir, &c, &e), 0);
    assert_string_equal(fake_read(dir, "cpu.weight"), "39");
    assert_string_equal(fake_read(dir, "cpu.max"), "50000 100000");
    assert_string_equal(fake_read(dir, "cpu.max.burst"), "2000");
    assert_int_equal(zcg_v2_cpu(dir, &unl, &e), 0);
    assert_string_equal(fake_read(dir, "cpu.max"), "max 200000");
    assert_int_equal(zcg_v2_cpu(dir, &quota_only, &e), 0);
    assert_string_equal(fake_read(dir, "cpu.max"), "30000");
    fake_file(dir, "cpu.max", "20000 100000\n");
    assert_int_equal(zcg_v2_cpu(dir, &period_only, &e), 0);
    assert_string_equal(fake_read(dir, "cpu.max"), "20000 50000");
    assert_int_equal(zcg_v2_cpu(dir, &rt, &e), -1);
    assert_non_null(strstr(e.msg, "not supported on cgroup v2"));
}

static void test_v2_cpuset_pids(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_cpu c = {.cpus = "0-1", .mems = "0"};
    struct zspec_pids p = {.has_limit = true, .limit = 0};
    fake_file(dir, "cpuset.cpus", "");
    fake_file(dir, "cpuset.mems", "");
    fake_file(dir, "pids.max", "");
    assert_int_equal(zcg_v2_cpuset(dir, &c, &e), 0);
    assert_string_equal(fake_read(dir, "cpuset.cpus"), "0-1");
    assert_string_equal(fake_read(dir, "cpuset.mems"), "0");
    assert_int_equal(zcg_v2_pids(dir, &p, &e), 0);
    assert_string_equal(fake_read(dir, "pids.max"), "max");
}

static void test_v2_unified(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_kv ok[] = {{"memory.high", "65536"}, {"cgroup.max.depth", "3"}};
    struct zspec_kv bad[] = {{"memory.high", "1"}, {"../../etc/passwd", "x"}};
    struct zspec_kv unavailable[] = {{"io.max", "8:0 rbps=1"}};
    fake_file(dir, "cgroup.controllers", "cpu memory pids");
    fake_file(dir, "memory.high", "max");
    fake_file(dir, "cgroup.max.depth", "max");
    assert_int_equal(zcg_v2_unified(dir, ok, 2, &e), 0);
    assert_string_equal(fake_read(dir, "memory.high"), "65536");
    assert_string_equal(fake_read(dir, "cgroup.max.depth"), "3");
    /* all keys are checked before the first write */
    assert_int_equal(zcg_v2_unified(dir, bad, 2, &e), -1);
    assert_non_null(strstr(e.msg, "../../etc/passwd"));
    assert_string_equal(fake_read(dir, "memory.high"), "65536");
    assert_int_equal(zcg_v2_unified(dir, unavailable, 1, &e), -1);
    assert_non_null(strstr(e.msg, "controller \"io\" is not available"));
}

static void test_v2_enable_controllers(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    fake_file(dir, "cgroup.controllers", "cpuset cpu memory pids\n");
    fake_file(dir, "cgroup.subtree_control", "memory\n");
    assert_int_equal(zcg_v2_enable_controllers(dir, &e), 0);
    assert_string_equal(fake_read(dir, "cgroup.subtree_control"),
                        "+cpuset +cpu +pids");
    /* nothing missing: nothing written */
    fake_file(dir, "cgroup.subtree_control", "cpuset cpu memory pids\n");
    assert_int_equal(zcg_v2_enable_controllers(dir, &e), 0);
    assert_string_equal(fake_read(dir, "cgroup.subtree_control"),
                        "cpuset cpu memory pids\n");
}

#define DIRTEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares_to_weight),
        cmocka_unit_test(test_swap_conversion),
        cmocka_unit_test(test_pids_and_limit_values),
        cmocka_unit_test(test_device_rules),
        cmocka_unit_test(test_unified_keys),
        DIRTEST(test_v1_memory),
        DIRTEST(test_v1_memory_errors),
        DIRTEST(test_v1_memory_without_swap_accounting),
        DIRTEST(test_v1_cpu),
        DIRTEST(test_v1_cpuset_and_inherit),
        DIRTEST(test_v1_pids),
        DIRTEST(test_v1_devices_in_order),
        DIRTEST(test_v2_memory),
        DIRTEST(test_v2_cpu),
        DIRTEST(test_v2_cpuset_pids),
        DIRTEST(test_v2_unified),
        DIRTEST(test_v2_enable_controllers),
    };
    return cmocka_run_group_tests_name("cgroups_resources", tests, NULL, NULL);
}
