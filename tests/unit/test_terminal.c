/* runtime/terminal.c: pty pairs, the console-socket handoff (runc's
 * protocol: SCM_RIGHTS + the name as payload), window size, and the
 * controlling terminal. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "runtime/terminal.h"

static void expect_msg(const struct zerr *e, const char *part)
{
    if (!strstr(e->msg, part))
        fail_msg("error \"%s\" lacks \"%s\"", e->msg, part);
}

/* Receives one fd and the payload the way recvtty / conmon do. */
static int recv_fd(int sock, char *name, size_t size)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = name, .iov_len = size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return -1;
    name[n] = '\0';
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static void test_open_pty(void **state)
{
    int master = -1, slave = -1;
    _cleanup_free_ char *path = NULL;
    struct zerr e = {0};
    if (zterm_open_pty(NULL, &master, &slave, &path, &e) < 0)
        fail_msg("%s", e.msg);
    assert_non_null(path);
    assert_int_equal(strncmp(path, "/dev/pts/", 9), 0);
    assert_true(isatty(slave));
    assert_true(fcntl(master, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(slave, F_GETFD) & FD_CLOEXEC);
    char name[64];
    assert_int_equal(ptsname_r(master, name, sizeof name), 0);
    assert_string_equal(name, path);

    /* data flows slave -> master */
    assert_int_equal(write(slave, "hi\n", 3), 3);
    char buf[16] = "";
    ssize_t n = read(master, buf, sizeof buf - 1);
    assert_true(n >= 2);
    assert_int_equal(strncmp(buf, "hi", 2), 0);
    close(master);
    close(slave);

    /* the devpts instance's own ptmx works the same */
    if (zterm_open_pty("/dev/pts/ptmx", &master, &slave, NULL, &e) < 0)
        fail_msg("%s", e.msg);
    assert_true(isatty(slave));
    close(master);
    close(slave);

    assert_int_equal(zterm_open_pty("/nonexistent/ptmx", &master, &slave, NULL, &e), -1);
    assert_string_equal(e.msg, "opening /nonexistent/ptmx: no such file or directory");
    assert_int_equal(master, -1);
    assert_int_equal(slave, -1);
    assert_int_equal(zterm_open_pty("/dev/null", &master, &slave, NULL, &e), -1);
    expect_msg(&e, "/dev/null: unlocking the pty");
}

static void test_send_over_socketpair(void **state)
{
    int master = -1, slave = -1;
    struct zerr e = {0};
    if (zterm_open_pty(NULL, &master, &slave, NULL, &e) < 0)
        fail_msg("%s", e.msg);
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    if (zterm_send_master_fd(sp[0], master, &e) < 0)
        fail_msg("%s", e.msg);

    char name[4096];
    int got = recv_fd(sp[1], name, sizeof name);
    assert_true(got >= 0);
    assert_string_equal(name, ZTERM_MASTER_NAME);
    assert_string_equal(name, "/dev/ptmx");

    /* it is a pty master, and the same pty */
    unsigned n_orig, n_got;
    assert_int_equal(ioctl(master, TIOCGPTN, &n_orig), 0);
    assert_int_equal(ioctl(got, TIOCGPTN, &n_got), 0);
    assert_int_equal(n_orig, n_got);
    close(master);
    assert_int_equal(write(slave, "x", 1), 1);
    char c = 0;
    assert_int_equal(read(got, &c, 1), 1);
    assert_int_equal(c, 'x');

    close(got);
    close(slave);
    close(sp[0]);
    close(sp[1]);
}

static void test_send_to_path(void **state)
{
    char dir[] = "/tmp/zone-term-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%.40s/console.sock", dir);

    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(lfd, 1), 0);

    int master = -1, slave = -1;
    struct zerr e = {0};
    if (zterm_open_pty(NULL, &master, &slave, NULL, &e) < 0)
        fail_msg("%s", e.msg);
    if (zterm_send_master(path, master, &e) < 0)
        fail_msg("%s", e.msg);
    int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(conn >= 0);
    char name[64];
    int got = recv_fd(conn, name, sizeof name);
    assert_true(got >= 0);
    unsigned n;
    assert_int_equal(ioctl(got, TIOCGPTN, &n), 0);
    assert_string_equal(name, "/dev/ptmx");
    close(got);
    close(conn);
    close(lfd);
    unlink(path);

    /* nobody listening any more */
    assert_int_equal(zterm_send_master(path, master, &e), -1);
    char want[200];
    snprintf(want, sizeof want, "console socket \"%s\": connect: no such file or directory", path);
    assert_string_equal(e.msg, want);
    rmdir(dir);

    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(zterm_send_master(longpath, master, &e), -1);
    expect_msg(&e, "path must be 1 to 107 bytes");
    close(master);
    close(slave);
}

static void test_console_size(void **state)
{
    int master = -1, slave = -1;
    struct zerr e = {0};
    if (zterm_open_pty(NULL, &master, &slave, NULL, &e) < 0)
        fail_msg("%s", e.msg);
    if (zterm_set_size(master, 40, 120, &e) < 0)
        fail_msg("%s", e.msg);
    struct winsize ws;
    assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
    assert_int_equal(ws.ws_row, 40);
    assert_int_equal(ws.ws_col, 120);

    /* the size also survives the handoff: read it through a received fd */
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    assert_int_equal(zterm_send_master_fd(sp[0], master, &e), 0);
    char name[64];
    int got = recv_fd(sp[1], name, sizeof name);
    assert_true(got >= 0);
    assert_int_equal(ioctl(got, TIOCGWINSZ, &ws), 0);
    assert_int_equal(ws.ws_row, 40);
    assert_int_equal(ws.ws_col, 120);
    close(got);
    close(sp[0]);
    close(sp[1]);

    assert_int_equal(zterm_set_size(master, 70000, 10, &e), -1);
    expect_msg(&e, "console size 70000x10");
    _cleanup_close_ int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_int_equal(zterm_set_size(null_fd, 1, 1, &e), -1);
    expect_msg(&e, "setting the console size to 1x1");
    close(master);
    close(slave);
}

static void test_make_controlling(void **state)
{
    int master = -1, slave = -1;
    _cleanup_free_ char *path = NULL;
    struct zerr e = {0};
    if (zterm_open_pty(NULL, &master, &slave, &path, &e) < 0)
        fail_msg("%s", e.msg);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct zerr ce = {0};
        if (zterm_make_controlling(slave, &ce) < 0) {
            fprintf(stderr, "%s\n", ce.msg);
            _exit(10);
        }
        for (int fd = 0; fd <= 2; fd++) {
            if (!isatty(fd) || (fcntl(fd, F_GETFD) & FD_CLOEXEC))
                _exit(11);
            char name[64];
            if (ttyname_r(fd, name, sizeof name) != 0 || strcmp(name, path) != 0)
                _exit(12);
        }
        if (tcgetsid(0) != getpid() || getsid(0) != getpid())
            _exit(13);
        /* /dev/tty is now this pty */
        int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
        if (tty < 0)
            _exit(14);
        _exit(0);
    }
    close(slave);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_pty),
        cmocka_unit_test(test_send_over_socketpair),
        cmocka_unit_test(test_send_to_path),
        cmocka_unit_test(test_console_size),
        cmocka_unit_test(test_make_controlling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
