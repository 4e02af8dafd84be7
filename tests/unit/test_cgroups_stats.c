/* cgroups: the OOM-kill counter and the detailed stats (per-cpu usage,
 * memory.stat, hugetlb, blkio/io) read from fake v1 and v2 trees. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/internal.h"
#include "core/cleanup.h"
#include "tests/unit/test_cgroups_fake.h"

struct fake {
    char *root;
    struct zcg_layout l;
    struct zcgroup *cg;
    char leaf[PATH_MAX]; /* v2: the container's dir */
};

static int setup_v2(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    struct zerr e = {0};
    if (!f || !(f->root = fake_root()))
        return -1;
    fake_file(f->root, "cgroup.controllers", "cpu memory pids io hugetlb\n");
    fake_file(f->root, "cgroup.subtree_control", "");
    if (zcg_layout_v2(f->root, &f->l, &e) < 0 ||
        !(f->cg = zcg_create_in(&f->l, NULL, "/c", "id", false, false, &e))) {
        fail_msg("%s", e.msg);
        return -1;
    }
    snprintf(f->leaf, sizeof f->leaf, "%s/c", f->root);
    fake_file(f->leaf, "cgroup.controllers", "cpu memory pids io hugetlb\n");
    *state = f;
    return 0;
}

static const char *const v1_ctrls[] = {"cpuacct", "memory", "blkio"};

static int setup_v1(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    struct zerr e = {0};
    char text[4096];
    size_t len = 0;
    if (!f || !(f->root = fake_root()))
        return -1;
    for (size_t i = 0; i < ZARRAY_SIZE(v1_ctrls); i++) {
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%zu 1 0:%zu / %s/%s rw - cgroup cgroup rw,%s\n",
                                40 + i, 30 + i, f->root, v1_ctrls[i], v1_ctrls[i]);
        fake_mkdir(f->root, v1_ctrls[i]);
    }
    if (zcg_layout_parse_mountinfo(text, &f->l, &e) < 0 ||
        !(f->cg = zcg_create_in(&f->l, NULL, "/c", "id", false, false, &e))) {
        fail_msg("%s", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    zcg_free(f->cg);
    zcg_layout_free(&f->l);
    fake_remove(f->root);
    free(f);
    return 0;
}

static void v1_file(struct fake *f, const char *ctrl, const char *file, const char *text)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s/c", f->root, ctrl);
    fake_file(dir, file, text);
}

static void test_oom_count_v2(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    uint64_t n = 99;

    fake_file(f->leaf, "memory.events", "low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\n");
    assert_int_equal(zcg_oom_count(f->cg, &n, &e), 0);
    assert_int_equal(n, 2);
    /* a kernel before 4.13 has no oom_kill line */
    fake_file(f->leaf, "memory.events", "low 0\nhigh 0\nmax 7\noom 3\n");
    assert_int_equal(zcg_oom_count(f->cg, &n, &e), -1);
    assert_int_equal(e.code, ENOTSUP);
    assert_non_null(strstr(e.msg, "memory.events"));
    /* no memory controller */
    fake_file(f->leaf, "cgroup.controllers", "cpu pids\n");
    assert_int_equal(zcg_oom_count(f->cg, &n, &e), -1);
    assert_int_equal(e.code, ENOENT);
}

static void test_oom_count_v1(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    uint64_t n = 0;

    v1_file(f, "memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
    assert_int_equal(zcg_oom_count(f->cg, &n, &e), 0);
    assert_int_equal(n, 5);
}

static void test_stats_v2_detail(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcg_stats st;

    fake_file(f->leaf, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
    fake_file(f->leaf, "memory.current", "4096\n");
    fake_file(f->leaf, "memory.max", "max\n");
    fake_file(f->leaf, "memory.events", "max 1\noom 1\noom_kill 1\n");
    fake_file(f->leaf, "memory.stat", "anon 4096\nfile 8192\nbogus line\nkernel_stack 16384\n");
    fake_file(f->leaf, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
                                  "253:1 rbytes=5 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
    fake_file(f->leaf, "hugetlb.2MB.current", "2097152\n");
    fake_file(f->leaf, "hugetlb.2MB.events", "max 4\n");
    fake_file(f->leaf, "hugetlb.2MB.rsvd.current", "0\n");
    fake_file(f->leaf, "pids.current", "3\n");
    fake_file(f->leaf, "pids.max", "max\n");

    assert_int_equal(zcg_stats(f->cg, &st, &e), 0);
    assert_int_equal(st.cpu_usage_ns, 1500000);
    assert_int_equal(st.n_cpu_percpu, 0); /* v2 has no per-cpu usage */
    assert_true(st.mem_limit == UINT64_MAX);
    assert_int_equal(st.oom_kill_count, 1);
    assert_int_equal(st.mem_cache, 8192);
    assert_int_equal(st.n_mem_raw, 3);
    assert_string_equal(st.mem_raw[0].key, "anon");
    assert_string_equal(st.mem_raw[2].key, "kernel_stack");
    assert_int_equal(st.mem_raw[2].value, 16384);
    assert_int_equal(st.n_hugetlb, 1);
    assert_string_equal(st.hugetlb[0].page_size, "2MB");
    assert_int_equal(st.hugetlb[0].usage, 2097152);
    assert_int_equal(st.hugetlb[0].failcnt, 4);
    assert_int_equal(st.n_io_bytes, 6);
    assert_int_equal(st.io_bytes[1].major, 8);
    assert_string_equal(st.io_bytes[1].op, "Write");
    assert_int_equal(st.io_bytes[1].value, 200);
    assert_int_equal(st.io_bytes[3].major, 253);
    assert_int_equal(st.io_bytes[3].minor, 1);
    assert_int_equal(st.io_bytes[3].value, 5);
    assert_int_equal(st.n_io_ops, 6);
    assert_string_equal(st.io_ops[0].op, "Read");
    assert_int_equal(st.io_ops[0].value, 1);
    assert_int_equal(st.pids_current, 3);
    assert_int_equal(st.pids_limit, 0);
    zcg_stats_clear(&st);
    assert_null(st.mem_raw);
    assert_int_equal(st.n_io_ops, 0);
}

static void test_stats_v1_detail(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcg_stats st;

    v1_file(f, "cpuacct", "cpuacct.usage", "60\n");
    v1_file(f, "cpuacct", "cpuacct.usage_percpu", "10 20 30 \n");
    v1_file(f, "cpuacct", "cpuacct.usage_percpu_user", "1 2 3 \n");
    v1_file(f, "cpuacct", "cpuacct.usage_percpu_sys", "9 18 27 \n");
    v1_file(f, "memory", "memory.limit_in_bytes", "16777216\n");
    v1_file(f, "memory", "memory.stat", "cache 0\nrss 4096\ntotal_cache 12\n");
    v1_file(f, "memory", "memory.oom_control", "oom_kill_disable 0\noom_kill 1\n");
    /* the CFQ files are empty here: the throttle layer's are used */
    v1_file(f, "blkio", "blkio.io_service_bytes_recursive", "Total 0\n");
    v1_file(f, "blkio", "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n");
    v1_file(f, "blkio", "blkio.throttle.io_serviced_recursive", "8:0 Read 1\nTotal 1\n");

    assert_int_equal(zcg_stats(f->cg, &st, &e), 0);
    assert_int_equal(st.cpu_usage_ns, 60);
    assert_int_equal(st.n_cpu_percpu, 3);
    assert_int_equal(st.cpu_percpu_ns[2], 30);
    assert_int_equal(st.n_cpu_percpu_user, 3);
    assert_int_equal(st.cpu_percpu_user_ns[1], 2);
    assert_int_equal(st.n_cpu_percpu_system, 3);
    assert_int_equal(st.cpu_percpu_system_ns[0], 9);
    assert_int_equal(st.mem_limit, 16777216);
    assert_int_equal(st.mem_cache, 12);
    assert_int_equal(st.n_mem_raw, 3);
    assert_int_equal(st.oom_kill_count, 1);
    assert_int_equal(st.n_hugetlb, 0); /* no hugetlb hierarchy */
    assert_int_equal(st.n_io_bytes, 5); /* the device's lines, not "Total N" */
    assert_string_equal(st.io_bytes[0].op, "Read");
    assert_int_equal(st.io_bytes[0].value, 4096);
    assert_string_equal(st.io_bytes[4].op, "Total");
    assert_int_equal(st.n_io_ops, 1);
    zcg_stats_clear(&st);
}

static void test_stats_vanished_cgroup(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcg_stats st;
    char dir[PATH_MAX];

    snprintf(dir, sizeof dir, "%s/memory/c", f->root);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(zcg_stats(f->cg, &st, &e), -1);
    assert_int_equal(e.code, ENOENT);
    assert_null(st.mem_raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oom_count_v2, setup_v2, teardown),
        cmocka_unit_test_setup_teardown(test_oom_count_v1, setup_v1, teardown),
        cmocka_unit_test_setup_teardown(test_stats_v2_detail, setup_v2, teardown),
        cmocka_unit_test_setup_teardown(test_stats_v1_detail, setup_v1, teardown),
        cmocka_unit_test_setup_teardown(test_stats_vanished_cgroup, setup_v1, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
