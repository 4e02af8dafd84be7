/* `zone exec` into a VM container: the monitor's vm.exec socket takes our
 * fds 0-2 and an EXEC message, and answers EXEC_STARTED, then EXEC_EXIT
 * (or ERROR). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vm-sandbox/handler/control_host.h"
#include "vm-sandbox/handler/handler.h"

static int send_fds(int sock, const int fds[3], struct zerr *e)
{
    char byte = 0, cbuf[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *c;

    memset(cbuf, 0, sizeof cbuf);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(3 * sizeof(int));
    memcpy(CMSG_DATA(c), fds, 3 * sizeof(int));
    if (sendmsg(sock, &mh, MSG_NOSIGNAL) != 1)
        return zerr_sys(e, "exec: pass stdio to the VM monitor");
    return 0;
}

int zvm_exec(const char *state_dir, const struct zspec_process *p, const struct zvm_resolved *caps,
             bool detach, int *exit_code, struct zerr *e)
{
    char path[4096];
    struct ctl_msg msg = { .type = CTL_EXEC, .session = 1 };
    uint8_t modes[3];
    int fds[3], sock, rc = -1;
    int null_fd = -1;

    *exit_code = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", state_dir, ZVM_SOCK_EXEC) >= sizeof path)
        return zerr_set(e, ENAMETOOLONG, "exec: state dir path too long");
    for (int i = 0; i < 3; i++) {
        modes[i] = zvm_stdio_mode(i);
        fds[i] = i;
    }
    if (p->terminal)
        modes[2] = CTL_STDIO_NULL;   /* the pty carries both */
    /* fds that are closed travel as /dev/null (the modes say NULL anyway) */
    for (int i = 0; i < 3; i++) {
        if (fcntl(i, F_GETFD) >= 0)
            continue;
        if (null_fd < 0)
            null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[i] = null_fd;
    }
    if (zvm_process_msg(p, caps, p->env, NULL, modes, &msg.u.exec, e) < 0) {
        if (null_fd >= 0)
            close(null_fd);
        return -1;
    }
    sock = zvm_connect_unix(path, e);
    if (sock < 0) {
        zerr_prefix(e, "exec: the VM monitor does not answer");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (send_fds(sock, fds, e) < 0 || ctl_send(sock, &msg, e) < 0)
        goto out;
    for (;;) {
        struct ctl_msg in;
        int r = ctl_recv(sock, &in, e);
        if (r != 0) {
            if (r > 0)
                zerr_set(e, EPIPE, "exec: the VM monitor closed the session (the container stopped?)");
            goto out;
        }
        if (in.type == CTL_ERROR) {
            zerr_set(e, in.u.error.code > 0 ? in.u.error.code : EIO, "exec: %s", in.u.error.message);
            ctl_msg_free(&in);
            goto out;
        }
        if (in.type == CTL_EXEC_STARTED && detach) {
            ctl_msg_free(&in);
            rc = 0;
            goto out;
        }
        if (in.type == CTL_EXEC_EXIT) {
            *exit_code = zvm_exit_code(in.u.exit.status);
            ctl_msg_free(&in);
            rc = 0;
            goto out;
        }
        ctl_msg_free(&in);
    }
out:
    zvm_process_release(&msg.u.exec);
    if (sock >= 0)
        close(sock);
    if (null_fd >= 0)
        close(null_fd);
    return rc;
}
