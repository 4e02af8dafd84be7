#include "runtime/sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct wire_header {
    uint32_t type;
    int32_t value;
};

int zsync_pair(int fds[2], struct zerr *e)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
        return zerr_sys(e, "socketpair");
    return 0;
}

int zsync_send(int sock, uint32_t type, int32_t value, const char *payload,
               int fd, struct zerr *e)
{
    struct wire_header h = {.type = type, .value = value};
    size_t plen = payload ? strnlen(payload, ZSYNC_PAYLOAD_MAX) : 0;
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)payload, plen}};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = plen ? 2 : 1};

    if (fd >= 0) {
        struct cmsghdr *c;
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR)
            return zerr_sys(e, "sync: send");
    }
    return 0;
}

int zsync_recv(int sock, struct zsync_msg *m, struct zerr *e)
{
    struct wire_header h;
    struct iovec iov[2] = {{&h, sizeof h}, {m->payload, sizeof m->payload - 1}};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2,
                         .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n;

    m->fd = -1;
    m->len = 0;
    m->payload[0] = '\0';
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return zerr_sys(e, "sync: receive");
    if (n == 0)
        return zerr_set(e, EPIPE, "container init exited during setup");
    if ((size_t)n < sizeof h)
        return zerr_set(e, EPROTO, "sync: short message");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&m->fd, CMSG_DATA(c), sizeof(int));
    }
    m->type = h.type;
    m->value = h.value;
    m->len = (size_t)n - sizeof h;
    m->payload[m->len] = '\0';
    return 0;
}

int zsync_expect(int sock, uint32_t type, struct zsync_msg *m, struct zerr *e)
{
    if (zsync_recv(sock, m, e) < 0)
        return -1;
    if (m->type == ZSYNC_ERROR)
        return zerr_set(e, m->value, "%s", m->payload);
    if (m->type != type) {
        if (m->fd >= 0)
            close(m->fd);
        return zerr_set(e, EPROTO, "sync: expected message %u, got %u", type, m->type);
    }
    return 0;
}

void zsync_send_error(int sock, const struct zerr *err)
{
    struct zerr ignored;
    zsync_send(sock, ZSYNC_ERROR, err->code, err->msg, -1, &ignored);
}
