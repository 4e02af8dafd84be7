/* pty setup for process.terminal and the --console-socket handoff. */
#include "runtime/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "core/cleanup.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The devpts directory that serves ptmx_path: the directory of its target
 * when it resolves to ".../ptmx" inside a pts directory, "/dev/pts" for the
 * legacy /dev/ptmx device node. */
static void pts_dir_of(const char *ptmx_path, char *dir, size_t size)
{
    char real[PATH_MAX];
    snprintf(dir, size, "/dev/pts");
    if (!realpath(ptmx_path, real))
        return;
    char *slash = strrchr(real, '/');
    if (!slash || strcmp(slash + 1, "ptmx") != 0 || slash == real)
        return;
    *slash = '\0';
    if (strcmp(real, "/dev") == 0)
        return;
    snprintf(dir, size, "%s", real);
}

/* "<pts dir>/<N>" for the pty of master. */
static int slave_path_by_number(int master, const char *ptmx_path,
                                char *path, size_t size, struct zerr *e)
{
    unsigned n;
    char dir[PATH_MAX];
    if (ioctl(master, TIOCGPTN, &n) < 0)
        return zerr_sys(e, "%s: TIOCGPTN", ptmx_path);
    pts_dir_of(ptmx_path, dir, sizeof dir);
    int w = snprintf(path, size, "%s/%u", dir, n);
    if (w < 0 || (size_t)w >= size)
        return zerr_set(e, ENAMETOOLONG, "%s: pty path too long", ptmx_path);
    return 0;
}

/* Opens the slave by number: only for kernels without TIOCGPTPEER. */
static int open_slave_by_number(int master, const char *ptmx_path,
                                char *path, size_t size, struct zerr *e)
{
    if (slave_path_by_number(master, ptmx_path, path, size, e) < 0)
        return -1;
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return zerr_sys(e, "opening pty slave %s", path);
    return fd;
}

int zterm_open_pty(const char *ptmx_path, int *master, int *slave,
                   char **slave_path, struct zerr *e)
{
    const char *ptmx = ptmx_path ? ptmx_path : "/dev/ptmx";
    *master = *slave = -1;
    if (slave_path)
        *slave_path = NULL;

    _cleanup_close_ int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return zerr_sys(e, "opening %s", ptmx);
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
        return zerr_sys(e, "%s: unlocking the pty", ptmx);

    char path[PATH_MAX];
    path[0] = '\0';
    _cleanup_close_ int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        if (errno != EINVAL && errno != ENOTTY)
            return zerr_sys(e, "%s: opening the pty slave (TIOCGPTPEER)", ptmx);
        s = open_slave_by_number(m, ptmx, path, sizeof path, e);
        if (s < 0)
            return -1;
    }

    if (slave_path) {
        if (!path[0]) {
            /* The kernel's name for the slave, as seen in our mount ns. */
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", s);
            ssize_t len = readlink(link, path, sizeof path - 1);
            if (len > 0 && path[0] == '/') {
                path[len] = '\0';
            } else if (slave_path_by_number(m, ptmx, path, sizeof path, e) < 0) {
                return -1;
            }
        }
        *slave_path = strdup(path);
        if (!*slave_path)
            return zerr_sys(e, "allocating the pty path");
    }
    *master = steal_fd(&m);
    *slave = steal_fd(&s);
    return 0;
}

int zterm_send_master_fd(int sock_fd, int master, struct zerr *e)
{
    static const char name[] = ZTERM_MASTER_NAME;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { .iov_base = (void *)name, .iov_len = sizeof name - 1 };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));

    for (;;) {
        ssize_t n = sendmsg(sock_fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            break;
        if (errno != EINTR)
            return zerr_sys(e, "sending the pty master over the console socket");
    }
    return 0;
}

int zterm_send_master(const char *console_socket_path, int master,
                      struct zerr *e)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    size_t len = strlen(console_socket_path);
    if (len == 0 || len >= sizeof addr.sun_path)
        return zerr_set(e, ENAMETOOLONG,
                        "console socket \"%s\": path must be 1 to %zu bytes",
                        console_socket_path, sizeof addr.sun_path - 1);
    memcpy(addr.sun_path, console_socket_path, len + 1);

    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return zerr_sys(e, "console socket \"%s\": socket", console_socket_path);
    int r;
    do
        r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return zerr_sys(e, "console socket \"%s\": connect", console_socket_path);
    if (zterm_send_master_fd(fd, master, e) < 0)
        return zerr_prefix(e, "console socket \"%s\"", console_socket_path);
    return 0;
}

int zterm_make_controlling(int slave, struct zerr *e)
{
    if (setsid() < 0 && getsid(0) != getpid())
        return zerr_sys(e, "setsid (for the controlling terminal)");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return zerr_sys(e, "making the pty the controlling terminal (TIOCSCTTY)");
    for (int fd = 0; fd <= 2; fd++) {
        if (fd == slave) {
            if (fcntl(fd, F_SETFD, 0) < 0)
                return zerr_sys(e, "pty as fd %d", fd);
            continue;
        }
        if (dup2(slave, fd) < 0)
            return zerr_sys(e, "pty as fd %d (dup2)", fd);
    }
    return 0;
}

int zterm_set_size(int fd, unsigned rows, unsigned cols, struct zerr *e)
{
    if (rows > USHRT_MAX || cols > USHRT_MAX)
        return zerr_set(e, EINVAL, "console size %ux%u: at most %u each", rows,
                        cols, (unsigned)USHRT_MAX);
    struct winsize ws = { .ws_row = (unsigned short)rows,
                          .ws_col = (unsigned short)cols };
    if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
        return zerr_sys(e, "setting the console size to %ux%u", rows, cols);
    return 0;
}
