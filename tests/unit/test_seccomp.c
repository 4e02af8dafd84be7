/* runtime/seccomp: building filters from specs (errors with exact
 * messages), loading them in forked children and checking what the kernel
 * does, the NOTIFY listener hand-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "runtime/seccomp.h"

#define STRV(...) ((char *[]){ __VA_ARGS__, NULL })
#define COUNT(...) (sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *))
#define NAMES(...) .names = STRV(__VA_ARGS__), .n_names = COUNT(__VA_ARGS__)

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

/* cmocka's handlers turn a fatal signal into a test failure and go on with
 * the next test: in a child that would run the rest of the suite. */
static void child_setup(int pipe_fd)
{
    static const int fatal[] = { SIGSYS, SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGABRT };
    struct rlimit no_core = { 0, 0 };
    for (size_t i = 0; i < ZARRAY_SIZE(fatal); i++)
        signal(fatal[i], SIG_DFL);
    setrlimit(RLIMIT_CORE, &no_core);
    fail_fd = pipe_fd;
}

/* Runs fn in a child; returns its wait status, with any failure message in
 * msg. */
static int run_in_child(void (*fn)(void *), void *arg, char *msg, size_t size)
{
    int p[2], status;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_setup(p[1]);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    ssize_t n = read(p[0], msg, size - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_child_ok(void (*fn)(void *), void *arg)
{
    char msg[1024];
    int status = run_in_child(fn, arg, msg, sizeof msg);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child failed (status 0x%x): %s", status, msg);
}

/* ------------------------------------------------------------ build errors */

static void expect_build_error(const struct zspec_seccomp *sc, const char *message)
{
    struct zerr e = { 0 };
    struct zseccomp *f = zseccomp_build(sc, &e);
    if (f) {
        zseccomp_free(f);
        fail_msg("expected \"%s\", the filter was built", message);
    }
    assert_string_equal(e.msg, message);
}

static void test_unknown_names(void **state)
{
    (void)state;
    struct zspec_seccomp sc = { .default_action = "SCMP_ACT_FOO" };
    expect_build_error(&sc, "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");

    struct zspec_seccomp_syscall calls[] = {
        { NAMES("getcwd"), .action = "SCMP_ACT_ALLOW" },
        { NAMES("mkdir"), .action = "SCMP_ACT_DENY" },
    };
    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_ERRNO", .syscalls = calls,
                                 .n_syscalls = 2 };
    expect_build_error(&sc, "linux.seccomp.syscalls[1].action: unknown action "
                       "\"SCMP_ACT_DENY\"");

    struct zspec_seccomp_arg args[] = {
        { .index = 0, .value = 1, .op = "SCMP_CMP_EQ" },
        { .index = 1, .value = 1, .op = "SCMP_CMP_SAME" },
    };
    struct zspec_seccomp_syscall with_args[] = {
        { NAMES("kill"), .action = "SCMP_ACT_ERRNO", .args = args, .n_args = 2 },
    };
    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_ALLOW", .syscalls = with_args,
                                 .n_syscalls = 1 };
    expect_build_error(&sc, "linux.seccomp.syscalls[0].args[1].op: unknown operator "
                       "\"SCMP_CMP_SAME\"");
    args[1] = (struct zspec_seccomp_arg){ .index = 6, .op = "SCMP_CMP_EQ" };
    expect_build_error(&sc, "linux.seccomp.syscalls[0].args[1].index: 6 is out of range "
                       "(0..5)");

    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_ALLOW",
                                 .architectures = STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"),
                                 .n_architectures = 2 };
    expect_build_error(&sc, "linux.seccomp.architectures[1]: unknown architecture "
                       "\"SCMP_ARCH_VAX\"");
    sc.architectures = STRV("x86_64");
    sc.n_architectures = 1;
    expect_build_error(&sc, "linux.seccomp.architectures[0]: unknown architecture "
                       "\"x86_64\"");

    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_ALLOW",
                                 .flags = STRV("SECCOMP_FILTER_FLAG_LOG",
                                               "SECCOMP_FILTER_FLAG_FAST"),
                                 .n_flags = 2 };
    expect_build_error(&sc, "linux.seccomp.flags[1]: unknown flag "
                       "\"SECCOMP_FILTER_FLAG_FAST\"");
}

static void test_invalid_combinations(void **state)
{
    (void)state;
    struct zspec_seccomp sc = { .default_action = "SCMP_ACT_ALLOW",
                                .has_default_errno_ret = true, .default_errno_ret = 5 };
    /* an errno value on an action that takes none is ignored, as runc does */
    {
        struct zerr be = { 0 };
        struct zseccomp *f = zseccomp_build(&sc, &be);
        assert_non_null(f);
        zseccomp_free(f);
    }
    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_ERRNO",
                                 .has_default_errno_ret = true, .default_errno_ret = 5000 };
    expect_build_error(&sc, "linux.seccomp.defaultErrnoRet: 5000 is out of range "
                       "(0..4095)");
    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_NOTIFY",
                                 .listener_path = "/run/agent.sock" };
    expect_build_error(&sc, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
                       "default action");

    struct zspec_seccomp_syscall calls[] = {
        { NAMES("getppid"), .action = "SCMP_ACT_KILL", .has_errno_ret = true,
          .errno_ret = 1 },
    };
    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_ALLOW", .syscalls = calls,
                                 .n_syscalls = 1 };
    {
        struct zerr be = { 0 };
        struct zseccomp *f = zseccomp_build(&sc, &be);
        assert_non_null(f);
        zseccomp_free(f);
    }

    calls[0] = (struct zspec_seccomp_syscall){ NAMES("mkdir"), .action = "SCMP_ACT_NOTIFY" };
    expect_build_error(&sc, "linux.seccomp.listenerPath: required when a rule uses "
                       "SCMP_ACT_NOTIFY");
    sc.listener_path = "/run/agent.sock";
    calls[0] = (struct zspec_seccomp_syscall){ NAMES("mkdir", "write"),
                                               .action = "SCMP_ACT_NOTIFY" };
    expect_build_error(&sc, "linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for "
                       "\"write\" (the runtime needs it to pass the listener fd)");

    calls[0] = (struct zspec_seccomp_syscall){ .action = "SCMP_ACT_ERRNO" };
    expect_build_error(&sc, "linux.seccomp.syscalls[0].names: at least one syscall name is "
                       "required");
}

static void test_build_valid(void **state)
{
    (void)state;
    struct zerr e = { 0 };
    struct zspec_seccomp_arg masked[] = {
        { .index = 1, .value = 0x7, .value_two = 0x4, .op = "SCMP_CMP_MASKED_EQ" },
    };
    struct zspec_seccomp_syscall calls[] = {
        { NAMES("getppid"), .action = "SCMP_ACT_ALLOW" },        /* = default: skipped */
        { NAMES("no_such_syscall_in_any_kernel", "getcwd"), .action = "SCMP_ACT_ERRNO",
          .has_errno_ret = true, .errno_ret = 38 },
        { NAMES("ptrace"), .action = "SCMP_ACT_KILL" },
        { NAMES("kexec_load"), .action = "SCMP_ACT_KILL_PROCESS" },
        { NAMES("reboot"), .action = "SCMP_ACT_KILL_THREAD" },
        { NAMES("acct"), .action = "SCMP_ACT_TRAP" },
        { NAMES("swapon"), .action = "SCMP_ACT_TRACE", .has_errno_ret = true,
          .errno_ret = 7 },
        { NAMES("swapoff"), .action = "SCMP_ACT_LOG" },
        { NAMES("mprotect"), .action = "SCMP_ACT_ERRNO", .args = masked, .n_args = 1 },
    };
    struct zspec_seccomp sc = {
        .default_action = "SCMP_ACT_ALLOW", .syscalls = calls,
        .n_syscalls = ZARRAY_SIZE(calls),
        /* The big-endian ones cannot share a filter with x86; they are
         * skipped. */
        .architectures = STRV("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                              "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPSEL",
                              "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
                              "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_MIPS",
                              "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_PPC",
                              "SCMP_ARCH_PPC64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X"),
        .n_architectures = 17,
        .flags = STRV("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
        .n_flags = 4,
    };
    struct zseccomp *f = zseccomp_build(&sc, &e);
    if (!f)
        fail_msg("%s", e.msg);
    assert_false(zseccomp_uses_notify(f));
    assert_true(zseccomp_instruction_count(f) > 10);
    zseccomp_free(f);

    /* NOTIFY only on syscalls this libseccomp does not know: no listener
     * fd will be made, but listenerPath is still checked. */
    struct zspec_seccomp_syscall unknown_notify[] = {
        { NAMES("no_such_syscall_in_any_kernel"), .action = "SCMP_ACT_NOTIFY" },
    };
    sc = (struct zspec_seccomp){ .default_action = "SCMP_ACT_ALLOW",
                                 .syscalls = unknown_notify, .n_syscalls = 1,
                                 .listener_path = "/run/agent.sock" };
    f = zseccomp_build(&sc, &e);
    if (!f)
        fail_msg("%s", e.msg);
    assert_false(zseccomp_uses_notify(f));
    zseccomp_free(f);
}

/* ------------------------------------------------------------ behaviour */

static struct zseccomp *build_or_fail(const struct zspec_seccomp *sc)
{
    struct zerr e = { 0 };
    struct zseccomp *f = zseccomp_build(sc, &e);
    if (!f)
        fail_msg("zseccomp_build: %s", e.msg);
    return f;
}

static void load_in_child(const struct zseccomp *f)
{
    struct zerr e = { 0 };
    int fd;
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    if (zseccomp_load(f, &fd, &e) < 0)
        child_fail("zseccomp_load: %s", e.msg);
    CHECK(fd == -1);
}

static void child_errno_rules(void *arg)
{
    char buf[256];
    load_in_child(arg);
    errno = 0;
    CHECK(syscall(SYS_mkdir, "/zone-seccomp-test-never-created", 0700) == -1);
    CHECK(errno == 123);
    errno = 0;
    CHECK(syscall(SYS_getcwd, buf, sizeof buf) == -1 && errno == EPERM);
    /* Not in the filter. */
    CHECK(syscall(SYS_getppid) > 0);
}

static void test_errno_ret(void **state)
{
    (void)state;
    struct zspec_seccomp_syscall calls[] = {
        { NAMES("mkdir"), .action = "SCMP_ACT_ERRNO", .has_errno_ret = true,
          .errno_ret = 123 },
        { NAMES("getcwd"), .action = "SCMP_ACT_ERRNO" },
    };
    struct zspec_seccomp sc = { .default_action = "SCMP_ACT_ALLOW", .syscalls = calls,
                                .n_syscalls = 2 };
    struct zseccomp *f = build_or_fail(&sc);
    expect_child_ok(child_errno_rules, f);
    zseccomp_free(f);
}

static void child_operators(void *arg)
{
    load_in_child(arg);
    /* NE */
    CHECK(syscall(SYS_alarm, 0) == 0);
    CHECK(syscall(SYS_alarm, 5) == -1 && errno == 95);
    /* LT */
    CHECK(syscall(SYS_sched_get_priority_max, 1) == -1 && errno == 91);
    CHECK(syscall(SYS_sched_get_priority_max, SCHED_IDLE) == 0);
    /* GE */
    CHECK(syscall(SYS_sched_get_priority_min, SCHED_IDLE) == -1 && errno == 92);
    CHECK(syscall(SYS_sched_get_priority_min, 1) == 1);
    /* GT */
    CHECK(syscall(SYS_getpgid, 2000000) == -1 && errno == 93);
    /* 0 is a valid answer when the group leader is outside our pid ns (CI). */
    CHECK(syscall(SYS_getpgid, 0) >= 0);
    /* LE */
    CHECK(syscall(SYS_getsid, 0) == -1 && errno == 94);
    CHECK(syscall(SYS_getsid, getpid()) >= 0);
    /* MASKED_EQ: all owner bits set */
    CHECK(syscall(SYS_umask, 0077) >= 0);
    CHECK(syscall(SYS_umask, 0750) == -1 && errno == 99);
    /* Two conditions on arg 0 of one entry: alternatives. */
    CHECK(syscall(SYS_umask, 0011) == -1 && errno == 98);
    CHECK(syscall(SYS_umask, 0022) == -1 && errno == 98);
    CHECK(syscall(SYS_umask, 0033) >= 0);
    /* Conditions on two indexes of one entry: both must hold. */
    CHECK(syscall(SYS_getpriority, PRIO_USER, 54321) == -1 && errno == 97);
    errno = 0;
    CHECK(syscall(SYS_getpriority, PRIO_USER, 0) >= 0 || errno != 97);
    errno = 0;
    CHECK(syscall(SYS_getpriority, PRIO_PROCESS, 54321) >= 0 || errno != 97);
}

static void test_operators(void **state)
{
    (void)state;
    struct zspec_seccomp_arg ne[] = { { .index = 0, .value = 0, .op = "SCMP_CMP_NE" } };
    struct zspec_seccomp_arg lt[] = { { .index = 0, .value = 3, .op = "SCMP_CMP_LT" } };
    struct zspec_seccomp_arg ge[] = { { .index = 0, .value = 5, .op = "SCMP_CMP_GE" } };
    struct zspec_seccomp_arg gt[] = { { .index = 0, .value = 1000000, .op = "SCMP_CMP_GT" } };
    struct zspec_seccomp_arg le[] = { { .index = 0, .value = 0, .op = "SCMP_CMP_LE" } };
    struct zspec_seccomp_arg masked[] = {
        { .index = 0, .value = 0700, .value_two = 0700, .op = "SCMP_CMP_MASKED_EQ" },
    };
    struct zspec_seccomp_arg same_index[] = {
        { .index = 0, .value = 0011, .op = "SCMP_CMP_EQ" },
        { .index = 0, .value = 0022, .op = "SCMP_CMP_EQ" },
    };
    struct zspec_seccomp_arg two_indexes[] = {
        { .index = 0, .value = PRIO_USER, .op = "SCMP_CMP_EQ" },
        { .index = 1, .value = 54321, .op = "SCMP_CMP_EQ" },
    };
#define ERRNO_RULE(name, ret, a) { NAMES(name), .action = "SCMP_ACT_ERRNO", \
    .has_errno_ret = true, .errno_ret = ret, .args = a, .n_args = ZARRAY_SIZE(a) }
    struct zspec_seccomp_syscall calls[] = {
        ERRNO_RULE("alarm", 95, ne),
        ERRNO_RULE("sched_get_priority_max", 91, lt),
        ERRNO_RULE("sched_get_priority_min", 92, ge),
        ERRNO_RULE("getpgid", 93, gt),
        ERRNO_RULE("getsid", 94, le),
        ERRNO_RULE("umask", 99, masked),
        ERRNO_RULE("umask", 98, same_index),
        ERRNO_RULE("getpriority", 97, two_indexes),
    };
#undef ERRNO_RULE
    struct zspec_seccomp sc = { .default_action = "SCMP_ACT_ALLOW", .syscalls = calls,
                                .n_syscalls = ZARRAY_SIZE(calls) };
    struct zseccomp *f = build_or_fail(&sc);
    expect_child_ok(child_operators, f);
    zseccomp_free(f);
}

static void child_default_errno(void *arg)
{
    char buf[64];
    load_in_child(arg);
    CHECK(syscall(SYS_getppid) == -1 && errno == 77);
    CHECK(syscall(SYS_getcwd, buf, sizeof buf) == -1 && errno == 77);
    CHECK(syscall(SYS_getpid) > 0);
}

static void test_default_errno_ret(void **state)
{
    (void)state;
    /* Everything the child (and ASan in it) does after loading must be
     * allowed. */
    struct zspec_seccomp_syscall calls[] = {
        { NAMES("exit", "exit_group", "write", "read", "rt_sigreturn", "rt_sigaction",
                "rt_sigprocmask", "sigaltstack", "getpid", "gettid", "tgkill", "mmap",
                "munmap", "mprotect", "madvise", "brk", "futex", "prctl", "openat",
                "close", "fstat", "newfstatat", "sched_yield", "clock_gettime"),
          .action = "SCMP_ACT_ALLOW" },
    };
    struct zspec_seccomp sc = { .default_action = "SCMP_ACT_ERRNO",
                                .has_default_errno_ret = true, .default_errno_ret = 77,
                                .syscalls = calls, .n_syscalls = 1 };
    struct zseccomp *f = build_or_fail(&sc);
    expect_child_ok(child_default_errno, f);
    zseccomp_free(f);
}

static void child_call_getppid(void *arg)
{
    load_in_child(arg);
    syscall(SYS_getppid);
    child_fail("getppid returned under a killing filter");
}

static void expect_sigsys(const char *action)
{
    char msg[1024];
    struct zspec_seccomp_syscall calls[] = { { NAMES("getppid"), .action = (char *)action } };
    struct zspec_seccomp sc = { .default_action = "SCMP_ACT_ALLOW", .syscalls = calls,
                                .n_syscalls = 1 };
    struct zseccomp *f = build_or_fail(&sc);
    int status = run_in_child(child_call_getppid, f, msg, sizeof msg);
    zseccomp_free(f);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
        fail_msg("%s: expected death by SIGSYS, status 0x%x: %s", action, status, msg);
}

static void test_kill_actions(void **state)
{
    (void)state;
    expect_sigsys("SCMP_ACT_KILL_PROCESS");
    expect_sigsys("SCMP_ACT_KILL_THREAD");
    expect_sigsys("SCMP_ACT_KILL");
    expect_sigsys("SCMP_ACT_TRAP");
}

static void child_log_and_trace(void *arg)
{
    load_in_child(arg);
    CHECK(syscall(SYS_getppid) == getppid());
    /* SCMP_ACT_TRACE without a tracer: the kernel fails the call with
     * ENOSYS. */
    CHECK(syscall(SYS_getpgid, 0) == -1 && errno == ENOSYS);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    bool filtered = false;
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f))
        if (strcmp(line, "Seccomp:\t2\n") == 0)
            filtered = true;
    fclose(f);
    CHECK(filtered);
}

static void test_log_trace_and_flags(void **state)
{
    (void)state;
    struct zspec_seccomp_syscall calls[] = {
        { NAMES("getppid"), .action = "SCMP_ACT_LOG" },
        { NAMES("getpgid"), .action = "SCMP_ACT_TRACE", .has_errno_ret = true,
          .errno_ret = 5 },
    };
    struct zspec_seccomp sc = {
        .default_action = "SCMP_ACT_ALLOW", .syscalls = calls, .n_syscalls = 2,
        .flags = STRV("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
        .n_flags = 3,
    };
    struct zseccomp *f = build_or_fail(&sc);
    expect_child_ok(child_log_and_trace, f);
    zseccomp_free(f);
}

static void child_without_privilege(void *arg)
{
    struct zerr e = { 0 };
    int fd = 5;
    cap_t caps = cap_get_proc();
    cap_value_t admin = CAP_SYS_ADMIN;
    CHECK(caps != NULL);
    CHECK(cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_CLEAR) == 0);
    CHECK(cap_set_proc(caps) == 0);
    cap_free(caps);
    CHECK(zseccomp_load(arg, &fd, &e) == -1);
    CHECK(fd == -1);
    if (strcmp(e.msg, "loading the seccomp filter (it needs process.noNewPrivileges or "
                      "CAP_SYS_ADMIN): permission denied") != 0)
        child_fail("unexpected message: %s", e.msg);
}

static void test_load_needs_privilege(void **state)
{
    (void)state;
    struct zspec_seccomp sc = { .default_action = "SCMP_ACT_LOG" };
    struct zseccomp *f = build_or_fail(&sc);
    expect_child_ok(child_without_privilege, f);
    zseccomp_free(f);
}

/* ------------------------------------------------------------ listener */

struct listener {
    char dir[64];
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int sock;
};

static void listener_open(struct listener *l)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(l->dir, sizeof l->dir, "/tmp/zone-seccomp-XXXXXX");
    assert_non_null(mkdtemp(l->dir));
    snprintf(l->path, sizeof l->path, "%s/agent.sock", l->dir);
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", l->path);
    l->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l->sock >= 0);
    assert_int_equal(bind(l->sock, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(l->sock, 4), 0);
}

static void listener_close(struct listener *l)
{
    close(l->sock);
    unlink(l->path);
    rmdir(l->dir);
}

/* Accepts one connection and reads the whole message and the fd it carries. */
static void listener_receive(struct listener *l, char *buf, size_t size, int *fd)
{
    struct pollfd pfd = { .fd = l->sock, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    int conn = accept4(l->sock, NULL, NULL, SOCK_CLOEXEC);
    assert_true(conn >= 0);

    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    assert_true(n > 0);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    assert_non_null(cm);
    assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
    memcpy(fd, CMSG_DATA(cm), sizeof *fd);
    size_t len = (size_t)n;
    while (len < size - 1 && (n = read(conn, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(conn);
}

static void test_send_to_listener(void **state)
{
    (void)state;
    struct listener l;
    struct zerr e = { 0 };
    char buf[2048], expected[1024];
    int p[2], fd;
    struct stat sent, received;

    listener_open(&l);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    const char *st = "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\","
                     "\"pid\":4242,\"bundle\":\"/b\"}";
    if (zseccomp_send_to_listener(l.path, p[0], 4242, "a \"quoted\"\\ value", st, &e) < 0)
        fail_msg("%s", e.msg);
    listener_receive(&l, buf, sizeof buf, &fd);
    snprintf(expected, sizeof expected, "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],"
             "\"pid\":4242,\"metadata\":\"a \\\"quoted\\\"\\\\ value\",\"state\":%s}", st);
    assert_string_equal(buf, expected);
    assert_int_equal(fstat(p[0], &sent), 0);
    assert_int_equal(fstat(fd, &received), 0);
    assert_int_equal(sent.st_ino, received.st_ino);
    close(fd);

    /* Without metadata the field is left out. */
    if (zseccomp_send_to_listener(l.path, p[1], 7, NULL, "{}", &e) < 0)
        fail_msg("%s", e.msg);
    listener_receive(&l, buf, sizeof buf, &fd);
    assert_string_equal(buf, "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":7,"
                        "\"state\":{}}");
    close(fd);

    char missing[200];
    snprintf(missing, sizeof missing, "%s/nobody.sock", l.dir);
    assert_int_equal(zseccomp_send_to_listener(missing, p[0], 1, NULL, "{}", &e), -1);
    snprintf(expected, sizeof expected, "linux.seccomp.listenerPath: connecting to %s: "
             "no such file or directory", missing);
    assert_string_equal(e.msg, expected);

    char long_path[200];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(zseccomp_send_to_listener(long_path, p[0], 1, NULL, "{}", &e), -1);
    assert_non_null(strstr(e.msg, "is longer than a unix socket path may be (107 bytes)"));

    close(p[0]);
    close(p[1]);
    listener_close(&l);
}

struct notify_child {
    const struct zseccomp *filter;
    const char *listener_path;
};

static void child_notify(void *arg)
{
    struct notify_child *nc = arg;
    struct zerr e = { 0 };
    int fd;
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    if (zseccomp_load(nc->filter, &fd, &e) < 0)
        child_fail("zseccomp_load: %s", e.msg);
    CHECK(fd >= 0);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    if (zseccomp_send_to_listener(nc->listener_path, fd, getpid(), "m",
                                  "{\"status\":\"creating\"}", &e) < 0)
        child_fail("zseccomp_send_to_listener: %s", e.msg);
    close(fd);
    /* Answered by the test's agent. */
    long r = syscall(SYS_mkdir, "/zone-seccomp-test-never-created", 0700);
    if (r != 42)
        child_fail("mkdir returned %ld (errno %d), expected 42 from the agent", r, errno);
}

static void test_notify(void **state)
{
    (void)state;
    struct listener l;
    char buf[1024], expected[512];
    int fd, status;

    listener_open(&l);
    struct zspec_seccomp_syscall calls[] = { { NAMES("mkdir"), .action = "SCMP_ACT_NOTIFY" } };
    struct zspec_seccomp sc = {
        .default_action = "SCMP_ACT_ALLOW", .syscalls = calls, .n_syscalls = 1,
        .listener_path = l.path,
        .flags = STRV("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
        .n_flags = 2,
    };
    struct zseccomp *f = build_or_fail(&sc);
    assert_true(zseccomp_uses_notify(f));

    struct notify_child nc = { f, l.path };
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_setup(p[1]);
        child_notify(&nc);
        _exit(0);
    }
    close(p[1]);

    listener_receive(&l, buf, sizeof buf, &fd);
    snprintf(expected, sizeof expected, "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],"
             "\"pid\":%d,\"metadata\":\"m\",\"state\":{\"status\":\"creating\"}}", (int)pid);
    assert_string_equal(buf, expected);

    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
    assert_int_equal(seccomp_notify_receive(fd, req), 0);
    assert_int_equal(req->pid, pid);
    assert_int_equal(req->data.nr, SYS_mkdir);
    resp->id = req->id;
    resp->val = 42;
    resp->error = 0;
    resp->flags = 0;
    assert_int_equal(seccomp_notify_respond(fd, resp), 0);
    seccomp_notify_free(req, resp);
    close(fd);

    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child failed (status 0x%x): %s", status, buf);
    zseccomp_free(f);
    listener_close(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_invalid_combinations),
        cmocka_unit_test(test_build_valid),
        cmocka_unit_test(test_errno_ret),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_default_errno_ret),
        cmocka_unit_test(test_kill_actions),
        cmocka_unit_test(test_log_trace_and_flags),
        cmocka_unit_test(test_load_needs_privilege),
        cmocka_unit_test(test_send_to_listener),
        cmocka_unit_test(test_notify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
