/*
 * recvtty: the receiving end of an OCI runtime's --console-socket.
 *
 *   recvtty [--out FILE] [--name-file FILE] [--input STRING] [--no-relay]
 *           [--resize-when FILE ROWSxCOLS] SOCKET
 *
 * Listens on the unix socket SOCKET, accepts one connection and receives one
 * file descriptor passed with SCM_RIGHTS.  The fd must be a pty master
 * (TIOCGPTN must succeed); its slave name ("/dev/pts/N") is written to
 * --name-file.  Then, unless --no-relay, everything read from the master is
 * copied to --out (default stdout) until the slave side is closed by every
 * process (EIO/EOF); --input is written to the master first, so a test can
 * type into the container.  Exit status: 0 on success, 1 on any error, with
 * the reason on stderr.  Once the socket is bound, "SOCKET.ready" is created
 * so a test can wait for it without racing.  --resize-when sets the
 * terminal's size at the master, as an engine does when its user resizes
 * the window, once FILE exists (checked every 100 ms while relaying).
 */
#define _GNU_SOURCE /* the helper rule in the Makefile builds without it */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "recvtty: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int receive_fd(int conn)
{
    char payload[4096];
    char control[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = sizeof(control),
    };
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
        die("recvmsg");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof(fd));
            return fd;
        }
    }
    fprintf(stderr, "recvtty: message of %zd bytes carried no file descriptor\n", n);
    exit(1);
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("write");
        }
        buf += w;
        len -= (size_t)w;
    }
}

int main(int argc, char **argv)
{
    const char *out_path = NULL, *name_path = NULL, *input = NULL, *sock_path = NULL;
    const char *resize_when = NULL;
    struct winsize resize = { 0 };
    int relay = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out_path = argv[++i];
        else if (!strcmp(argv[i], "--name-file") && i + 1 < argc)
            name_path = argv[++i];
        else if (!strcmp(argv[i], "--input") && i + 1 < argc)
            input = argv[++i];
        else if (!strcmp(argv[i], "--no-relay"))
            relay = 0;
        else if (!strcmp(argv[i], "--resize-when") && i + 2 < argc &&
                 sscanf(argv[i + 2], "%hux%hu", &resize.ws_row, &resize.ws_col) == 2) {
            resize_when = argv[i + 1];
            i += 2;
        }
        else if (argv[i][0] != '-' && !sock_path)
            sock_path = argv[i];
        else {
            fprintf(stderr, "usage: recvtty [--out FILE] [--name-file FILE] [--input S] [--no-relay] "
                            "[--resize-when FILE ROWSxCOLS] SOCKET\n");
            return 1;
        }
    }
    if (!sock_path) {
        fprintf(stderr, "recvtty: missing SOCKET\n");
        return 1;
    }

    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(sock_path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "recvtty: socket path too long\n");
        return 1;
    }
    strcpy(addr.sun_path, sock_path);
    int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lsock < 0)
        die("socket");
    unlink(sock_path);
    if (bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        die("bind");
    if (listen(lsock, 1) < 0)
        die("listen");

    char ready[sizeof(addr.sun_path) + 8];
    snprintf(ready, sizeof(ready), "%s.ready", sock_path);
    int rfd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (rfd < 0)
        die("create ready file");
    close(rfd);

    int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        die("accept");
    int master = receive_fd(conn);
    close(conn);
    close(lsock);
    unlink(sock_path);

    unsigned int ptn;
    if (ioctl(master, TIOCGPTN, &ptn) < 0)
        die("received fd is not a pty master (TIOCGPTN)");
    if (name_path) {
        FILE *f = fopen(name_path, "w");
        if (!f)
            die("open name file");
        fprintf(f, "/dev/pts/%u\n", ptn);
        if (fclose(f) != 0)
            die("write name file");
    }
    if (input)
        write_all(master, input, strlen(input));
    if (!relay)
        return 0;

    int out = STDOUT_FILENO;
    if (out_path) {
        out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0)
            die("open output");
    }
    char buf[4096];
    for (;;) {
        if (resize_when) {
            struct pollfd p = { .fd = master, .events = POLLIN };
            if (access(resize_when, F_OK) == 0) {
                if (ioctl(master, TIOCSWINSZ, &resize) < 0)
                    die("resize the pty (TIOCSWINSZ)");
                resize_when = NULL;
            } else if (poll(&p, 1, 100) == 0) {
                continue;
            }
        }
        ssize_t n = read(master, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno == EIO))
            break; /* every slave fd is closed: the container side is gone */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("read pty master");
        }
        write_all(out, buf, (size_t)n);
    }
    return 0;
}
