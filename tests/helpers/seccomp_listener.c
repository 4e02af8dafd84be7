/*
 * seccomp_listener: the agent at an OCI linux.seccomp.listenerPath.
 *
 *   seccomp_listener [--errno N] [--state-file FILE] [--log FILE] SOCKET
 *
 * Listens on the unix socket SOCKET; the runtime connects and sends the
 * container process state (JSON) with the seccomp notify fd attached via
 * SCM_RIGHTS.  The JSON is saved to --state-file.  Then every notification
 * is answered with "fail with errno N" (default EDOM, an errno no real
 * mkdir would return, so the test can tell the agent answered) and logged
 * as "notify nr=NR pid=PID" to --log (default stdout).  It exits 0 when
 * every process that had the filter is gone (POLLHUP), 1 on errors.
 * "SOCKET.ready" appears once the socket is listening.
 */
#define _GNU_SOURCE /* the helper rule in the Makefile builds without it */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "seccomp_listener: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    const char *state_path = NULL, *log_path = NULL, *sock_path = NULL;
    int answer_errno = EDOM;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--errno") && i + 1 < argc)
            answer_errno = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--state-file") && i + 1 < argc)
            state_path = argv[++i];
        else if (!strcmp(argv[i], "--log") && i + 1 < argc)
            log_path = argv[++i];
        else if (argv[i][0] != '-' && !sock_path)
            sock_path = argv[i];
        else {
            fprintf(stderr, "usage: seccomp_listener [--errno N] [--state-file F] [--log F] SOCKET\n");
            return 1;
        }
    }
    if (!sock_path) {
        fprintf(stderr, "seccomp_listener: missing SOCKET\n");
        return 1;
    }
    FILE *log = stdout;
    if (log_path && !(log = fopen(log_path, "w")))
        die("open log");
    setvbuf(log, NULL, _IOLBF, 0);

    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(sock_path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "seccomp_listener: socket path too long\n");
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

    /* The state JSON may exceed one read; the fd rides on the first message. */
    static char payload[1 << 16];
    size_t got = 0;
    int notify_fd = -1;
    for (;;) {
        char control[CMSG_SPACE(sizeof(int) * 4)];
        struct iovec iov = { .iov_base = payload + got, .iov_len = sizeof(payload) - 1 - got };
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control, .msg_controllen = sizeof(control),
        };
        ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0)
            die("recvmsg");
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && notify_fd < 0)
                memcpy(&notify_fd, CMSG_DATA(c), sizeof(int));
        got += (size_t)n;
        if (n == 0 || got >= sizeof(payload) - 1)
            break;
        /* Stop reading once a complete JSON object has arrived. */
        int depth = 0, in_str = 0, esc = 0, complete = 0;
        for (size_t i = 0; i < got; i++) {
            char ch = payload[i];
            if (in_str) {
                if (esc) esc = 0;
                else if (ch == '\\') esc = 1;
                else if (ch == '"') in_str = 0;
            } else if (ch == '"') in_str = 1;
            else if (ch == '{') depth++;
            else if (ch == '}' && --depth == 0) complete = 1;
        }
        if (complete)
            break;
    }
    payload[got] = '\0';
    close(conn);
    close(lsock);
    unlink(sock_path);
    if (notify_fd < 0) {
        fprintf(stderr, "seccomp_listener: no file descriptor received (payload: %s)\n", payload);
        return 1;
    }
    if (state_path) {
        FILE *f = fopen(state_path, "w");
        if (!f || fputs(payload, f) < 0 || fclose(f) != 0)
            die("write state file");
    }

    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
        die("SECCOMP_GET_NOTIF_SIZES");
    struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
    struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
    if (!req || !resp)
        die("calloc");

    for (;;) {
        struct pollfd p = { .fd = notify_fd, .events = POLLIN };
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (p.revents & POLLIN) {
            memset(req, 0, sizes.seccomp_notif);
            if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
                if (errno == EINTR || errno == ENOENT)
                    continue; /* the task died or was interrupted meanwhile */
                die("SECCOMP_IOCTL_NOTIF_RECV");
            }
            fprintf(log, "notify nr=%d pid=%u\n", req->data.nr, req->pid);
            memset(resp, 0, sizes.seccomp_notif_resp);
            resp->id = req->id;
            resp->error = -answer_errno;
            if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
                die("SECCOMP_IOCTL_NOTIF_SEND");
            continue;
        }
        if (p.revents & (POLLHUP | POLLERR))
            break;
    }
    fprintf(log, "done\n");
    return 0;
}
