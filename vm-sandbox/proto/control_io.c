/* Blocking send/receive of control messages on a stream socket. ctl_recv
 * reads the header first and then exactly the payload it announces, so a
 * stdio stream can start with a message and continue with raw bytes. */
#include "vm-sandbox/proto/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t n, struct zerr *e)
{
    while (n > 0) {
        /* send() with MSG_NOSIGNAL where possible: a peer that went away
         * must be an error value, not a SIGPIPE */
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return zerr_sys(e, "writing a control message");
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1: end of stream before the first byte; 0: all n bytes read; -1: error. */
static int read_all(int fd, uint8_t *p, size_t n, bool at_start, struct zerr *e)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return zerr_sys(e, "reading a control message");
        }
        if (r == 0) {
            if (got == 0 && at_start)
                return 1;
            return zerr_set(e, EPROTO, "reading a control message: end of stream after %zu of %zu bytes",
                            got, n);
        }
        got += (size_t)r;
    }
    return 0;
}

int ctl_send(int fd, const struct ctl_msg *m, struct zerr *e)
{
    uint8_t *buf;
    size_t len;
    int rc;
    if (ctl_encode(m, &buf, &len, e) < 0)
        return -1;
    rc = write_all(fd, buf, len, e);
    free(buf);
    if (rc < 0)
        return zerr_prefix(e, "sending %s", ctl_type_name(m->type));
    return 0;
}

int ctl_recv(int fd, struct ctl_msg *m, struct zerr *e)
{
    uint8_t head[CTL_HEADER_SIZE];
    struct ctl_header h;
    uint8_t *buf;
    int rc;
    memset(m, 0, sizeof *m);
    rc = read_all(fd, head, sizeof head, true, e);
    if (rc != 0)
        return rc;
    if (ctl_decode_header(head, sizeof head, &h, e) < 0)
        return -1;
    buf = malloc(CTL_HEADER_SIZE + (size_t)h.length);
    if (!buf)
        return zerr_set(e, ENOMEM, "reading a %u-byte %s message: out of memory", h.length,
                        ctl_type_name(h.type));
    memcpy(buf, head, sizeof head);
    rc = read_all(fd, buf + CTL_HEADER_SIZE, h.length, false, e);
    if (rc == 0)
        rc = ctl_decode(buf, CTL_HEADER_SIZE + (size_t)h.length, m, e);
    free(buf);
    return rc < 0 ? -1 : 0;
}

void ctl_describe_status(uint32_t status, char *buf, size_t cap)
{
    int st = (int)status;
    if (WIFEXITED(st))
        snprintf(buf, cap, "exit code %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "signal %d%s", WTERMSIG(st), WCOREDUMP(st) ? " (core dumped)" : "");
    else
        snprintf(buf, cap, "wait status 0x%x", status);
}
