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

/* ------------------------------------------------------------ blkio, io */

static void test_blkio_weight_to_io(void **state)
{
    struct zerr e = {0};
    (void)state;
    /* 1 + (w - 10) * 9999 / 990 */
    assert_int_equal(zcg_blkio_weight_to_io(0), 0);
    assert_int_equal(zcg_blkio_weight_to_io(10), 1);
    assert_int_equal(zcg_blkio_weight_to_io(100), 910);
    assert_int_equal(zcg_blkio_weight_to_io(500), 4950);
    assert_int_equal(zcg_blkio_weight_to_io(1000), 10000);
    assert_int_equal(zcg_blkio_weight_to_io(5), 1);        /* clamped */
    assert_int_equal(zcg_blkio_weight_to_io(2000), 10000);
    assert_int_equal(zcg_blkio_weight_check("w", 0, &e), 0);
    assert_int_equal(zcg_blkio_weight_check("w", 10, &e), 0);
    assert_int_equal(zcg_blkio_weight_check("w", 1001, &e), -1);
    assert_string_equal(e.msg, "w 1001: expected 10..1000");
}

static void test_io_max_lines(void **state)
{
    struct zerr e = {0};
    struct zspec_throttle_device rbps[] = {{8, 0, 1048576}};
    struct zspec_throttle_device wiops[] = {{8, 0, 0}};
    struct zspec_throttle_device riops[] = {{254, 16, 100}};
    struct zspec_throttle_device bad[] = {{-1, 0, 1}};
    struct zspec_blkio b = {.throttle_read_bps = rbps, .n_throttle_read_bps = 1,
                            .throttle_write_iops = wiops,
                            .n_throttle_write_iops = 1,
                            .throttle_read_iops = riops,
                            .n_throttle_read_iops = 1};
    struct zspec_blkio b_bad = {.throttle_write_bps = bad,
                                .n_throttle_write_bps = 1};
    struct zcg_io_max *m = NULL;
    size_t n = 0;
    char line[160];
    (void)state;
    assert_int_equal(zcg_io_max_collect(&b, &m, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(zcg_io_max_line(&m[0], line, sizeof line, &e), 0);
    assert_string_equal(line, "8:0 rbps=1048576 wiops=max");
    assert_int_equal(zcg_io_max_line(&m[1], line, sizeof line, &e), 0);
    assert_string_equal(line, "254:16 riops=100");
    free(m);
    assert_int_equal(zcg_io_max_collect(&b_bad, &m, &n, &e), -1);
    assert_non_null(strstr(e.msg, "throttleWriteBpsDevice[0]: device -1:0"));
    assert_true(zcg_blkio_requested(&b));
    struct zspec_blkio nothing = {.has_weight = true, .weight = 0};
    assert_false(zcg_blkio_requested(&nothing));
    assert_false(zcg_blkio_requested(NULL));
}

static void test_v1_blkio(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_weight_device wd[] = {{.major = 8, .minor = 0,
                                        .has_weight = true, .weight = 300}};
    struct zspec_throttle_device rb[] = {{8, 0, 1048576}};
    struct zspec_throttle_device wb[] = {{8, 16, 2097152}};
    struct zspec_throttle_device ri[] = {{8, 0, 100}};
    struct zspec_throttle_device wi[] = {{8, 0, 0}};
    struct zspec_blkio b = {.has_weight = true, .weight = 500,
                            .weight_device = wd, .n_weight_device = 1,
                            .throttle_read_bps = rb, .n_throttle_read_bps = 1,
                            .throttle_write_bps = wb, .n_throttle_write_bps = 1,
                            .throttle_read_iops = ri, .n_throttle_read_iops = 1,
                            .throttle_write_iops = wi,
                            .n_throttle_write_iops = 1};
    const char *files[] = {"blkio.weight", "blkio.weight_device",
                           "blkio.throttle.read_bps_device",
                           "blkio.throttle.write_bps_device",
                           "blkio.throttle.read_iops_device",
                           "blkio.throttle.write_iops_device"};
    for (size_t i = 0; i < ZARRAY_SIZE(files); i++)
        fake_file(dir, files[i], "");
    assert_int_equal(zcg_v1_blkio(dir, &b, &e), 0);
    assert_string_equal(fake_read(dir, "blkio.weight"), "500");
    assert_string_equal(fake_read(dir, "blkio.weight_device"), "8:0 300");
    assert_string_equal(fake_read(dir, "blkio.throttle.read_bps_device"),
                        "8:0 1048576");
    assert_string_equal(fake_read(dir, "blkio.throttle.write_bps_device"),
                        "8:16 2097152");
    assert_string_equal(fake_read(dir, "blkio.throttle.read_iops_device"),
                        "8:0 100");
    assert_string_equal(fake_read(dir, "blkio.throttle.write_iops_device"),
                        "8:0 0");
}

static void test_v1_blkio_bfq_and_errors(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    char sub[PATH_MAX], want[PATH_MAX + 200];
    struct zspec_weight_device wd[] = {{.major = 8, .minor = 0,
                                        .has_weight = true, .weight = 200}};
    struct zspec_weight_device leafd[] = {{.major = 8, .minor = 0,
                                           .has_leaf_weight = true,
                                           .leaf_weight = 200}};
    struct zspec_blkio b = {.has_weight = true, .weight = 100,
                            .weight_device = wd, .n_weight_device = 1};
    struct zspec_blkio leaf = {.has_leaf_weight = true, .leaf_weight = 100};
    struct zspec_blkio leaf_dev = {.weight_device = leafd, .n_weight_device = 1};
    struct zspec_blkio range = {.has_weight = true, .weight = 5};
    struct zspec_throttle_device rb[] = {{8, 0, 1}};
    struct zspec_blkio thr = {.throttle_read_bps = rb, .n_throttle_read_bps = 1};

    /* only BFQ's files: the weights go there */
    fake_file(dir, "blkio.bfq.weight", "");
    fake_file(dir, "blkio.bfq.weight_device", "");
    assert_int_equal(zcg_v1_blkio(dir, &b, &e), 0);
    assert_string_equal(fake_read(dir, "blkio.bfq.weight"), "100");
    assert_string_equal(fake_read(dir, "blkio.bfq.weight_device"), "8:0 200");
    assert_int_equal(zcg_v1_blkio(dir, &leaf, &e), -1);
    assert_non_null(strstr(e.msg, "linux.resources.blockIO.leafWeight: "));
    assert_non_null(strstr(e.msg, "no blkio.leaf_weight"));
    assert_int_equal(zcg_v1_blkio(dir, &leaf_dev, &e), -1);
    assert_non_null(strstr(e.msg, "weightDevice[0].leafWeight"));
    assert_int_equal(zcg_v1_blkio(dir, &range, &e), -1);
    assert_string_equal(e.msg,
                        "linux.resources.blockIO.weight 5: expected 10..1000");

    /* neither weight file */
    snprintf(sub, sizeof sub, "%s/none", dir);
    mkdir(sub, 0755);
    assert_int_equal(zcg_v1_blkio(sub, &b, &e), -1);
    assert_int_equal(e.code, ENOTSUP);
    assert_non_null(strstr(e.msg, "linux.resources.blockIO.weight: "));
    /* a missing throttle file: the error names the file and the value */
    assert_int_equal(zcg_v1_blkio(sub, &thr, &e), -1);
    snprintf(want, sizeof want, "cgroup: write %s/blkio.throttle.read_bps_device"
             " \"8:0 1\": no such file or directory", sub);
    assert_string_equal(e.msg, want);
}

static void test_v2_io(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    char sub[PATH_MAX];
    struct zspec_weight_device wd[] = {{.major = 8, .minor = 0,
                                        .has_weight = true, .weight = 1000,
                                        .has_leaf_weight = true,
                                        .leaf_weight = 10}};
    struct zspec_throttle_device wb[] = {{8, 0, 4096}};
    struct zspec_throttle_device rb[] = {{8, 0, 8192}};
    struct zspec_blkio b = {.has_weight = true, .weight = 100,
                            .throttle_write_bps = wb, .n_throttle_write_bps = 1,
                            .throttle_read_bps = rb, .n_throttle_read_bps = 1};
    struct zspec_blkio dev = {.weight_device = wd, .n_weight_device = 1};

    fake_file(dir, "io.weight", "default 100");
    fake_file(dir, "io.max", "");
    assert_int_equal(zcg_v2_io(dir, &b, &e), 0);
    assert_string_equal(fake_read(dir, "io.weight"), "default 910");
    assert_string_equal(fake_read(dir, "io.max"), "8:0 rbps=8192 wbps=4096");
    assert_int_equal(zcg_v2_io(dir, &dev, &e), 0);
    assert_string_equal(fake_read(dir, "io.weight"), "8:0 10000");

    /* with BFQ the blkio weight is written as is */
    fake_file(dir, "io.bfq.weight", "default 100");
    assert_int_equal(zcg_v2_io(dir, &b, &e), 0);
    assert_string_equal(fake_read(dir, "io.bfq.weight"), "default 100");
    assert_int_equal(zcg_v2_io(dir, &dev, &e), 0);
    assert_string_equal(fake_read(dir, "io.bfq.weight"), "8:0 1000");

    snprintf(sub, sizeof sub, "%s/none", dir);
    mkdir(sub, 0755);
    assert_int_equal(zcg_v2_io(sub, &b, &e), -1);
    assert_int_equal(e.code, ENOTSUP);
    assert_non_null(strstr(e.msg, "neither io.bfq.weight nor io.weight"));
}

/* ------------------------------------------------------------ hugetlb */

static void test_hugetlb(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_hugepage_limit h[] = {{"2MB", 4194304}, {"1GB", 0}};
    struct zspec_hugepage_limit odd[] = {{"3MB", 1}};
    struct zspec_hugepage_limit bad[] = {{"2MB/../x", 1}};
    (void)state;

    assert_int_equal(zcg_hugepage_size_check("64KB", &e), 0);
    assert_int_equal(zcg_hugepage_size_check("2mb", &e), -1);
    assert_int_equal(zcg_hugepage_size_check("MB", &e), -1);
    assert_int_equal(zcg_hugepage_size_check(NULL, &e), -1);

    /* v1: limit_in_bytes, plus rsvd where the kernel has it */
    fake_file(dir, "hugetlb.2MB.limit_in_bytes", "");
    fake_file(dir, "hugetlb.2MB.rsvd.limit_in_bytes", "");
    fake_file(dir, "hugetlb.1GB.limit_in_bytes", "");
    assert_int_equal(zcg_v1_hugetlb(dir, h, 2, &e), 0);
    assert_string_equal(fake_read(dir, "hugetlb.2MB.limit_in_bytes"), "4194304");
    assert_string_equal(fake_read(dir, "hugetlb.2MB.rsvd.limit_in_bytes"),
                        "4194304");
    assert_string_equal(fake_read(dir, "hugetlb.1GB.limit_in_bytes"), "0");
    assert_string_equal(fake_read(dir, "hugetlb.1GB.rsvd.limit_in_bytes"),
                        "<missing>");
    assert_int_equal(zcg_v1_hugetlb(dir, odd, 1, &e), -1);
    assert_non_null(strstr(e.msg, "linux.resources.hugepageLimits[0]: page "
                           "size \"3MB\" is not supported on this host"));
    assert_int_equal(zcg_v1_hugetlb(dir, bad, 1, &e), -1);
    assert_non_null(strstr(e.msg, "hugepageLimits[0]: pageSize \"2MB/../x\""));

    /* v2: max and rsvd.max */
    fake_file(dir, "hugetlb.2MB.max", "max");
    fake_file(dir, "hugetlb.2MB.rsvd.max", "max");
    fake_file(dir, "hugetlb.1GB.max", "max");
    assert_int_equal(zcg_v2_hugetlb(dir, h, 2, &e), 0);
    assert_string_equal(fake_read(dir, "hugetlb.2MB.max"), "4194304");
    assert_string_equal(fake_read(dir, "hugetlb.2MB.rsvd.max"), "4194304");
    assert_string_equal(fake_read(dir, "hugetlb.1GB.max"), "0");
    assert_int_equal(zcg_v2_hugetlb(dir, odd, 1, &e), -1);
    assert_non_null(strstr(e.msg, "hugetlb.3MB.max"));
}

/* ------------------------------------------------------------ net, rdma */

static void test_network_v1(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_net_priority prio[] = {{"eth0", 5}};
    struct zspec_net_priority bad[] = {{"eth0 1\nlo", 5}};
    struct zspec_network net = {.has_class_id = true, .class_id = 0x100001,
                                .priorities = prio, .n_priorities = 1};
    struct zspec_network net_bad = {.priorities = bad, .n_priorities = 1};
    fake_file(dir, "net_cls.classid", "0");
    fake_file(dir, "net_prio.ifpriomap", "");
    assert_int_equal(zcg_v1_net_cls(dir, &net, &e), 0);
    assert_string_equal(fake_read(dir, "net_cls.classid"), "1048577");
    assert_int_equal(zcg_v1_net_prio(dir, &net, &e), 0);
    assert_string_equal(fake_read(dir, "net_prio.ifpriomap"), "eth0 5");
    assert_int_equal(zcg_v1_net_prio(dir, &net_bad, &e), -1);
    assert_non_null(strstr(e.msg, "linux.resources.network.priorities[0]"));
}

static void test_rdma(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    char line[160];
    struct zspec_rdma both = {"mlx4_0", true, 2, true, 2000};
    struct zspec_rdma handles = {"mlx5_1", true, 0, false, 0};
    struct zspec_rdma none = {"mlx4_0", false, 0, false, 0};
    struct zspec_rdma bad = {"mlx4_0 hca_handle=1", true, 1, false, 0};
    assert_int_equal(zcg_rdma_line(&both, line, sizeof line, &e), 0);
    assert_string_equal(line, "mlx4_0 hca_handle=2 hca_object=2000");
    assert_int_equal(zcg_rdma_line(&handles, line, sizeof line, &e), 0);
    assert_string_equal(line, "mlx5_1 hca_handle=0");
    assert_int_equal(zcg_rdma_line(&none, line, sizeof line, &e), -1);
    assert_int_equal(zcg_rdma_line(&bad, line, sizeof line, &e), -1);
    fake_file(dir, "rdma.max", "");
    assert_int_equal(zcg_rdma(dir, &both, 1, &e), 0);
    assert_string_equal(fake_read(dir, "rdma.max"),
                        "mlx4_0 hca_handle=2 hca_object=2000");
    assert_int_equal(zcg_rdma(dir, &none, 1, &e), -1);
    assert_non_null(strstr(e.msg, "linux.resources.rdma: device \"mlx4_0\""));
}

/* ------------------------------------------------------------ memory extras */

static void test_memory_extras(void **state)
{
    const char *dir = *state;
    struct zerr e = {0};
    struct zspec_memory m = {.has_kernel = true, .kernel = 1048576,
                             .has_kernel_tcp = true, .kernel_tcp = 65536,
                             .has_use_hierarchy = true, .use_hierarchy = true};
    struct zspec_memory check = {.has_limit = true, .limit = 4096,
                                 .has_check_before_update = true,
                                 .check_before_update = true};
    struct zspec_memory ok = check;
    char sub[PATH_MAX];

    make_memory_v1(dir, false);
    fake_file(dir, "memory.kmem.limit_in_bytes", "");
    fake_file(dir, "memory.kmem.tcp.limit_in_bytes", "");
    fake_file(dir, "memory.use_hierarchy", "");
    assert_int_equal(zcg_v1_memory(dir, &m, &e), 0);
    assert_string_equal(fake_read(dir, "memory.kmem.limit_in_bytes"), "1048576");
    assert_string_equal(fake_read(dir, "memory.kmem.tcp.limit_in_bytes"),
                        "65536");
    assert_string_equal(fake_read(dir, "memory.use_hierarchy"), "1");

    /* kernels without kmem files: ignored with a warning */
    snprintf(sub, sizeof sub, "%s/nokmem", dir);
    mkdir(sub, 0755);
    m.has_use_hierarchy = false;
    assert_int_equal(zcg_v1_memory(sub, &m, &e), 0);

    /* checkBeforeUpdate refuses a limit below the current usage */
    fake_file(dir, "memory.usage_in_bytes", "8192\n");
    fake_file(dir, "memory.limit_in_bytes", "untouched");
    assert_int_equal(zcg_v1_memory(dir, &check, &e), -1);
    assert_int_equal(e.code, EBUSY);
    assert_non_null(strstr(e.msg, "linux.resources.memory.checkBeforeUpdate: "
                           "the new limit 4096 is below the current usage 8192"));
    assert_string_equal(fake_read(dir, "memory.limit_in_bytes"), "untouched");
    ok.limit = 16384;
    assert_int_equal(zcg_v1_memory(dir, &ok, &e), 0);
    assert_string_equal(fake_read(dir, "memory.limit_in_bytes"), "16384");

    /* v2: memory.current; kernel memory and useHierarchy are ignored */
    fake_file(dir, "memory.current", "8192\n");
    fake_file(dir, "memory.max", "max");
    assert_int_equal(zcg_v2_memory(dir, &check, &e), -1);
    assert_non_null(strstr(e.msg, "memory.current"));
    assert_string_equal(fake_read(dir, "memory.max"), "max");
    assert_int_equal(zcg_v2_memory(dir, &ok, &e), 0);
    assert_string_equal(fake_read(dir, "memory.max"), "16384");
    m.has_use_hierarchy = true;
    m.use_hierarchy = false;
    assert_int_equal(zcg_v2_memory(sub, &m, &e), 0);
}

/* ------------------------------------------------------------ lookup */

static void test_resource_dir_hybrid(void **state)
{
    const char *root = *state;
    char v1path[PATH_MAX], v2path[PATH_MAX];
    char *blkio_ctrls[] = {"blkio", NULL};
    struct zcg_dir dirs[2] = {
        {.key = "blkio", .mount_name = "blkio", .controllers = blkio_ctrls,
         .rel = "/x", .path = v1path},
        {.key = ZCG_V2_KEY, .mount_name = "unified", .v2 = true, .rel = "/x",
         .path = v2path},
    };
    struct zcgroup cg = {.mode = ZCG_HYBRID, .rel = "/x", .d = dirs, .n = 2};
    struct zerr e = {0};
    const struct zcg_dir *d;

    snprintf(v1path, sizeof v1path, "%s/blkio", root);
    snprintf(v2path, sizeof v2path, "%s/unified", root);
    mkdir(v1path, 0755);
    mkdir(v2path, 0755);
    fake_file(v2path, "cgroup.controllers", "hugetlb pids\n");
    d = zcg_resource_dir(&cg, "linux.resources.blockIO", "blkio", "io", &e);
    assert_ptr_equal(d, &dirs[0]);
    d = zcg_resource_dir(&cg, "linux.resources.hugepageLimits", "hugetlb",
                         "hugetlb", &e);
    assert_ptr_equal(d, &dirs[1]);
    d = zcg_resource_dir(&cg, "linux.resources.rdma", "rdma", "rdma", &e);
    assert_null(d);
    assert_string_equal(e.msg, "linux.resources.rdma: the rdma controller is "
                        "not available on this host");
    d = zcg_resource_dir(&cg, "linux.resources.network.classID", "net_cls",
                         NULL, &e);
    assert_null(d);
    assert_int_equal(e.code, ENOENT);
    assert_string_equal(e.msg, "linux.resources.network.classID: the net_cls "
                        "controller is not available on this host");
    /* pure v2 names the v2 controller */
    dirs[1].mount_name = "";
    cg.d = &dirs[1];
    cg.n = 1;
    cg.mode = ZCG_V2;
    assert_null(zcg_resource_dir(&cg, "linux.resources.blockIO", "blkio", "io",
                                 &e));
    assert_string_equal(e.msg, "linux.resources.blockIO: the io controller is "
                        "not available on this host");
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
        cmocka_unit_test(test_blkio_weight_to_io),
        cmocka_unit_test(test_io_max_lines),
        DIRTEST(test_v1_blkio),
        DIRTEST(test_v1_blkio_bfq_and_errors),
        DIRTEST(test_v2_io),
        DIRTEST(test_hugetlb),
        DIRTEST(test_network_v1),
        DIRTEST(test_rdma),
        DIRTEST(test_memory_extras),
        DIRTEST(test_resource_dir_hybrid),
    };
    return cmocka_run_group_tests_name("cgroups_resources", tests, NULL, NULL);
}
