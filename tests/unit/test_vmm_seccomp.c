/* The monitor's seccomp filter (vm-sandbox/vmm/seccomp.c), without KVM:
 * each case forks a child that confines itself and then makes syscalls;
 * the parent reads how the child ended. The children leave with _exit, so
 * no atexit handler (LeakSanitizer's) runs under the filter. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm-sandbox/vmm/seccomp.h"

/* Runs fn in a child; returns its wait status. */
static int run_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void confine_or_exit(const int *extra, size_t n)
{
    struct zerr e = { 0 };
    if (vmm_seccomp_confine(extra, n, &e) < 0)
        _exit(10);
}

/* not listed: the monitor creates no pipes or socket pairs once running */
static void socketpair_child(void)
{
    confine_or_exit(NULL, 0);
    int fds[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    _exit(20);
}

static void pipe2_child(void)
{
    confine_or_exit(NULL, 0);
    int fds[2];
    pipe2(fds, O_CLOEXEC);
    _exit(21);
}

static void *thread_fn(void *arg)
{
    return arg;
}

/* listed syscalls work: pipes' I/O, unix sockets, memory, ioctl, threads */

static void listed_ok(void)
{
    int fds[2];
    if (pipe(fds) < 0)
        _exit(11);
    confine_or_exit(NULL, 0);
    if (write(fds[1], "x", 1) != 1)
        _exit(12);
    char c;
    if (read(fds[0], &c, 1) != 1 || c != 'x')
        _exit(13);
    int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (u < 0)
        _exit(14);
    close(u);
    void *p = malloc(1 << 20);
    if (!p)
        _exit(15);
    memset(p, 1, 1 << 20);
    free(p);
    int avail = -1;
    if (ioctl(fds[0], FIONREAD, &avail) < 0 || avail != 0)
        _exit(16);
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, thread_fn, (void *)0x1) != 0 || pthread_join(t, &ret) != 0 || ret != (void *)0x1)
        _exit(17);
    if (getpid() <= 0)
        _exit(18);
    _exit(0);
}

static void test_listed_syscalls_work(void **state)
{
    (void)state;
    int st = run_child(listed_ok);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void inet_socket(void)
{
    confine_or_exit(NULL, 0);
    socket(AF_INET, SOCK_STREAM, 0);
    _exit(30);
}

static void exec_shell(void)
{
    confine_or_exit(NULL, 0);
    char *argv[] = { "/bin/true", NULL };
    execve("/bin/true", argv, environ);
    _exit(31);
}

static void unlisted_ioctl(void)
{
    confine_or_exit(NULL, 0);
    struct winsize ws;
    ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
    _exit(32);
}

static void expect_sigsys(void (*fn)(void))
{
    int st = run_child(fn);
    if (WIFEXITED(st))
        fail_msg("child exited %d instead of dying of SIGSYS", WEXITSTATUS(st));
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void test_unlisted_syscalls_kill(void **state)
{
    (void)state;
    expect_sigsys(inet_socket);
    expect_sigsys(exec_shell);
    expect_sigsys(unlisted_ioctl);
    expect_sigsys(socketpair_child);
    expect_sigsys(pipe2_child);
}

/* A thread started before the filter is bound by it too (TSYNC). */
static int go_pipe[2];

static void *late_socket(void *arg)
{
    (void)arg;
    char c;
    if (read(go_pipe[0], &c, 1) != 1)
        _exit(40);
    socket(AF_INET, SOCK_DGRAM, 0);
    _exit(41);
}

static void thread_before_confine(void)
{
    if (pipe(go_pipe) < 0)
        _exit(42);
    pthread_t t;
    if (pthread_create(&t, NULL, late_socket, NULL) != 0)
        _exit(43);
    confine_or_exit(NULL, 0);
    if (write(go_pipe[1], "g", 1) != 1)
        _exit(44);
    pthread_join(t, NULL);
    _exit(45);
}

static void test_existing_threads_confined(void **state)
{
    (void)state;
    expect_sigsys(thread_before_confine);
}

static void extra_uname(void)
{
    int extra[] = { SYS_uname, SYS_socketpair, SYS_uname };
    confine_or_exit(extra, 3);
    struct utsname u;
    if (uname(&u) < 0)
        _exit(50);
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
        _exit(51);
    _exit(0);
}

static void test_extra_syscalls(void **state)
{
    (void)state;
    int st = run_child(extra_uname);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void extra_ioctl_child(void)
{
    unsigned long extra[] = { TIOCGWINSZ, FIONREAD };
    struct zerr e = { 0 };
    if (vmm_seccomp_confine_ioctls(NULL, 0, extra, 2, &e) < 0)
        _exit(80);
    int fds[2];
    if (pipe(fds) < 0) /* not reached: pipe is not listed */
        _exit(81);
    _exit(82);
}

static void extra_ioctl_ok_child(void)
{
    unsigned long extra[] = { TIOCGWINSZ, TIOCGWINSZ };
    struct zerr e = { 0 };
    if (vmm_seccomp_confine_ioctls(NULL, 0, extra, 2, &e) < 0)
        _exit(83);
    struct winsize ws;
    ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);    /* allowed: ENOTTY or a size, no SIGSYS */
    _exit(0);
}

static void unlisted_ioctl_after_extra(void)
{
    unsigned long extra[] = { TIOCGWINSZ };
    struct zerr e = { 0 };
    if (vmm_seccomp_confine_ioctls(NULL, 0, extra, 1, &e) < 0)
        _exit(85);
    char c = 0;
    ioctl(STDIN_FILENO, TIOCSTI, &c);        /* not listed */
    _exit(86);
}

static void test_extra_ioctls(void **state)
{
    (void)state;
    int st = run_child(extra_ioctl_ok_child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    expect_sigsys(extra_ioctl_child);
    expect_sigsys(unlisted_ioctl_after_extra);
}

static void log_mode_child(void)
{
    setenv("ZONE_VM_SECCOMP_LOG", "1", 1);
    confine_or_exit(NULL, 0);
    /* logged, not killed: the call itself goes through */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    _exit(s >= 0 ? 0 : 60);
}

static void test_log_mode(void **state)
{
    (void)state;
    int st = run_child(log_mode_child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void bad_extra_child(void)
{
    int extra[] = { -5 };
    struct zerr e = { 0 };
    if (vmm_seccomp_confine(extra, 1, &e) == 0)
        _exit(70);
    if (!strstr(e.msg, "extra syscall 0"))
        _exit(71);
    if (vmm_seccomp_confine(NULL, 2, &e) == 0)
        _exit(72);
    /* nothing was installed: an unlisted syscall still works */
    int fds[2];
    if (pipe2(fds, 0) < 0)
        _exit(73);
    _exit(0);
}

static void test_bad_extra_list(void **state)
{
    (void)state;
    int st = run_child(bad_extra_child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_syscalls_work),
        cmocka_unit_test(test_unlisted_syscalls_kill),
        cmocka_unit_test(test_existing_threads_confined),
        cmocka_unit_test(test_extra_syscalls),
        cmocka_unit_test(test_extra_ioctls),
        cmocka_unit_test(test_log_mode),
        cmocka_unit_test(test_bad_extra_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
