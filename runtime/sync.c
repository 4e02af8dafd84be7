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

int zsync_send_fds(int sock, uint32_t type, int32_t value, const char *payload,
                   const int *fds, size_t n, struct zerr *e)
{
    struct wire_header h = {.type = type, .value = value};
    size_t plen = payload ? strlen(payload) : 0;
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)payload, plen}};
    union {
        char buf[CMSG_SPACE(ZSYNC_FDS_MAX * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = plen ? 2 : 1};

    /* the receiver keeps ZSYNC_PAYLOAD_MAX - 1 bytes and a NUL */
    if (plen >= ZSYNC_PAYLOAD_MAX)
        return zerr_set(e, E2BIG, "sync: a payload of %zu bytes (at most %d)", plen,
                        ZSYNC_PAYLOAD_MAX - 1);
    if (n > ZSYNC_FDS_MAX)
        return zerr_set(e, E2BIG, "sync: %zu fds in one message (at most %d)", n,
                        ZSYNC_FDS_MAX);
    if (n) {
        struct cmsghdr *c;
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    }
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR)
            return zerr_sys(e, "sync: send");
    }
    return 0;
}

int zsync_send(int sock, uint32_t type, int32_t value, const char *payload,
               int fd, struct zerr *e)
{
    return zsync_send_fds(sock, type, value, payload, &fd, fd >= 0 ? 1 : 0, e);
}

void zsync_msg_close_fds(struct zsync_msg *m)
{
    for (size_t i = 0; i < m->n_fds; i++)
        close(m->fds[i]);
    m->n_fds = 0;
    m->fd = -1;
}

int zsync_recv(int sock, struct zsync_msg *m, struct zerr *e)
{
    struct wire_header h;
    struct iovec iov[2] = {{&h, sizeof h}, {m->payload, sizeof m->payload - 1}};
    union {
        char buf[CMSG_SPACE(ZSYNC_FDS_MAX * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2,
                         .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n;

    m->fd = -1;
    m->n_fds = 0;
    m->len = 0;
    m->payload[0] = '\0';
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return zerr_sys(e, "sync: receive");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            if (k > ZSYNC_FDS_MAX - m->n_fds)
                k = ZSYNC_FDS_MAX - m->n_fds;
            memcpy(m->fds + m->n_fds, CMSG_DATA(c), k * sizeof(int));
            m->n_fds += k;
        }
    }
    if (m->n_fds)
        m->fd = m->fds[0];
    if (n == 0) {
        zsync_msg_close_fds(m);
        return zerr_set(e, EPIPE, "container init exited during setup");
    }
    if ((size_t)n < sizeof h || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
        zsync_msg_close_fds(m);
        return zerr_set(e, EPROTO, "sync: %s message", (size_t)n < sizeof h ? "short" : "truncated");
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
    if (m->type == ZSYNC_ERROR) {
        zsync_msg_close_fds(m);
        return zerr_set(e, m->value, "%s", m->payload);
    }
    if (m->type != type) {
        zsync_msg_close_fds(m);
        return zerr_set(e, EPROTO, "sync: expected message %u, got %u", type, m->type);
    }
    return 0;
}

void zsync_send_error(int sock, const struct zerr *err)
{
    struct zerr ignored;
    zsync_send(sock, ZSYNC_ERROR, err->code, err->msg, -1, &ignored);
}
