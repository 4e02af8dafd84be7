/* cgroups: host layout parsing, path resolution, and the zcgroup object
 * (create / serialize / open / apply dispatch / mounts / destroy) on fake
 * cgroupfs trees. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/internal.h"
#include "core/cleanup.h"
#include "tests/unit/test_cgroups_fake.h"

/* This host's hybrid layout, as /proc/self/mountinfo shows it. */
static const char hybrid_mountinfo[] =
    "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
    "rw,xattr,release_agent=/x,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 "
    "cgroup2 rw,nsdelegate\n";

static void test_v2_root_flags(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(zcg_v2_root_flags_from(hybrid_mountinfo, out, sizeof out), 1);
    assert_string_equal(out, "nsdelegate");
    assert_int_equal(zcg_v2_root_flags_from(
                         "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 "
                         "rw,seclabel,nsdelegate,memory_recursiveprot\n",
                         out, sizeof out), 1);
    assert_string_equal(out, "nsdelegate,memory_recursiveprot");
    assert_int_equal(zcg_v2_root_flags_from(
                         "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", out,
                         sizeof out), 1);
    assert_string_equal(out, "");
    /* pure v1: nothing to keep */
    assert_int_equal(zcg_v2_root_flags_from(
                         "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
                         out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(zcg_v2_root_flags_from(hybrid_mountinfo, out, 8), -ENAMETOOLONG);
}

static void test_layout_hybrid(void **state)
{
    struct zcg_layout l = {0};
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zcg_layout_parse_mountinfo(hybrid_mountinfo, &l, &e), 0);
    assert_int_equal(l.mode, ZCG_HYBRID);
    assert_int_equal(l.n, 6);
    assert_string_equal(l.h[0].key, "cpu");
    assert_string_equal(l.h[0].mountpoint, "/sys/fs/cgroup/cpu");
    assert_string_equal(l.h[4].key, "name=systemd");
    assert_false(l.h[4].v2);
    assert_string_equal(l.h[5].key, ZCG_V2_KEY);
    assert_true(l.h[5].v2);
    assert_string_equal(l.h[5].mountpoint, "/sys/fs/cgroup/unified");
    assert_ptr_equal(zcg_layout_find_v1(&l, "memory"), &l.h[3]);
    assert_null(zcg_layout_find_v1(&l, "pids"));
    zcg_layout_free(&l);
}

static void test_layout_v1_comount_dup_escape(void **state)
{
    static const char text[] =
        /* the memory hierarchy bind-mounted elsewhere first */
        "50 1 0:32 /sub /mnt/mem rw - cgroup cgroup rw,memory\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "60 1 0:40 / /odd\\040dir rw - cgroup cgroup rw,pids\n"
        "61 1 0:41 / /none rw - cgroup cgroup rw,xattr\n";
    struct zcg_layout l = {0};
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zcg_layout_parse_mountinfo(text, &l, &e), 0);
    assert_int_equal(l.mode, ZCG_V1);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.h[0].mountpoint, "/sys/fs/cgroup/memory");
    assert_string_equal(l.h[0].mount_root, "/");
    assert_string_equal(l.h[1].key, "cpu,cpuacct");
    assert_string_equal(l.h[1].controllers[1], "cpuacct");
    assert_null(l.h[1].controllers[2]);
    assert_string_equal(l.h[2].mountpoint, "/odd dir");
    zcg_layout_free(&l);
}

static void test_layout_v2_and_none(void **state)
{
    static const char v2[] =
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
        /* a named v1 hierarchy beside pure v2 is not used */
        "70 1 0:50 / /run/named rw - cgroup cgroup rw,name=foo\n";
    struct zcg_layout l = {0};
    struct zerr e = {0};
    (void)state;
    assert_int_equal(zcg_layout_parse_mountinfo(v2, &l, &e), 0);
    assert_int_equal(l.mode, ZCG_V2);
    assert_int_equal(l.n, 1);
    assert_true(l.h[0].v2);
    zcg_layout_free(&l);
    assert_int_equal(zcg_layout_parse_mountinfo("22 1 0:21 / /proc rw - proc "
                                                "proc rw\n", &l, &e), -1);
    assert_non_null(strstr(e.msg, "no cgroup filesystem"));
}

static void test_own_path(void **state)
{
    static const char proc[] =
        "9:name=systemd:/\n"
        "4:memory:/process_api/abc\n"
        "2:cpuacct,cpu:/docker/xyz/inner\n"
        "0::/user.slice/s1\n";
    char *cpu_ctrls[] = {"cpu", "cpuacct", NULL};
    char *mem_ctrls[] = {"memory", NULL};
    char *pids_ctrls[] = {"pids", NULL};
    struct zcg_hier cpu = {.mountpoint = "/x", .mount_root = "/docker/xyz",
                           .key = "cpu,cpuacct", .controllers = cpu_ctrls};
    struct zcg_hier mem = {.mountpoint = "/x", .mount_root = "/",
                           .key = "memory", .controllers = mem_ctrls};
    struct zcg_hier pids = {.mountpoint = "/x", .mount_root = "/",
                            .key = "pids", .controllers = pids_ctrls};
    struct zcg_hier v2 = {.mountpoint = "/x", .mount_root = "/",
                          .key = ZCG_V2_KEY, .v2 = true};
    struct zerr e = {0};
    char *p;
    (void)state;
    p = zcg_own_path(proc, &mem, &e);
    assert_string_equal(p, "/process_api/abc");
    free(p);
    /* listed in another order, below a bind-mounted sub-tree */
    p = zcg_own_path(proc, &cpu, &e);
    assert_string_equal(p, "/inner");
    free(p);
    p = zcg_own_path(proc, &v2, &e);
    assert_string_equal(p, "/user.slice/s1");
    free(p);
    assert_null(zcg_own_path(proc, &pids, &e));
    assert_non_null(strstr(e.msg, "no entry for hierarchy pids"));
}

static void expect_path(const char *cgpath, const char *id, bool systemd,
                        const char *own, const char *want)
{
    struct zerr e = {0};
    char *p = zcg_resolve_path(cgpath, id, systemd, own, &e);
    if (!want) {
        assert_null(p);
        assert_int_equal(e.code, EINVAL);
        return;
    }
    if (!p)
        fail_msg("%s: %s", cgpath ? cgpath : "(null)", e.msg);
    assert_string_equal(p, want);
    free(p);
}

static void test_resolve_paths(void **state)
{
    (void)state;
    expect_path(NULL, "abc", false, NULL, "/zone/abc");
    expect_path("", "abc", false, NULL, "/zone/abc");
    expect_path("/a//b/", "abc", false, NULL, "/a/b");
    expect_path("/machine/abc", "abc", false, "/ignored", "/machine/abc");
    expect_path("a/b", "abc", false, "/user.slice/s1", "/user.slice/s1/a/b");
    expect_path("a", "abc", false, "/", "/a");
    expect_path("/", "abc", false, NULL, NULL);
    expect_path("/a/../b", "abc", false, NULL, NULL);
    expect_path("../escape", "abc", false, "/own", NULL);
    expect_path("/a/./b", "abc", false, NULL, NULL);
    expect_path("/a\nb", "abc", false, NULL, NULL);
    expect_path("rel", "abc", false, NULL, NULL);  /* own cgroup unknown */
    expect_path(NULL, "a/b", false, NULL, NULL);   /* bad id */
    expect_path(NULL, "..", false, NULL, NULL);
}

static void test_systemd_paths(void **state)
{
    (void)state;
    expect_path("system.slice:docker:abc", "abc", true, NULL,
                "/system.slice/docker-abc.scope");
    expect_path("a-b-c.slice:p:n", "id", true, NULL,
                "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
    expect_path("-.slice:p:n", "id", true, NULL, "/p-n.scope");
    expect_path(":p:n", "id", true, NULL, "/system.slice/p-n.scope");
    expect_path("x.slice::n", "id", true, NULL, "/x.slice/n.scope");
    expect_path("x.slice:p:sub.slice", "id", true, NULL, "/x.slice/sub.slice");
    expect_path(NULL, "abc", true, NULL, "/system.slice/zone-abc.scope");
    expect_path("/abs/path", "id", true, NULL, NULL);
    expect_path("a:b", "id", true, NULL, NULL);
    expect_path("a:b:c:d", "id", true, NULL, NULL);
    expect_path("nosuffix:p:n", "id", true, NULL, NULL);
    expect_path("a--b.slice:p:n", "id", true, NULL, NULL);
    expect_path("-a.slice:p:n", "id", true, NULL, NULL);
    expect_path("x.slice:p:", "id", true, NULL, NULL);
    expect_path("x.slice:p:../n", "id", true, NULL, NULL);
}

/* ------------------------------------------------------------ fake host */

struct fake {
    char *root;
    struct zcg_layout l;
};

static const char *const fake_v1[] = {"cpu,cpuacct", "memory", "devices",
                                      "pids", "systemd"};

static int fake_setup(void **state, bool with_v2, bool with_v1)
{
    struct fake *f = calloc(1, sizeof *f);
    char text[8192], v2[PATH_MAX];
    size_t len = 0;
    struct zerr e = {0};

    if (!f || !(f->root = fake_root()))
        return -1;
    for (size_t i = 0; with_v1 && i < ZARRAY_SIZE(fake_v1); i++) {
        const char *opts = strcmp(fake_v1[i], "systemd") == 0 ? "name=systemd"
                                                             : fake_v1[i];
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%zu 1 0:%zu / %s/%s rw - cgroup cgroup rw,%s\n",
                                40 + i, 30 + i, f->root, fake_v1[i], opts);
        fake_mkdir(f->root, fake_v1[i]);
    }
    if (with_v2) {
        const char *name = with_v1 ? "unified" : "v2";
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "60 1 0:60 / %s/%s rw - cgroup2 cgroup2 rw\n",
                                f->root, name);
        fake_mkdir(f->root, name);
        snprintf(v2, sizeof v2, "%s/%s", f->root, name);
        /* hybrid: the cgroup2 root carries no v1-bound controller */
        fake_file(v2, "cgroup.controllers", with_v1 ? "hugetlb\n"
                                                    : "cpu memory pids\n");
        fake_file(v2, "cgroup.subtree_control", "");
        fake_mkdir(v2, "zone");
        snprintf(v2 + strlen(v2), sizeof v2 - strlen(v2), "/zone");
        fake_file(v2, "cgroup.controllers", with_v1 ? "hugetlb\n"
                                                    : "cpu memory pids\n");
        fake_file(v2, "cgroup.subtree_control", "");
    }
    if (zcg_layout_parse_mountinfo(text, &f->l, &e) < 0) {
        fail_msg("%s", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int setup_hybrid(void **state) { return fake_setup(state, true, true); }
static int setup_v1(void **state) { return fake_setup(state, false, true); }
static int setup_v2(void **state) { return fake_setup(state, true, false); }

static int fake_teardown(void **state)
{
    struct fake *f = *state;
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

static void test_create_hybrid_default(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, NULL, "c1", false, false, &e);
    char *s;
    if (!cg)
        fail_msg("%s", e.msg);
    assert_int_equal(zcg_mode_of(cg), ZCG_HYBRID);
    assert_string_equal(zcg_path(cg), "/zone/c1");
    for (size_t i = 0; i < ZARRAY_SIZE(fake_v1); i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "%s/zone/c1", fake_v1[i]);
        assert_true(exists(f->root, rel));
    }
    assert_true(exists(f->root, "unified/zone/c1"));
    /* the v2 ancestors delegate what they have */
    assert_string_equal(fake_read(f->root, "unified/cgroup.subtree_control"),
                        "+hugetlb");
    assert_string_equal(
        fake_read(f->root, "unified/zone/cgroup.subtree_control"), "+hugetlb");
    s = zcg_serialize(cg);
    assert_string_equal(s, "hybrid /zone/c1\n");
    free(s);
    zcg_free(cg);
}

static void test_create_relative_roundtrip(void **state)
{
    struct fake *f = *state;
    static const char proc[] = "9:name=systemd:/\n8:pids:/\n5:devices:/\n"
                               "4:memory:/mem/s1\n2:cpu,cpuacct:/\n0::/\n";
    struct zerr e = {0};
    struct zcgroup *cg, *again;
    char *s, *s2;

    fake_mkdir(f->root, "memory/mem/s1");
    cg = zcg_create_in(&f->l, proc, "c2", "id", false, false, &e);
    if (!cg)
        fail_msg("%s", e.msg);
    assert_true(exists(f->root, "memory/mem/s1/c2"));
    assert_true(exists(f->root, "pids/c2"));
    assert_true(exists(f->root, "unified/c2"));
    s = zcg_serialize(cg);
    assert_string_equal(s, "hybrid /c2\nmemory /mem/s1/c2\n");

    again = zcg_open_in(&f->l, s, &e);
    if (!again)
        fail_msg("%s", e.msg);
    s2 = zcg_serialize(again);
    assert_string_equal(s, s2);
    assert_int_equal(again->n, cg->n);
    for (size_t i = 0; i < cg->n; i++)
        assert_string_equal(again->d[i].path, cg->d[i].path);
    assert_string_equal(zcg_dir_v1(again, "memory")->path + strlen(f->root),
                        "/memory/mem/s1/c2");
    free(s);
    free(s2);
    zcg_free(again);
    zcg_free(cg);
}

static void test_open_errors(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    (void)f;
    assert_null(zcg_open_in(&f->l, "v2 /zone/x\n", &e));
    assert_non_null(strstr(e.msg, "recorded on a cgroup v2 host"));
    assert_null(zcg_open_in(&f->l, "garbage", &e));
    assert_non_null(strstr(e.msg, "expected \"<mode> <path>\""));
    assert_null(zcg_open_in(&f->l, "hybrid /zone/../../etc\n", &e));
    assert_null(zcg_open_in(&f->l, "hybrid /zone/x\nmemory /a/../b\n", &e));
    assert_null(zcg_open_in(&f->l, "hybrid /\n", &e));
}

static void test_create_failure_rolls_back(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    /* unified/other does not exist, so delegating controllers in the new
     * ancestor fails (the v2 directory is made first) */
    assert_null(zcg_create_in(&f->l, NULL, "/other/c3", "id", false, false, &e));
    assert_non_null(strstr(e.msg, "cgroup.controllers"));
    assert_false(exists(f->root, "memory/other"));
    assert_false(exists(f->root, "pids/other"));
    assert_false(exists(f->root, "unified/other"));
}

/* The steps create.c takes to clone the init while the v1 directories are
 * made: nothing before zcg_make, then one kind at a time; zcg_unmake
 * removes only what was made. */
static void test_resolve_then_make(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_resolve_in(&f->l, NULL, NULL, "c10", false, false, &e);
    if (!cg)
        fail_msg("%s", e.msg);
    fake_mkdir(f->root, "memory/zone/c10");   /* an existing leaf is reused */
    assert_false(exists(f->root, "unified/zone/c10"));
    assert_false(exists(f->root, "pids/zone/c10"));
    assert_int_equal(zcg_make(cg, true, &e), 0);
    assert_true(exists(f->root, "unified/zone/c10"));
    assert_false(exists(f->root, "pids/zone/c10"));
    assert_int_equal(zcg_make(cg, false, &e), 0);
    for (size_t i = 0; i < ZARRAY_SIZE(fake_v1); i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "%s/zone/c10", fake_v1[i]);
        assert_true(exists(f->root, rel));
    }
    zcg_unmake(cg);
    assert_false(exists(f->root, "unified/zone/c10"));
    assert_false(exists(f->root, "pids/zone/c10"));
    assert_true(exists(f->root, "memory/zone/c10"));
    zcg_free(cg);
}

static void test_systemd_not_running(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    assert_null(zcg_create_in(&f->l, NULL, "system.slice:zone:x", "x", true,
                              false, &e));
    assert_string_equal(e.msg, "systemd cgroup driver: systemd is not running "
                        "(no /run/systemd/system)");
}

static void test_apply_hybrid_dispatch(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, "/zone/c4", "c4", false,
                                       false, &e);
    char mem[PATH_MAX], pids[PATH_MAX];
    struct zspec_memory m = {.has_limit = true, .limit = 1 << 20};
    struct zspec_pids p = {.has_limit = true, .limit = 32};
    struct zspec_kv uni_bad[] = {{"memory.high", "1"}};
    struct zspec_kv uni_ok[] = {{"hugetlb.2MB.max", "0"}};
    struct zspec_resources r = {.memory = &m, .pids = &p};

    if (!cg)
        fail_msg("%s", e.msg);
    snprintf(mem, sizeof mem, "%s/memory/zone/c4", f->root);
    snprintf(pids, sizeof pids, "%s/pids/zone/c4", f->root);
    fake_file(mem, "memory.limit_in_bytes", "");
    fake_file(pids, "pids.max", "");
    assert_int_equal(zcg_apply(cg, &r, &e), 0);
    assert_string_equal(fake_read(mem, "memory.limit_in_bytes"), "1048576");
    assert_string_equal(fake_read(pids, "pids.max"), "32");

    /* memory is bound to v1 here: a unified memory key cannot work */
    r = (struct zspec_resources){.unified = uni_bad, .n_unified = 1};
    assert_int_equal(zcg_apply(cg, &r, &e), -1);
    assert_non_null(strstr(e.msg, "controller \"memory\" is not available"));
    char v2[PATH_MAX];
    snprintf(v2, sizeof v2, "%s/unified/zone/c4", f->root);
    fake_file(v2, "cgroup.controllers", "hugetlb");
    fake_file(v2, "hugetlb.2MB.max", "max");
    r = (struct zspec_resources){.unified = uni_ok, .n_unified = 1};
    assert_int_equal(zcg_apply(cg, &r, &e), 0);
    assert_string_equal(fake_read(v2, "hugetlb.2MB.max"), "0");

    /* cpu goes to the comounted cpu,cpuacct hierarchy */
    char cpu[PATH_MAX];
    struct zspec_cpu c = {.has_shares = true, .shares = 100};
    snprintf(cpu, sizeof cpu, "%s/cpu,cpuacct/zone/c4", f->root);
    fake_file(cpu, "cpu.shares", "");
    r = (struct zspec_resources){.cpu = &c};
    assert_int_equal(zcg_apply(cg, &r, &e), 0);
    assert_string_equal(fake_read(cpu, "cpu.shares"), "100");
    /* cpuset is not mounted on this fake host */
    struct zspec_cpu cs = {.cpus = "0"};
    r = (struct zspec_resources){.cpu = &cs};
    assert_int_equal(zcg_apply(cg, &r, &e), -1);
    assert_non_null(strstr(e.msg, "cpuset controller is not available"));
    zcg_free(cg);
}

static void test_apply_v1_refuses_unified(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, NULL, "c5", false, false, &e);
    struct zspec_kv uni[] = {{"memory.high", "1"}};
    struct zspec_resources r = {.unified = uni, .n_unified = 1};
    if (!cg)
        fail_msg("%s", e.msg);
    assert_int_equal(zcg_mode_of(cg), ZCG_V1);
    assert_int_equal(zcg_apply(cg, &r, &e), -1);
    assert_non_null(strstr(e.msg, "pure cgroup v1"));
    zcg_free(cg);
}

static void test_apply_v2_missing_controller(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, NULL, "c6", false, false, &e);
    char dir[PATH_MAX];
    struct zspec_cpu c = {.cpus = "0"};
    struct zspec_pids p = {.has_limit = true, .limit = 5};
    struct zspec_resources r = {.cpu = &c};
    if (!cg)
        fail_msg("%s", e.msg);
    snprintf(dir, sizeof dir, "%s/v2/zone/c6", f->root);
    fake_file(dir, "cgroup.controllers", "cpu memory pids");
    fake_file(dir, "pids.max", "max");
    assert_int_equal(zcg_apply(cg, &r, &e), -1);
    assert_non_null(strstr(e.msg, "cpuset controller is not available"));
    r = (struct zspec_resources){.pids = &p};
    assert_int_equal(zcg_apply(cg, &r, &e), 0);
    assert_string_equal(fake_read(dir, "pids.max"), "5");
    assert_string_equal(fake_read(f->root, "v2/cgroup.subtree_control"),
                        "+cpu +memory +pids");
    zcg_free(cg);
}

static void test_mount_entries(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, NULL, "c7", false, false, &e);
    struct zcg_mount_entry *m = NULL;
    size_t n = 0;
    if (!cg)
        fail_msg("%s", e.msg);
    assert_int_equal(zcg_mount_entries(cg, &m, &n, &e), 0);
    assert_int_equal(n, 6);
    assert_string_equal(m[0].name, "cpu,cpuacct");
    assert_non_null(m[0].symlinks);
    assert_string_equal(m[0].symlinks[0], "cpu");
    assert_string_equal(m[0].symlinks[1], "cpuacct");
    assert_null(m[0].symlinks[2]);
    assert_string_equal(m[1].name, "memory");
    assert_null(m[1].symlinks);
    assert_string_equal(m[4].name, "systemd");
    assert_false(m[4].v2);
    assert_string_equal(m[5].name, "unified");
    assert_true(m[5].v2);
    assert_string_equal(m[5].host_path + strlen(f->root), "/unified/zone/c7");
    zcg_mount_entries_free(m, n);
    zcg_free(cg);
}

static void test_mount_entries_v2(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, NULL, "c8", false, false, &e);
    struct zcg_mount_entry *m = NULL;
    size_t n = 0;
    if (!cg)
        fail_msg("%s", e.msg);
    assert_int_equal(zcg_mount_entries(cg, &m, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].name, "");
    assert_true(m[0].v2);
    assert_null(m[0].symlinks);
    zcg_mount_entries_free(m, n);
    zcg_free(cg);
}

static void test_destroy_idempotent(void **state)
{
    struct fake *f = *state;
    struct zerr e = {0};
    struct zcgroup *cg = zcg_create_in(&f->l, NULL, NULL, "c9", false, false, &e);
    if (!cg)
        fail_msg("%s", e.msg);
    fake_mkdir(f->root, "memory/zone/c9/nested/deeper");
    assert_int_equal(zcg_destroy(cg, false, &e), 0);
    assert_false(exists(f->root, "memory/zone/c9"));
    assert_false(exists(f->root, "unified/zone/c9"));
    assert_true(exists(f->root, "memory/zone"));
    assert_int_equal(zcg_destroy(cg, false, &e), 0);
    zcg_free(cg);
}

#define HYBRID(t) cmocka_unit_test_setup_teardown(t, setup_hybrid, fake_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_hybrid),
        cmocka_unit_test(test_v2_root_flags),
        cmocka_unit_test(test_layout_v1_comount_dup_escape),
        cmocka_unit_test(test_layout_v2_and_none),
        cmocka_unit_test(test_own_path),
        cmocka_unit_test(test_resolve_paths),
        cmocka_unit_test(test_systemd_paths),
        HYBRID(test_create_hybrid_default),
        HYBRID(test_create_relative_roundtrip),
        HYBRID(test_open_errors),
        HYBRID(test_create_failure_rolls_back),
        HYBRID(test_resolve_then_make),
        HYBRID(test_systemd_not_running),
        HYBRID(test_apply_hybrid_dispatch),
        cmocka_unit_test_setup_teardown(test_apply_v1_refuses_unified,
                                        setup_v1, fake_teardown),
        cmocka_unit_test_setup_teardown(test_apply_v2_missing_controller,
                                        setup_v2, fake_teardown),
        HYBRID(test_mount_entries),
        cmocka_unit_test_setup_teardown(test_mount_entries_v2, setup_v2,
                                        fake_teardown),
        HYBRID(test_destroy_idempotent),
    };
    return cmocka_run_group_tests_name("cgroups_paths", tests, NULL, NULL);
}
