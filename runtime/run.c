/* `run`: create + start in one process, then wait in the foreground. */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "runtime/container.h"
#include "runtime/create_internal.h"
#include "runtime/lifecycle_internal.h"
#include "runtime/waiter.h"

/* Receives one fd sent with SCM_RIGHTS (the pty master from the init). */
int zrecv_fd(int sock, struct zerr *e)
{
    char data[256];
    struct iovec iov = {data, sizeof data};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return zerr_sys(e, "receive terminal");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return fd;
        }
    }
    return zerr_set(e, EPROTO, "receive terminal: no fd in message");
}

int zcontainer_run(const struct zruntime *rt, const struct zcreate_opts *o,
                   bool detach, bool keep, int *exit_status, struct zerr *e)
{
    struct zbuild b;
    struct zcreated c;
    struct zct ct;
    int pair[2] = {-1, -1}, master = -1, rc = -1;
    bool relay;
    sigset_t old;

    *exit_status = 0;
    if (zstate_check_id(o->id, e) < 0)
        return -1;
    if (zbuild_prepare(o->bundle, &b, e) < 0)
        goto out;
    relay = b.spec->process->terminal && !o->console_socket;
    if (relay && detach) {
        zerr_set(e, EINVAL, "cannot allocate tty if zone will detach without setting console socket");
        goto out;
    }
    if (relay && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        zerr_sys(e, "socketpair");
        goto out;
    }
    if (!detach) {
        zwait_block_signals(&old);
        /* the init may be reparented to us when an intermediate joined namespaces */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }
    if (zcreate_build(rt, o, pair[1], &b, &c, e) < 0)
        goto out;
    if (pair[1] >= 0) {
        close(pair[1]);
        pair[1] = -1;
    }
    if (relay && (master = zrecv_fd(pair[0], e)) < 0)
        goto fail_created;
    if (zct_open(rt, o->id, &ct, e) < 0)
        goto fail_created;
    ct.spec = b.spec;
    if (zct_start(&ct, e) < 0) {
        zct_destroy(&ct, e);
        zct_close(&ct);
        goto fail_created_noclean;
    }
    zct_close(&ct);
    if (detach) {
        rc = 0;
        zcreated_release(&c);
        goto out;
    }
    rc = zwait_process(c.pid, master, exit_status, e);
    zcreated_release(&c);
    if (!keep) {
        struct zerr de;
        if (zct_open(rt, o->id, &ct, &de) == 0) {
            ct.spec = b.spec;
            if (zct_destroy(&ct, &de) < 0)
                zwarn("delete %s: %s", o->id, de.msg);
            zct_close(&ct);
        }
    }
    goto out;

fail_created:
    {
        struct zerr ignored;
        if (zct_open(rt, o->id, &ct, &ignored) == 0) {
            zct_destroy(&ct, &ignored);
            zct_close(&ct);
        }
    }
fail_created_noclean:
    zcreated_release(&c);
out:
    if (pair[0] >= 0)
        close(pair[0]);
    if (pair[1] >= 0)
        close(pair[1]);
    if (master >= 0)
        close(master);
    zbuild_free(&b);
    return rc;
}
