/* `zone exec` into a VM container: the monitor's vm.exec socket takes the
 * session's stdio fds and an EXEC message, and answers EXEC_STARTED, then
 * EXEC_EXIT (or ERROR); SIGNAL messages on the socket reach the process. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm-sandbox/handler/control_host.h"
#include "vm-sandbox/handler/handler.h"
#include "vm-sandbox/handler/serve_internal.h"

#define STARTED_MARK 'S'   /* stand-in -> caller: the process runs */
#define ERROR_MARK 'E'     /* stand-in -> caller: "CODE:text" follows */

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

/* The terminal among the session's stdio (exec --tty: the caller's, or the
 * slave of the pty sent to the console socket), or -1. */
static int session_tty(const struct zvm_exec_request *r)
{
    if (!r->process->terminal)
        return -1;
    for (int i = 0; i < 3; i++)
        if (r->stdio[i] >= 0 && isatty(r->stdio[i]))
            return r->stdio[i];
    return -1;
}

/* Connects to the monitor and asks for the session; returns the socket. */
static int start_session(const struct zvm_exec_request *r, struct zerr *e)
{
    char path[4096];
    struct ctl_msg msg = { .type = CTL_EXEC, .session = 1 };
    uint8_t modes[3];
    int fds[3], sock = -1, null_fd = -1;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", r->state_dir, ZVM_SOCK_EXEC) >= sizeof path)
        return zerr_set(e, ENAMETOOLONG, "exec: state dir path too long");
    for (int i = 0; i < 3; i++) {
        fds[i] = r->stdio[i];
        modes[i] = zvm_stdio_mode(fds[i]);
    }
    if (r->process->terminal)
        modes[2] = CTL_STDIO_NULL;   /* the pty carries both */
    /* fds that are closed travel as /dev/null (the modes say NULL anyway) */
    for (int i = 0; i < 3; i++) {
        if (fds[i] >= 0 && fcntl(fds[i], F_GETFD) >= 0)
            continue;
        if (null_fd < 0)
            null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[i] = null_fd;
    }
    if (zvm_process_msg(r->process, r->caps, r->process->env, NULL, modes, &msg.u.exec, e) < 0)
        goto out;
    if (r->process->terminal && !r->process->has_console_size) {
        struct winsize ws;
        int tty = session_tty(r);
        if (tty >= 0 && ioctl(tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
            msg.u.exec.rows = ws.ws_row;
            msg.u.exec.cols = ws.ws_col;
        }
    }
    sock = zvm_connect_unix(path, e);
    if (sock < 0) {
        zerr_prefix(e, "exec: the VM monitor does not answer");
        goto out;
    }
    if (send_fds(sock, fds, e) < 0 || ctl_send(sock, &msg, e) < 0) {
        close(sock);
        sock = -1;
    }
out:
    zvm_process_release(&msg.u.exec);
    if (null_fd >= 0)
        close(null_fd);
    return sock;
}

/* Waits for the session, relaying the signals read from sig_fd; SIGWINCH
 * becomes a RESIZE to tty_fd's size (when the session has a terminal).
 * Calls started(arg) once the process runs. */
static int wait_session(int sock, int sig_fd, int tty_fd, int (*started)(void *arg, struct zerr *e), void *arg,
                        int *exit_code, struct zerr *e)
{
    for (;;) {
        struct pollfd pfd[2] = { { .fd = sock, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN } };
        struct ctl_msg in;
        struct signalfd_siginfo si;
        struct zerr ignored;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return zerr_sys(e, "exec: poll");
        }
        while (pfd[1].revents && read(sig_fd, &si, sizeof si) == sizeof si) {
            struct ctl_msg sig = { .type = CTL_SIGNAL, .session = 1, .u.signal = { si.ssi_signo, 0 } };
            struct winsize ws;
            if (si.ssi_signo != SIGWINCH) {
                ctl_send(sock, &sig, &ignored);
            } else if (tty_fd >= 0 && ioctl(tty_fd, TIOCGWINSZ, &ws) == 0) {
                struct ctl_msg rs = { .type = CTL_RESIZE, .session = 1, .u.resize = { ws.ws_row, ws.ws_col } };
                ctl_send(sock, &rs, &ignored);
            }
        }
        if (!pfd[0].revents)
            continue;
        int r = ctl_recv(sock, &in, e);
        if (r != 0)
            return r > 0 ? zerr_set(e, EPIPE, "exec: the VM monitor closed the session (the container stopped?)")
                         : -1;
        if (in.type == CTL_ERROR) {
            zerr_set(e, in.u.error.code > 0 ? in.u.error.code : EIO, "exec: %s", in.u.error.message);
            ctl_msg_free(&in);
            return -1;
        }
        if (in.type == CTL_EXEC_STARTED) {
            ctl_msg_free(&in);
            if (started && started(arg, e) < 0)
                return -1;
            continue;
        }
        if (in.type == CTL_EXEC_EXIT) {
            *exit_code = zvm_exit_code(in.u.exit.status);
            ctl_msg_free(&in);
            return 0;
        }
        ctl_msg_free(&in);
    }
}

static int signal_fd(sigset_t *old, struct zerr *e)
{
    sigset_t set;
    zvm_relayed_signals(&set);
    sigprocmask(SIG_BLOCK, &set, old);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        sigprocmask(SIG_SETMASK, old, NULL);
        return zerr_sys(e, "exec: signalfd");
    }
    return fd;
}

static int report_own_pid(void *arg, struct zerr *e)
{
    const struct zvm_exec_request *r = arg;
    return r->on_started ? r->on_started(getpid(), r->arg, e) : 0;
}

static int tell_caller_started(void *arg, struct zerr *e)
{
    int *pipe_fd = arg;
    char mark = STARTED_MARK;
    (void)!write(*pipe_fd, &mark, 1);
    close(*pipe_fd);
    *pipe_fd = -1;
    return 0;
}

/* The detached stand-in: never returns. */
static void __attribute__((noreturn)) stand_in(const struct zvm_exec_request *r, int sock, int sig_fd, int pipe_fd)
{
    struct zerr e = { 0 };
    int code = 1, null_fd = open("/dev/null", O_RDWR | O_CLOEXEC), tty = session_tty(r);

    /* An engine resizes the console socket's pty at its master: with the
     * slave as our controlling terminal, that reaches us as SIGWINCH, and
     * a hang-up of the master as SIGHUP, both relayed to the process. The
     * slave closes when we exit, at the end of the session. */
    if (tty >= 0 && (setsid() < 0 || ioctl(tty, TIOCSCTTY, 0) < 0))
        tty = -1;
    if (tty >= 0 && tty <= 2)   /* fds 0-2 become /dev/null below */
        tty = fcntl(tty, F_DUPFD_CLOEXEC, 3);
    /* the monitor holds the session's stdio: an engine's pipes must not
     * wait for us */
    for (int i = 0; i < 3; i++)
        if (r->stdio[i] > 2 && r->stdio[i] != tty)
            close(r->stdio[i]);
    if (null_fd >= 0) {
        for (int i = 0; i < 3; i++)
            dup2(null_fd, i);
        close(null_fd);
    }
    if (wait_session(sock, sig_fd, tty, tell_caller_started, &pipe_fd, &code, &e) < 0) {
        if (pipe_fd >= 0) {
            char buf[sizeof e.msg + 16];
            int n = snprintf(buf, sizeof buf, "%c%d:%s", ERROR_MARK, e.code, e.msg);
            (void)!write(pipe_fd, buf, (size_t)n);
        }
        _exit(e.code == ENOENT ? 127 : e.code == EACCES ? 126 : 1);
    }
    _exit(code);
}

int zvm_exec(const struct zvm_exec_request *r, int *exit_code, struct zerr *e)
{
    int sock, sig_fd, pipe_fds[2] = { -1, -1 }, rc = -1;
    sigset_t old;
    pid_t child;

    *exit_code = 0;
    signal(SIGPIPE, SIG_IGN);
    if ((sig_fd = signal_fd(&old, e)) < 0)
        return -1;
    if ((sock = start_session(r, e)) < 0)
        goto out;
    if (!r->detach) {
        rc = wait_session(sock, sig_fd, session_tty(r), report_own_pid, (void *)r, exit_code, e);
        goto out;
    }
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
        zerr_sys(e, "exec: pipe");
        goto out;
    }
    child = fork();
    if (child < 0) {
        zerr_sys(e, "exec: fork");
        goto out;
    }
    if (child == 0) {
        close(pipe_fds[0]);
        stand_in(r, sock, sig_fd, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    pipe_fds[1] = -1;
    {
        char buf[sizeof e->msg + 16], *text;
        ssize_t n;
        do
            n = read(pipe_fds[0], buf, sizeof buf - 1);
        while (n < 0 && errno == EINTR);
        if (n >= 1 && buf[0] == STARTED_MARK) {
            rc = r->on_started ? r->on_started(child, r->arg, e) : 0;
            if (rc < 0)
                kill(child, SIGKILL);
        } else if (n >= 1 && buf[0] == ERROR_MARK) {
            buf[n] = '\0';
            waitpid(child, NULL, 0);
            long code = strtol(buf + 1, &text, 10);
            zerr_set(e, code > 0 ? (int)code : EIO, "%s", *text == ':' ? text + 1 : buf + 1);
        } else {
            waitpid(child, NULL, 0);
            zerr_set(e, EIO, "exec: the process standing in for the session ended before it started");
        }
    }
out:
    if (sock >= 0)
        close(sock);
    for (int i = 0; i < 2; i++)
        if (pipe_fds[i] >= 0)
            close(pipe_fds[i]);
    close(sig_fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
