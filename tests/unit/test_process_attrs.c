/* runtime/process_attrs and runtime/lsm: validation messages, and the
 * attributes applied for real in forked children (read back from the
 * kernel). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "runtime/lsm.h"
#include "runtime/process_attrs.h"

#define STRV(...) ((char *[]){ __VA_ARGS__, NULL })
#define COUNT(...) (sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *))
#define SET(field, ...) .field = STRV(__VA_ARGS__), .n_##field = COUNT(__VA_ARGS__)

/* ------------------------------------------------------------ child runner */

static int fail_fd = -1;

static void child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void child_fail(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0 && write(fail_fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1) < 0)
        _exit(2);
    _exit(1);
}

#define CHECK(cond) do { if (!(cond)) \
    child_fail("%s:%d: %s (errno %d)", __FILE__, __LINE__, #cond, errno); } while (0)
#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
    if (strcmp(g_, w_) != 0) \
        child_fail("%s:%d: got \"%s\", want \"%s\"", __FILE__, __LINE__, g_, w_); } while (0)

static void expect_child_ok(void (*fn)(void *), void *arg)
{
    static const int fatal[] = { SIGSYS, SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGABRT };
    char msg[1024];
    int p[2], status;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka's handlers would resume the test suite inside the child. */
        for (size_t i = 0; i < ZARRAY_SIZE(fatal); i++)
            signal(fatal[i], SIG_DFL);
        close(p[0]);
        fail_fd = p[1];
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    ssize_t n = read(p[0], msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child failed (status 0x%x): %s", status, msg);
}

/* The value of a "Name:\tvalue" line of /proc/self/status. */
static const char *status_field(const char *name)
{
    static char value[256];
    char line[512];
    size_t len = strlen(name);
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        child_fail("opening /proc/self/status: %s", strerror(errno));
    value[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            snprintf(value, sizeof value, "%s", line + len + 2);
            value[strcspn(value, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
    return value;
}

static void drop_effective_cap(cap_value_t cap)
{
    cap_t caps = cap_get_proc();
    CHECK(caps != NULL);
    CHECK(cap_set_flag(caps, CAP_EFFECTIVE, 1, &cap, CAP_CLEAR) == 0);
    CHECK(cap_set_proc(caps) == 0);
    cap_free(caps);
}

/* ------------------------------------------------------------ validation */

static void expect_invalid(const struct zspec *s, const char *message)
{
    struct zerr e = { 0 };
    assert_int_equal(zproc_validate(s, &e), -1);
    assert_string_equal(e.msg, message);
}

static void expect_valid(const struct zspec *s)
{
    struct zerr e = { 0 };
    if (zproc_validate(s, &e) < 0)
        fail_msg("unexpected error: %s", e.msg);
}

static void test_validate_capabilities(void **state)
{
    (void)state;
    struct zspec_capabilities caps = {
        SET(bounding, "CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_FOO"),
    };
    struct zspec_process p = { .capabilities = &caps };
    struct zspec s = { .process = &p };
    /* unknown names are skipped with a warning, as runc does */
    struct zcap_masks cm;
    struct zerr me = { 0 };
    expect_valid(&s);
    assert_int_equal(zproc_capability_masks(&caps, &cm, &me), 0);
    assert_true(cm.bounding == ((1ULL << CAP_CHOWN) | (1ULL << CAP_KILL) | (1ULL << CAP_SETUID)));

    caps = (struct zspec_capabilities){ SET(ambient, "cap_chown") };
    expect_valid(&s);
    caps = (struct zspec_capabilities){ SET(permitted, "CAP_KILL", "CHOWN") };
    expect_valid(&s);
    assert_int_equal(zproc_capability_masks(&caps, &cm, &me), 0);
    assert_true(cm.permitted == (1ULL << CAP_KILL));
    caps = (struct zspec_capabilities){ SET(inheritable, "CAP_") };
    expect_valid(&s);
    caps = (struct zspec_capabilities){ SET(effective, "CAP_KILL", "CAP_NET_ADMIN"),
                                        SET(permitted, "CAP_KILL") };
    expect_invalid(&s, "process.capabilities.effective: CAP_NET_ADMIN is not in the "
                   "permitted set");

    caps = (struct zspec_capabilities){
        SET(bounding, "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE",
            "CAP_CHECKPOINT_RESTORE"),
        SET(effective, "CAP_CHOWN"),
        SET(permitted, "CAP_CHOWN", "CAP_NET_BIND_SERVICE"),
        SET(inheritable, "CAP_NET_BIND_SERVICE"),
        SET(ambient, "CAP_NET_BIND_SERVICE"),
    };
    expect_valid(&s);
    struct zcap_masks m;
    struct zerr e = { 0 };
    assert_int_equal(zproc_capability_masks(&caps, &m, &e), 0);
    uint64_t restore = cap_max_bits() > CAP_CHECKPOINT_RESTORE
                           ? 1ULL << CAP_CHECKPOINT_RESTORE : 0;
    assert_int_equal(m.bounding, 0x421 | restore);
    assert_int_equal(m.effective, 0x1);
    assert_int_equal(m.permitted, 0x401);
    assert_int_equal(m.inheritable, 0x400);
    assert_int_equal(m.ambient, 0x400);

    assert_int_equal(zproc_capability_masks(NULL, &m, &e), 0);
    assert_int_equal(m.bounding | m.effective | m.permitted | m.inheritable | m.ambient, 0);
}

static void test_validate_rlimits(void **state)
{
    (void)state;
    struct zspec_rlimit rl[] = {
        { .type = "RLIMIT_NOFILE", .soft = 1024, .hard = 4096 },
        { .type = "RLIMIT_CORE", .soft = 0, .hard = UINT64_MAX },
        { .type = "RLIMIT_FOO", .soft = 1, .hard = 1 },
    };
    struct zspec_process p = { .rlimits = rl, .n_rlimits = 2 };
    struct zspec s = { .process = &p };
    expect_valid(&s);
    p.n_rlimits = 3;
    expect_invalid(&s, "process.rlimits[2].type: unknown rlimit \"RLIMIT_FOO\"");
    rl[2] = (struct zspec_rlimit){ .type = "RLIMIT_NOFILE", .soft = 1, .hard = 1 };
    expect_invalid(&s, "process.rlimits[2].type: duplicate rlimit \"RLIMIT_NOFILE\" (also "
                   "at process.rlimits[0])");
    rl[2] = (struct zspec_rlimit){ .type = "RLIMIT_NPROC", .soft = 10, .hard = 5 };
    expect_invalid(&s, "process.rlimits[2]: RLIMIT_NPROC soft limit 10 is greater than "
                   "its hard limit 5");
}

static void test_validate_scheduler(void **state)
{
    (void)state;
    struct zspec_scheduler sc = { .policy = "SCHED_BATCH", .has_nice = true, .nice = 5 };
    struct zspec_process p = { .scheduler = &sc };
    struct zspec s = { .process = &p };
    expect_valid(&s);

    sc = (struct zspec_scheduler){ .policy = "SCHED_SLOW" };
    expect_invalid(&s, "process.scheduler.policy: unknown policy \"SCHED_SLOW\"");
    sc = (struct zspec_scheduler){ 0 };
    expect_invalid(&s, "process.scheduler.policy: required");
    sc = (struct zspec_scheduler){ .policy = "SCHED_ISO" };
    expect_invalid(&s, "process.scheduler.policy: SCHED_ISO is not implemented by the "
                   "Linux kernel");
    sc = (struct zspec_scheduler){ .policy = "SCHED_OTHER", .has_nice = true, .nice = 20 };
    expect_invalid(&s, "process.scheduler.nice: 20 is out of range (-20..19)");
    sc = (struct zspec_scheduler){ .policy = "SCHED_FIFO" };
    expect_invalid(&s, "process.scheduler.priority: SCHED_FIFO needs a priority in 1..99");
    sc = (struct zspec_scheduler){ .policy = "SCHED_RR", .has_priority = true,
                                   .priority = 100 };
    expect_invalid(&s, "process.scheduler.priority: SCHED_RR needs a priority in 1..99");
    sc = (struct zspec_scheduler){ .policy = "SCHED_OTHER", .has_priority = true,
                                   .priority = 3 };
    expect_invalid(&s, "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a "
                   "priority");
    sc = (struct zspec_scheduler){ .policy = "SCHED_OTHER", .has_runtime = true,
                                   .runtime = 100000 };
    expect_invalid(&s, "process.scheduler: runtime, deadline and period are only valid "
                   "with SCHED_DEADLINE");
    sc = (struct zspec_scheduler){ .policy = "SCHED_OTHER",
                                   SET(flags, "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_X") };
    expect_invalid(&s, "process.scheduler.flags[1]: unknown flag \"SCHED_FLAG_X\"");
    sc = (struct zspec_scheduler){ .policy = "SCHED_RR", .has_priority = true,
                                   .priority = 1, SET(flags, "SCHED_FLAG_RECLAIM") };
    expect_invalid(&s, "process.scheduler.flags[0]: SCHED_FLAG_RECLAIM is only valid with "
                   "SCHED_DEADLINE");

    sc = (struct zspec_scheduler){ .policy = "SCHED_DEADLINE", .has_deadline = true,
                                   .deadline = 1000000 };
    expect_invalid(&s, "process.scheduler.runtime: SCHED_DEADLINE needs a runtime");
    sc = (struct zspec_scheduler){ .policy = "SCHED_DEADLINE", .has_runtime = true,
                                   .runtime = 100000 };
    expect_invalid(&s, "process.scheduler.deadline: SCHED_DEADLINE needs a deadline");
    sc = (struct zspec_scheduler){ .policy = "SCHED_DEADLINE", .has_runtime = true,
                                   .runtime = 500, .has_deadline = true, .deadline = 1000 };
    expect_invalid(&s, "process.scheduler.runtime: 500ns is below the kernel's minimum of "
                   "1024ns");
    sc = (struct zspec_scheduler){ .policy = "SCHED_DEADLINE", .has_runtime = true,
                                   .runtime = 2000000, .has_deadline = true,
                                   .deadline = 1000000, .has_period = true,
                                   .period = 3000000 };
    expect_invalid(&s, "process.scheduler: SCHED_DEADLINE needs runtime (2000000) <= "
                   "deadline (1000000) <= period (3000000)");
    sc.runtime = 500000;
    sc.flags = STRV("SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN");
    sc.n_flags = 2;
    expect_valid(&s);
}

static void test_validate_other_fields(void **state)
{
    (void)state;
    struct zspec_process p = { .has_oom_score_adj = true, .oom_score_adj = 1001 };
    struct zspec s = { .process = &p };
    expect_invalid(&s, "process.oomScoreAdj: 1001 is out of range (-1000..1000)");
    p.oom_score_adj = -1000;
    expect_valid(&s);

    struct zspec_io_priority io = { .class = "IOPRIO_CLASS_FAST", .priority = 1 };
    p.io_priority = &io;
    expect_invalid(&s, "process.ioPriority.class: unknown class \"IOPRIO_CLASS_FAST\"");
    io = (struct zspec_io_priority){ .class = "IOPRIO_CLASS_BE", .priority = 8 };
    expect_invalid(&s, "process.ioPriority.priority: 8 is out of range (0..7)");
    io.priority = 7;
    expect_valid(&s);

    struct zspec_exec_cpu_affinity aff = { .initial = "0-1", .final = "1-0" };
    p.exec_cpu_affinity = &aff;
    expect_invalid(&s, "process.execCPUAffinity.final: invalid CPU list \"1-0\": range 1-0 "
                   "is reversed");
    aff = (struct zspec_exec_cpu_affinity){ .initial = "0,,1" };
    expect_invalid(&s, "process.execCPUAffinity.initial: invalid CPU list \"0,,1\": "
                   "expected a CPU number (0-65535) at offset 2");
    aff = (struct zspec_exec_cpu_affinity){ .initial = "0, 1-1", .final = "0" };
    expect_valid(&s);

    p.user.has_umask = true;
    p.user.umask = 01777;
    expect_invalid(&s, "process.user.umask: 01777 is not a valid umask (at most 0777)");
    p.user.umask = 077;
    expect_valid(&s);

    struct zspec_personality pers = { .domain = "LINUX64" };
    struct zspec_linux lx = { .personality = &pers };
    s.linux_ = &lx;
    expect_invalid(&s, "linux.personality.domain: unknown domain \"LINUX64\" (expected "
                   "LINUX or LINUX32)");
    pers = (struct zspec_personality){ .domain = "LINUX32",
                                       SET(flags, "ADDR_NO_RANDOMIZE", "FAST") };
    expect_invalid(&s, "linux.personality.flags[1]: unknown flag \"FAST\"");
    pers.n_flags = 1;
    expect_valid(&s);

    /* Without a process only linux.personality is checked. */
    s.process = NULL;
    pers.domain = NULL;
    expect_invalid(&s, "linux.personality.domain: required");
}

static void test_cpu_lists(void **state)
{
    (void)state;
    struct zerr e = { 0 };
    int max;
    assert_int_equal(zproc_parse_cpu_list("0-3,7", &max, &e), 0);
    assert_int_equal(max, 7);
    assert_int_equal(zproc_parse_cpu_list(" 5 , 2-4 ", &max, &e), 0);
    assert_int_equal(max, 5);
    assert_int_equal(zproc_parse_cpu_list("65535", &max, &e), 0);
    assert_int_equal(max, 65535);

    static const struct { const char *list, *msg; } bad[] = {
        { "", "empty CPU list" },
        { "65536", "invalid CPU list \"65536\": expected a CPU number (0-65535) at offset 0" },
        { "1-", "invalid CPU list \"1-\": expected a CPU number (0-65535) at offset 2" },
        { "1,", "invalid CPU list \"1,\": expected a CPU number (0-65535) at offset 2" },
        { "-1", "invalid CPU list \"-1\": expected a CPU number (0-65535) at offset 0" },
        { "1 2", "invalid CPU list \"1 2\": unexpected '2' at offset 2" },
        { "0-3:2", "invalid CPU list \"0-3:2\": unexpected ':' at offset 3" },
        { "4-2", "invalid CPU list \"4-2\": range 4-2 is reversed" },
    };
    for (size_t i = 0; i < ZARRAY_SIZE(bad); i++) {
        assert_int_equal(zproc_parse_cpu_list(bad[i].list, NULL, &e), -1);
        assert_string_equal(e.msg, bad[i].msg);
    }
    assert_int_equal(zproc_parse_cpu_list(NULL, NULL, &e), -1);
    assert_string_equal(e.msg, "empty CPU list");
}

/* ------------------------------------------------------------ LSM */

struct temp_dir {
    char path[64];
};

static void temp_dir_make(struct temp_dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/zone-procattrs-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void write_file(const char *dir, const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void read_file(const char *dir, const char *name, char *buf, size_t size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, size - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
}

static void remove_file(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(remove(path), 0);
}

static void test_lsm_validation(void **state)
{
    (void)state;
    struct temp_dir d;
    struct zerr e = { 0 };
    char enabled[128], enforce[128];

    temp_dir_make(&d);
    snprintf(enabled, sizeof enabled, "%s/enabled", d.path);
    snprintf(enforce, sizeof enforce, "%s/enforce", d.path);
    struct zspec_process p = { .apparmor_profile = "docker-default" };

    write_file(d.path, "enabled", "N\n");
    assert_int_equal(zlsm_validate_with(&p, enabled, enforce, &e), -1);
    assert_string_equal(e.msg, "process.apparmorProfile: apparmor profile "
                        "\"docker-default\" requested but AppArmor is not enabled on "
                        "this host");
    write_file(d.path, "enabled", "Y\n");
    assert_int_equal(zlsm_validate_with(&p, enabled, enforce, &e), 0);
    p.apparmor_profile = "two\nlines";
    assert_int_equal(zlsm_validate_with(&p, enabled, enforce, &e), -1);
    assert_string_equal(e.msg, "process.apparmorProfile: label \"two\nlines\" contains a "
                        "newline");

    p = (struct zspec_process){ .selinux_label = "system_u:system_r:container_t:s0" };
    assert_int_equal(zlsm_validate_with(&p, enabled, enforce, &e), -1);
    assert_string_equal(e.msg, "process.selinuxLabel: SELinux label "
                        "\"system_u:system_r:container_t:s0\" requested but SELinux is not "
                        "enabled on this host");
    write_file(d.path, "enforce", "1");
    assert_int_equal(zlsm_validate_with(&p, enabled, enforce, &e), 0);

    /* Empty strings are unset. */
    p = (struct zspec_process){ .apparmor_profile = "", .selinux_label = "" };
    assert_int_equal(zlsm_validate_with(&p, "/nonexistent", "/nonexistent", &e), 0);

    /* zproc_validate reaches the host's probes. */
    p = (struct zspec_process){ .apparmor_profile = "zone-test" };
    struct zspec s = { .process = &p };
    if (zlsm_apparmor_enabled()) {
        expect_valid(&s);
    } else {
        expect_invalid(&s, "process.apparmorProfile: apparmor profile \"zone-test\" "
                       "requested but AppArmor is not enabled on this host");
    }

    remove_file(d.path, "enabled");
    remove_file(d.path, "enforce");
    assert_int_equal(rmdir(d.path), 0);
}

static void test_lsm_exec_labels(void **state)
{
    (void)state;
    struct temp_dir d;
    struct zerr e = { 0 };
    char buf[256], sub[128];

    temp_dir_make(&d);
    snprintf(sub, sizeof sub, "%s/apparmor", d.path);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(d.path, "apparmor/exec", "");
    write_file(d.path, "exec", "");
    int dirfd = open(d.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);

    struct zspec_process p = { .apparmor_profile = "zone-default" };
    assert_int_equal(zlsm_set_exec_labels_at(dirfd, &p, &e), 0);
    read_file(d.path, "apparmor/exec", buf, sizeof buf);
    assert_string_equal(buf, "exec zone-default");
    read_file(d.path, "exec", buf, sizeof buf);
    assert_string_equal(buf, "");

    /* Kernels without per-LSM directories: attr/exec. */
    remove_file(d.path, "apparmor/exec");
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(zlsm_set_exec_labels_at(dirfd, &p, &e), 0);
    read_file(d.path, "exec", buf, sizeof buf);
    assert_string_equal(buf, "exec zone-default");

    p = (struct zspec_process){ .selinux_label = "system_u:system_r:container_t:s0:c1,c2" };
    write_file(d.path, "exec", "");
    assert_int_equal(zlsm_set_exec_labels_at(dirfd, &p, &e), 0);
    read_file(d.path, "exec", buf, sizeof buf);
    assert_string_equal(buf, "system_u:system_r:container_t:s0:c1,c2");

    remove_file(d.path, "exec");
    assert_int_equal(zlsm_set_exec_labels_at(dirfd, &p, &e), -1);
    assert_string_equal(e.msg, "process.selinuxLabel: opening /proc/self/attr/exec: no "
                        "such file or directory");
    close(dirfd);
    assert_int_equal(rmdir(d.path), 0);

    /* Nothing requested: nothing touched. */
    p = (struct zspec_process){ 0 };
    assert_int_equal(zlsm_set_exec_labels(&p, &e), 0);
    /* A profile that cannot exist fails on any host, with or without
     * AppArmor, and names the field. */
    p.apparmor_profile = "zone-test-profile-that-does-not-exist";
    assert_int_equal(zlsm_set_exec_labels(&p, &e), -1);
    assert_true(strncmp(e.msg, "process.apparmorProfile: ", 25) == 0 ||
                strncmp(e.msg, "opening /proc/self/attr", 23) == 0);
}

/* ------------------------------------------------------------ limits */

struct zsched_attr_test {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};

static void get_sched_attr(struct zsched_attr_test *attr)
{
    memset(attr, 0, sizeof *attr);
    CHECK(syscall(SYS_sched_getattr, 0, attr, sizeof *attr, 0) == 0);
}

static void apply_or_fail(const struct zspec_process *p, const struct zspec_linux *lx)
{
    struct zerr e = { 0 };
    if (zproc_apply_limits(p, lx, &e) < 0)
        child_fail("zproc_apply_limits: %s", e.msg);
}

static void child_limits(void *arg)
{
    (void)arg;
    struct zspec_rlimit rl[] = {
        { .type = "RLIMIT_NOFILE", .soft = 512, .hard = 1000 },
        { .type = "RLIMIT_CORE", .soft = 0, .hard = 0 },
        { .type = "RLIMIT_STACK", .soft = 4 << 20, .hard = UINT64_MAX },
    };
    struct zspec_scheduler sc = { .policy = "SCHED_BATCH", .has_nice = true, .nice = 7,
                                  SET(flags, "SCHED_FLAG_RESET_ON_FORK") };
    struct zspec_io_priority io = { .class = "IOPRIO_CLASS_BE", .priority = 6 };
    struct zspec_exec_cpu_affinity aff = { .final = "0" };
    struct zspec_process p = { .rlimits = rl, .n_rlimits = 3, .has_oom_score_adj = true,
                               .oom_score_adj = 567, .scheduler = &sc, .io_priority = &io,
                               .exec_cpu_affinity = &aff };
    struct zspec_personality pers = { .domain = "LINUX32", SET(flags, "ADDR_NO_RANDOMIZE") };
    struct zspec_linux lx = { .personality = &pers };
    struct rlimit r;
    struct zsched_attr_test attr;
    cpu_set_t cpus;
    char buf[16];

    apply_or_fail(&p, &lx);

    CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == 512 && r.rlim_max == 1000);
    CHECK(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_cur == 0 && r.rlim_max == 0);
    CHECK(getrlimit(RLIMIT_STACK, &r) == 0 && r.rlim_cur == 4 << 20 &&
          r.rlim_max == RLIM_INFINITY);

    int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n] = '\0';
    close(fd);
    CHECK_STR(buf, "567\n");

    get_sched_attr(&attr);
    CHECK(attr.sched_policy == SCHED_BATCH);
    CHECK(attr.sched_nice == 7);
    CHECK(attr.sched_flags & 0x01);   /* SCHED_FLAG_RESET_ON_FORK */

    CHECK(syscall(SYS_ioprio_get, 1, 0) == ((2 << 13) | 6));
    CHECK(personality(0xffffffff) == (PER_LINUX32 | ADDR_NO_RANDOMIZE));

    CHECK(sched_getaffinity(0, sizeof cpus, &cpus) == 0);
    CHECK(CPU_COUNT(&cpus) == 1 && CPU_ISSET(0, &cpus));
}

static void test_apply_limits(void **state)
{
    (void)state;
    expect_child_ok(child_limits, NULL);
}

static void child_realtime(void *arg)
{
    (void)arg;
    struct zsched_attr_test attr;
    struct zspec_scheduler fifo = { .policy = "SCHED_FIFO", .has_priority = true,
                                    .priority = 10 };
    struct zspec_io_priority io = { .class = "IOPRIO_CLASS_RT", .priority = 2 };
    struct zspec_process p = { .scheduler = &fifo, .io_priority = &io };
    apply_or_fail(&p, NULL);
    get_sched_attr(&attr);
    CHECK(attr.sched_policy == SCHED_FIFO && attr.sched_priority == 10);
    CHECK(syscall(SYS_ioprio_get, 1, 0) == ((1 << 13) | 2));

    struct zspec_scheduler dl = { .policy = "SCHED_DEADLINE", .has_runtime = true,
                                  .runtime = 1000000, .has_deadline = true,
                                  .deadline = 10000000, .has_period = true,
                                  .period = 20000000 };
    p.scheduler = &dl;
    p.io_priority = NULL;
    apply_or_fail(&p, NULL);
    get_sched_attr(&attr);
    CHECK(attr.sched_policy == 6);    /* SCHED_DEADLINE */
    CHECK(attr.sched_runtime == 1000000 && attr.sched_deadline == 10000000 &&
          attr.sched_period == 20000000);
}

static void test_apply_realtime(void **state)
{
    (void)state;
    expect_child_ok(child_realtime, NULL);
}

static void child_limit_errors(void *arg)
{
    (void)arg;
    struct zerr e = { 0 };
    struct rlimit cur;
    char want[256];

    /* Raising a hard limit needs CAP_SYS_RESOURCE. */
    drop_effective_cap(CAP_SYS_RESOURCE);
    CHECK(getrlimit(RLIMIT_NOFILE, &cur) == 0);
    struct zspec_rlimit rl[] = { { .type = "RLIMIT_NOFILE", .soft = 64,
                                   .hard = (uint64_t)cur.rlim_max + 1 } };
    struct zspec_process p = { .rlimits = rl, .n_rlimits = 1 };
    CHECK(zproc_apply_limits(&p, NULL, &e) == -1);
    snprintf(want, sizeof want, "process.rlimits[0]: setting RLIMIT_NOFILE to soft 64, "
             "hard %llu (raising a hard limit needs CAP_SYS_RESOURCE on the host: not "
             "available without root): operation not permitted",
             (unsigned long long)cur.rlim_max + 1);
    CHECK_STR(e.msg, want);

    struct zspec_exec_cpu_affinity aff = { .final = "4000" };
    p = (struct zspec_process){ .exec_cpu_affinity = &aff };
    CHECK(zproc_apply_limits(&p, NULL, &e) == -1);
    CHECK_STR(e.msg, "process.execCPUAffinity.final: setting CPU affinity to \"4000\": "
              "invalid argument");

    CHECK(zproc_set_cpu_affinity("0-", &e) == -1);
    CHECK_STR(e.msg, "invalid CPU list \"0-\": expected a CPU number (0-65535) at offset 2");
}

static void test_apply_limit_errors(void **state)
{
    (void)state;
    expect_child_ok(child_limit_errors, NULL);
}

/* ------------------------------------------------------------ identity */

static void apply_identity_or_fail(const struct zspec_process *p, bool setgroups_denied)
{
    struct zerr e = { 0 };
    if (zproc_apply_identity(p, setgroups_denied, &e) < 0)
        child_fail("zproc_apply_identity: %s", e.msg);
}

static void child_identity(void *arg)
{
    (void)arg;
    uint32_t gids[] = { 10, 20, 30 };
    struct zspec_capabilities caps = {
        SET(bounding, "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"),
        SET(effective, "CAP_CHOWN"),
        SET(permitted, "CAP_CHOWN", "CAP_NET_BIND_SERVICE"),
        SET(inheritable, "CAP_NET_BIND_SERVICE"),
        SET(ambient, "CAP_NET_BIND_SERVICE"),
    };
    struct zspec_process p = {
        .user = { .uid = 1000, .gid = 1001, .has_umask = true, .umask = 027,
                  .additional_gids = gids, .n_additional_gids = 3 },
        .capabilities = &caps,
    };
    uid_t ru, eu, su;
    gid_t rg, eg, sg, groups[8];

    apply_identity_or_fail(&p, false);
    CHECK(getresuid(&ru, &eu, &su) == 0 && ru == 1000 && eu == 1000 && su == 1000);
    CHECK(getresgid(&rg, &eg, &sg) == 0 && rg == 1001 && eg == 1001 && sg == 1001);
    CHECK(getgroups(8, groups) == 3);
    CHECK(groups[0] == 10 && groups[1] == 20 && groups[2] == 30);
    CHECK_STR(status_field("Umask"), "0027");
    CHECK_STR(status_field("CapBnd"), "0000000000000421");
    CHECK_STR(status_field("CapEff"), "0000000000000001");
    CHECK_STR(status_field("CapPrm"), "0000000000000401");
    CHECK_STR(status_field("CapInh"), "0000000000000400");
    CHECK_STR(status_field("CapAmb"), "0000000000000400");
    CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0);
    CHECK_STR(status_field("NoNewPrivs"), "0");
}

static void test_identity(void **state)
{
    (void)state;
    expect_child_ok(child_identity, NULL);
}

static void child_root_without_caps(void *arg)
{
    (void)arg;
    struct zspec_process p = { .no_new_privileges = true };
    struct zerr e = { 0 };
    gid_t groups[8];

    apply_identity_or_fail(&p, false);
    CHECK(getuid() == 0 && getgid() == 0);
    CHECK(getgroups(8, groups) == 0);
    CHECK_STR(status_field("Umask"), "0022");
    CHECK_STR(status_field("CapBnd"), "0000000000000000");
    CHECK_STR(status_field("CapEff"), "0000000000000000");
    CHECK_STR(status_field("CapPrm"), "0000000000000000");
    CHECK_STR(status_field("CapAmb"), "0000000000000000");
    CHECK(zproc_apply_no_new_privs(&p, &e) == 0);
    CHECK_STR(status_field("NoNewPrivs"), "1");
}

static void test_identity_root_without_caps(void **state)
{
    (void)state;
    expect_child_ok(child_root_without_caps, NULL);
}

static void child_setgroups_denied(void *arg)
{
    (void)arg;
    uint32_t gids[] = { 10 };
    struct zspec_process p = { .user = { .uid = 0, .gid = 0, .additional_gids = gids,
                                         .n_additional_gids = 1 } };
    struct zerr e = { 0 };
    gid_t before[64], after[64];
    int n_before = getgroups(64, before);
    CHECK(n_before >= 0);

    CHECK(zproc_apply_identity(&p, true, &e) == -1);
    CHECK_STR(e.msg, "process.user.additionalGids: cannot set supplementary groups: "
              "setgroups is denied in this user namespace");
    /* Nothing was changed. */
    CHECK(strcmp(status_field("CapBnd"), "0000000000000000") != 0);

    /* Without additional gids the groups stay as they are. */
    p.user.n_additional_gids = 0;
    struct zspec_capabilities caps = { SET(bounding, "CAP_SETGID"),
                                       SET(permitted, "CAP_SETGID"),
                                       SET(effective, "CAP_SETGID") };
    p.capabilities = &caps;
    apply_identity_or_fail(&p, true);
    CHECK(getgroups(64, after) == n_before);
    CHECK(memcmp(before, after, (size_t)n_before * sizeof(gid_t)) == 0);
    CHECK(zproc_apply_no_new_privs(&p, &e) == 0);
    CHECK_STR(status_field("NoNewPrivs"), "0");
}

static void test_identity_setgroups_denied(void **state)
{
    (void)state;
    expect_child_ok(child_setgroups_denied, NULL);
}

static void child_bad_capset(void *arg)
{
    (void)arg;
    /* Inheritable beyond the bounding set: the kernel refuses the capset. */
    struct zspec_capabilities caps = { SET(bounding, "CAP_CHOWN"),
                                       SET(inheritable, "CAP_KILL") };
    struct zspec_process p = { .capabilities = &caps };
    struct zerr e = { 0 };
    CHECK(zproc_apply_identity(&p, false, &e) == -1);
    CHECK_STR(e.msg, "process.capabilities: setting the effective, permitted and "
              "inheritable sets (inheritable ones must be in the bounding set): "
              "operation not permitted");
}

static void test_identity_bad_capset(void **state)
{
    (void)state;
    expect_child_ok(child_bad_capset, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_capabilities),
        cmocka_unit_test(test_validate_rlimits),
        cmocka_unit_test(test_validate_scheduler),
        cmocka_unit_test(test_validate_other_fields),
        cmocka_unit_test(test_cpu_lists),
        cmocka_unit_test(test_lsm_validation),
        cmocka_unit_test(test_lsm_exec_labels),
        cmocka_unit_test(test_apply_limits),
        cmocka_unit_test(test_apply_realtime),
        cmocka_unit_test(test_apply_limit_errors),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_identity_root_without_caps),
        cmocka_unit_test(test_identity_setgroups_denied),
        cmocka_unit_test(test_identity_bad_capset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
