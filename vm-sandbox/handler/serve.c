/* The monitor's main loop, after `start`: the VM runs in its own threads
 * (vmm_run), this thread speaks the control protocol with zone-agent,
 * relays stdio between the container's fds 0-2 (or an exec client's) and
 * the guest's vsock streams, forwards signals from a signalfd, and serves
 * exec sessions on <state dir>/vm.exec. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vm-sandbox/handler/control_host.h"
#include "vm-sandbox/handler/serve_internal.h"
#include "vm-sandbox/vmm/vmm.h"
#include <sys/syscall.h>
#include "vm-sandbox/vmm/seccomp.h"

#define MAX_RELAYS 64
#define MAX_SESSIONS 16
#define CTL_RECV_TIMEOUT_S 5      /* a guest that stalls mid-message is cut off */
#define DRAIN_MS 5000             /* after EXIT: wait this long for stdout/stderr */
#define STOP_MS 10000             /* after SHUTDOWN: wait this long for the guest */

struct relay {
    int from, to;
    bool own_from, own_to;
    uint32_t session;
    bool output;             /* guest -> host (stdout, stderr) */
};

struct session {
    uint32_t id;             /* the agent's session id; 0 = free slot */
    int client;              /* the exec client's socket, -1 once gone */
    bool exited;             /* EXEC_EXIT came: told once its output is out */
    uint32_t status;
    double exited_at;
};

struct runner {
    struct vmm *vm;
    struct vmm_stop stop;
    struct zerr err;
    int rc;
    int done_fd;
};

struct mon {
    struct zvm *z;
    const struct zvm_resolved *caps;   /* of the container's process */
    int sig_fd, ctl_listen, exec_listen, control;
    struct relay relays[MAX_RELAYS];
    unsigned nrelays;
    struct session sessions[MAX_SESSIONS];
    uint32_t next_session;
    bool terminal;
    bool started, exited, shutdown_sent, failed;
    uint32_t status;
    struct zerr fail;        /* ERROR for session 0 before STARTED */
    int early_signal;        /* a signal before the process ran: its number */
    double exited_at, shutdown_at;
};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ZONE_VM_DEBUG: the monitor's steps go to vm.log, next to the kernel's. */
static void __attribute__((format(printf, 2, 3))) mon_log(const struct mon *m, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    if (m->z->serial_fd < 0)
        return;
    n = snprintf(line, sizeof line, "[monitor %.1f ms] ", now_ms());
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(m->z->serial_fd, line, (size_t)n) < 0) {
        /* a debug log only */
    }
}

static void *run_vm(void *arg)
{
    struct runner *r = arg;
    uint64_t one = 1;
    r->rc = vmm_run(r->vm, &r->stop, &r->err);
    if (write(r->done_fd, &one, sizeof one) < 0) {
        /* the loop also notices the VM thread through its timeouts */
    }
    return NULL;
}

static int listen_here(const char *name, struct zerr *e)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return zerr_sys(e, "socket");
    snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
    unlink(name);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0) {
        zerr_sys(e, "VM mode: listen on %s", name);
        close(fd);
        return -1;
    }
    chmod(name, 0600);
    return fd;
}

static int add_relay(struct mon *m, int from, int to, bool own_from, bool own_to, uint32_t session,
                     struct zerr *e)
{
    if (m->nrelays == MAX_RELAYS)
        return zerr_set(e, EMFILE, "VM mode: too many stdio streams");
    m->relays[m->nrelays++] = (struct relay){ .from = from, .to = to, .own_from = own_from, .own_to = own_to, .session = session };
    return 0;
}

static void end_relay(struct mon *m, unsigned i)
{
    struct relay *r = &m->relays[i];
    if (r->own_from)
        close(r->from);
    if (r->own_to)
        close(r->to);
    m->relays[i] = m->relays[--m->nrelays];
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* false when the relay is over */
static bool pump(struct relay *r)
{
    char buf[65536];
    ssize_t n = read(r->from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    return n > 0 && write_all(r->to, buf, (size_t)n);
}

/* Opens the streams for fds (host side), and their relays. stdin's stream
 * gets what fds[0] reads; the others go to fds[1], fds[2]. own: the fds
 * are ours to close (an exec client's). */
static int attach_stdio(struct mon *m, uint32_t session, const int fds[3], const uint8_t modes[3], bool own,
                        struct zerr *e)
{
    for (uint32_t i = 0; i < 3; i++) {
        int s;
        if (modes[i] != CTL_STDIO_STREAM)
            continue;
        s = zvm_open_stream(ZVM_SOCK_VSOCK, session, i, e);
        if (s < 0)
            return -1;
        if ((i == 0 ? add_relay(m, fds[0], s, own, true, session, e)
                    : add_relay(m, s, fds[i], true, own, session, e)) < 0) {
            close(s);
            return -1;
        }
        m->relays[m->nrelays - 1].output = i != 0;
    }
    return 0;
}

static int send_ctl(struct mon *m, struct ctl_msg *msg, struct zerr *e)
{
    if (m->control < 0)
        return zerr_set(e, ENOTCONN, "VM mode: the guest agent is not connected");
    return ctl_send(m->control, msg, e);
}

static void send_shutdown(struct mon *m)
{
    struct ctl_msg msg = { .type = CTL_SHUTDOWN };
    struct zerr ignored;
    if (m->shutdown_sent)
        return;
    m->shutdown_sent = true;
    m->shutdown_at = now_ms();
    if (m->control < 0 || send_ctl(m, &msg, &ignored) < 0)
        vmm_request_stop(m->z->vm, VMM_STOP_REQUESTED, "container process ended");
}

static void set_recv_timeout(int fd)
{
    struct timeval tv = { .tv_sec = CTL_RECV_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* The agent connected: HELLO both ways, the main process's streams, START. */
static int start_main(struct mon *m, const struct zspec *s, char *const *env, struct zerr *e)
{
    struct ctl_msg hello = { .type = CTL_HELLO, .u.hello = { CTL_VERSION, "zone " ZONE_VERSION } };
    struct ctl_msg in, start = { .type = CTL_START };
    const struct zspec_process *p = s->process;
    static const int host_fds[3] = { 0, 1, 2 };
    uint8_t modes[3];
    int rc;

    m->control = accept4(m->ctl_listen, NULL, NULL, SOCK_CLOEXEC);
    if (m->control < 0)
        return errno == EAGAIN ? 0 : zerr_sys(e, "VM mode: accept the agent's control connection");
    close(m->ctl_listen);
    m->ctl_listen = -1;
    unlink(ZVM_SOCK_CONTROL);
    mon_log(m, "agent connected");
    set_recv_timeout(m->control);
    rc = ctl_recv(m->control, &in, e);
    if (rc != 0)
        return rc > 0 ? zerr_set(e, EPROTO, "VM mode: the agent closed the control stream before HELLO")
                      : zerr_prefix(e, "VM mode: waiting for the agent's HELLO");
    if (in.type != CTL_HELLO) {
        zerr_set(e, EPROTO, "VM mode: the agent sent %s before HELLO", ctl_type_name(in.type));
        ctl_msg_free(&in);
        return -1;
    }
    ctl_msg_free(&in);
    if (ctl_send(m->control, &hello, e) < 0)
        return -1;

    for (int i = 0; i < 3; i++)
        modes[i] = zvm_stdio_mode(i);
    m->terminal = p->terminal;
    if (p->terminal) {
        /* the guest's pty does the line discipline; ours passes bytes */
        struct termios t;
        modes[2] = CTL_STDIO_NULL;
        if (tcgetattr(0, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(0, TCSANOW, &t);
        }
    }
    mon_log(m, "HELLO done; stdio modes %u %u %u", modes[0], modes[1], modes[2]);
    if (attach_stdio(m, 0, host_fds, modes, false, e) < 0)
        return -1;
    mon_log(m, "stdio streams open");
    if (zvm_process_msg(p, m->caps, env, s->hostname, modes, &start.u.start.proc, e) < 0)
        return -1;
    if (p->terminal && !p->has_console_size) {
        struct winsize ws;
        if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
            start.u.start.proc.rows = ws.ws_row;
            start.u.start.proc.cols = ws.ws_col;
        }
    }
    rc = ctl_send(m->control, &start, e);
    zvm_process_release(&start.u.start.proc);
    mon_log(m, "START sent");
    return rc;
}

static struct session *find_session(struct mon *m, uint32_t id)
{
    for (unsigned i = 0; i < MAX_SESSIONS; i++)
        if (m->sessions[i].id == id && id)
            return &m->sessions[i];
    return NULL;
}

static void end_session(struct session *s)
{
    if (s->client >= 0)
        close(s->client);
    s->client = -1;
    s->id = 0;
}

/* A reply to an exec client, under the client's session number 1. */
static void tell_client(struct session *s, struct ctl_msg *msg)
{
    struct zerr ignored;
    uint32_t id = msg->session;
    if (s->client < 0)
        return;
    msg->session = 1;
    if (ctl_send(s->client, msg, &ignored) < 0) {
        close(s->client);   /* gone (detached): its process goes on */
        s->client = -1;
    }
    msg->session = id;
}

/* A message from an exec client: SIGNAL goes to its session's process;
 * at EOF the client is gone (detached or killed) and the process goes on. */
static void from_client(struct mon *m, struct session *s)
{
    struct ctl_msg msg;
    struct zerr e;
    int rc = ctl_recv(s->client, &msg, &e);
    if (rc != 0) {
        close(s->client);
        s->client = -1;
        return;
    }
    if ((msg.type == CTL_SIGNAL || msg.type == CTL_RESIZE) && !s->exited && m->control >= 0) {
        if (msg.type == CTL_SIGNAL)
            mon_log(m, "exec client: signal %u to session %u", msg.u.signal.signo, s->id);
        else
            mon_log(m, "exec client: resize session %u to %ux%u", s->id, msg.u.resize.cols, msg.u.resize.rows);
        msg.session = s->id;
        if (send_ctl(m, &msg, &e) < 0)
            mon_log(m, "exec client: %s", e.msg);
    }
    ctl_msg_free(&msg);
}

static void refuse_client(int fd, const char *why)
{
    struct ctl_msg msg = { .type = CTL_ERROR, .session = 1, .u.error = { EINVAL, (char *)why } };
    struct zerr ignored;
    ctl_send(fd, &msg, &ignored);
}

/* Receives the client's three stdio fds (SCM_RIGHTS with one byte). */
static int recv_fds(int sock, int fds[3])
{
    char byte, cbuf[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *c;
    ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    c = n == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
        return -1;
    }
    if (c->cmsg_len != CMSG_LEN(3 * sizeof(int)) || (mh.msg_flags & MSG_CTRUNC)) {
        /* close whatever did arrive */
        size_t got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int tmp[3];
        memcpy(tmp, CMSG_DATA(c), (got > 3 ? 3 : got) * sizeof(int));
        for (size_t i = 0; i < got && i < 3; i++)
            close(tmp[i]);
        return -1;
    }
    memcpy(fds, CMSG_DATA(c), 3 * sizeof(int));
    return 0;
}

/* `zone exec`: its fds, then an EXEC message; forwarded to the agent as a
 * new session. */
static void accept_exec(struct mon *m)
{
    struct ctl_msg msg;
    struct session *slot = NULL;
    struct zerr e;
    int fds[3] = { -1, -1, -1 };
    int fd = accept4(m->exec_listen, NULL, NULL, SOCK_CLOEXEC), rc;

    if (fd < 0)
        return;
    set_recv_timeout(fd);
    if (recv_fds(fd, fds) < 0) {
        refuse_client(fd, "exec: expected the client's stdio descriptors");
        close(fd);
        return;
    }
    rc = ctl_recv(fd, &msg, &e);
    if (rc != 0 || msg.type != CTL_EXEC) {
        refuse_client(fd, rc < 0 ? e.msg : "exec: expected an EXEC message");
        if (rc == 0)
            ctl_msg_free(&msg);
        goto fail;
    }
    for (unsigned i = 0; i < MAX_SESSIONS && !slot; i++)
        if (!m->sessions[i].id)
            slot = &m->sessions[i];
    if (!m->started || m->exited || !slot) {
        refuse_client(fd, !slot ? "exec: too many exec sessions" : "exec: the container process is not running");
        ctl_msg_free(&msg);
        goto fail;
    }
    msg.session = m->next_session++;
    if (attach_stdio(m, msg.session, fds, msg.u.exec.stdio, true, &e) < 0 || send_ctl(m, &msg, &e) < 0) {
        /* relays already made own their fds; close the rest */
        for (unsigned i = 0; i < m->nrelays;)
            if (m->relays[i].session == msg.session)
                end_relay(m, i);
            else
                i++;
        refuse_client(fd, e.msg);
        ctl_msg_free(&msg);
        close(fd);
        return;
    }
    /* fds not relayed (null modes) are not needed */
    for (int i = 0; i < 3; i++)
        if (msg.u.exec.stdio[i] != CTL_STDIO_STREAM)
            close(fds[i]);
    *slot = (struct session){ .id = msg.session, .client = fd };
    ctl_msg_free(&msg);
    return;
fail:
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(fd);
}

/* One message from the agent. -1 ends the monitor (e says why). */
static int from_agent(struct mon *m, struct zerr *e)
{
    struct ctl_msg msg;
    struct session *s;
    int rc = ctl_recv(m->control, &msg, e);

    if (rc != 0) {
        close(m->control);
        m->control = -1;
        if (m->exited)
            return 0;
        return rc > 0 ? zerr_set(e, EPROTO, "VM mode: the guest agent closed the control stream")
                      : zerr_prefix(e, "VM mode: control stream");
    }
    mon_log(m, "from the agent: %s session %u", ctl_type_name(msg.type), msg.session);
    switch (msg.type) {
    case CTL_STARTED:
        m->started = true;
        break;
    case CTL_EXIT:
        m->exited = true;
        m->status = msg.u.exit.status;
        m->exited_at = now_ms();
        break;
    case CTL_EXEC_STARTED:
    case CTL_EXEC_EXIT:
    case CTL_ERROR:
        if (msg.session == 0) {
            if (msg.type == CTL_ERROR && !m->started && !m->failed) {
                m->failed = true;
                zerr_set(&m->fail, msg.u.error.code > 0 ? msg.u.error.code : EIO, "%s", msg.u.error.message);
                send_shutdown(m);
            }
            break;
        }
        s = find_session(m, msg.session);
        if (!s)
            break;
        if (msg.type == CTL_EXEC_EXIT) {
            /* told after the session's output: see flush_sessions */
            s->exited = true;
            s->status = msg.u.exit.status;
            s->exited_at = now_ms();
            break;
        }
        tell_client(s, &msg);
        if (msg.type == CTL_ERROR)
            end_session(s);
        break;
    default:
        ctl_msg_free(&msg);
        return zerr_set(e, EPROTO, "VM mode: unexpected %s from the guest agent", ctl_type_name(msg.type));
    }
    ctl_msg_free(&msg);
    return 0;
}

static void on_signal(struct mon *m)
{
    struct signalfd_siginfo si;
    struct zerr ignored;
    while (read(m->sig_fd, &si, sizeof si) == sizeof si) {
        int sig = (int)si.ssi_signo;
        mon_log(m, "signal %d", sig);
        if (sig == SIGWINCH) {
            struct winsize ws;
            struct ctl_msg r = { .type = CTL_RESIZE };
            if (m->terminal && m->started && ioctl(0, TIOCGWINSZ, &ws) == 0) {
                r.u.resize.rows = ws.ws_row;
                r.u.resize.cols = ws.ws_col;
                send_ctl(m, &r, &ignored);
            }
            continue;
        }
        if (m->started && !m->exited && m->control >= 0) {
            struct ctl_msg msg = { .type = CTL_SIGNAL, .u.signal = { (uint32_t)sig, 0 } };
            send_ctl(m, &msg, &ignored);
        } else if (!m->started && sig != SIGCONT) {
            /* the process has not run yet: the signal ends the VM */
            m->early_signal = sig;
            send_shutdown(m);
        }
    }
}

/* EXEC_EXIT goes to the client once the session's stdout and stderr have
 * been relayed (or DRAIN_MS passed): its caller reads all the output. */
static void flush_sessions(struct mon *m, double t)
{
    for (unsigned i = 0; i < MAX_SESSIONS; i++) {
        struct session *s = &m->sessions[i];
        bool flowing = false;
        if (!s->id || !s->exited)
            continue;
        for (unsigned j = 0; j < m->nrelays; j++)
            if (m->relays[j].session == s->id && m->relays[j].output)
                flowing = true;
        if (flowing && t < s->exited_at + DRAIN_MS)
            continue;
        {
            struct ctl_msg msg = { .type = CTL_EXEC_EXIT, .session = s->id, .u.exit.status = s->status };
            tell_client(s, &msg);
        }
        /* stdin relays of the session end with it */
        for (unsigned j = 0; j < m->nrelays;)
            if (m->relays[j].session == s->id)
                end_relay(m, j);
            else
                j++;
        end_session(s);
    }
}

/* What this loop needs beyond the VMM's own syscalls (AF_UNIX sockets are
 * allowed there; ioctl only for the requests below, not every ioctl). */
static const int handler_syscalls[] = {
    SYS_accept4, SYS_recvmsg, SYS_sendmsg, SYS_recvfrom, SYS_sendto, SYS_connect,
    SYS_setsockopt, SYS_read, SYS_write, SYS_close, SYS_poll, SYS_ppoll, SYS_fstat, SYS_newfstatat,
    SYS_unlink, SYS_unlinkat, SYS_rt_sigprocmask, SYS_clock_gettime, SYS_exit_group,
    SYS_futex, SYS_munmap, SYS_mmap, SYS_brk, SYS_madvise, SYS_fcntl, SYS_mprotect, SYS_clone,
    SYS_clone3, SYS_set_robust_list, SYS_rseq, SYS_exit, SYS_getpid, SYS_gettid, SYS_tgkill,
    SYS_sched_yield, SYS_nanosleep, SYS_clock_nanosleep, SYS_openat,
};
static const unsigned long handler_ioctls[] = { TIOCGWINSZ, TCSETS };   /* window size; raw mode of a terminal */

static int loop(struct mon *m, struct runner *run, const struct zspec *s, char *const *env, struct zerr *e)
{
    for (;;) {
        struct pollfd pfd[4 + MAX_RELAYS + MAX_SESSIONS];
        struct session *polled[MAX_SESSIONS];
        unsigned n = 0, open_main = 0, nrelays, nclients = 0;
        double t = now_ms();

        for (unsigned i = 0; i < m->nrelays; i++)
            if (m->relays[i].session == 0 && m->relays[i].output)
                open_main++;   /* stdout/stderr of the main process still flowing */
        if (m->exited && !m->shutdown_sent && (open_main == 0 || t > m->exited_at + DRAIN_MS))
            send_shutdown(m);
        flush_sessions(m, t);
        if (m->shutdown_sent && t > m->shutdown_at + STOP_MS)
            vmm_request_stop(m->z->vm, VMM_STOP_REQUESTED, "the guest did not stop after SHUTDOWN");

        pfd[n++] = (struct pollfd){ .fd = run->done_fd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = m->control >= 0 ? m->control : m->ctl_listen, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = m->exec_listen, .events = POLLIN };
        for (unsigned i = 0; i < m->nrelays; i++)
            pfd[n++] = (struct pollfd){ .fd = m->relays[i].from, .events = POLLIN };
        nrelays = m->nrelays;
        for (unsigned i = 0; i < MAX_SESSIONS; i++)
            if (m->sessions[i].id && m->sessions[i].client >= 0) {
                polled[nclients++] = &m->sessions[i];
                pfd[n++] = (struct pollfd){ .fd = m->sessions[i].client, .events = POLLIN };
            }
        if (poll(pfd, n, 200) < 0) {
            if (errno == EINTR)
                continue;
            return zerr_sys(e, "VM mode: poll");
        }
        if (pfd[0].revents) {
            mon_log(m, "the VM stopped");
            return 0;
        }
        if (pfd[1].revents)
            on_signal(m);
        if (pfd[2].revents) {
            if (m->control < 0) {
                if (m->ctl_listen >= 0 && start_main(m, s, env, e) < 0)
                    return -1;
            } else if (from_agent(m, e) < 0) {
                return -1;
            }
        }
        /* clients before accept_exec, which may reuse a slot */
        for (unsigned i = 0; i < nclients; i++)
            if (pfd[4 + nrelays + i].revents)
                from_client(m, polled[i]);
        if (pfd[3].revents)
            accept_exec(m);
        /* relays from the end: end_relay moves the last one into the hole */
        for (unsigned i = nrelays; i-- > 0;)
            if (i < m->nrelays && pfd[4 + i].revents && !pump(&m->relays[i]))
                end_relay(m, i);
    }
}

int zvm_serve(struct zvm *z, const struct zspec *s, const struct zvm_resolved *caps, char *const *env,
              int *exit_code, struct zerr *e)
{
    struct mon m = { .z = z, .caps = caps, .sig_fd = -1, .ctl_listen = -1, .exec_listen = -1, .control = -1, .next_session = 1 };
    struct runner run = { .done_fd = -1 };
    pthread_t thread;
    bool thread_started = false;
    sigset_t set;
    int rc = -1;

    *exit_code = 1;
    for (unsigned i = 0; i < MAX_SESSIONS; i++)
        m.sessions[i].client = -1;
    zvm_relayed_signals(&set);
    m.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m.sig_fd < 0) {
        zerr_sys(e, "VM mode: signalfd");
        goto out;
    }
    /* the sockets are named relative to the state dir: it is not under
     * our root any more, but our cwd can be */
    if (fchdir(z->state_fd) < 0) {
        zerr_sys(e, "VM mode: chdir to the state dir");
        goto out;
    }
    if (zvm_create_vm(z, e) < 0)
        goto out;
    run.vm = z->vm;
    if (vmm_add_9p(z->vm, "rootfs", "/", false, e) < 0 ||
        vmm_add_vsock(z->vm, &(struct vmm_vsock_config){ .uds_path = ZVM_SOCK_VSOCK }, e) < 0) {
        zerr_prefix(e, "VM mode");
        goto out;
    }
    m.ctl_listen = listen_here(ZVM_SOCK_CONTROL, e);
    m.exec_listen = m.ctl_listen < 0 ? -1 : listen_here(ZVM_SOCK_EXEC, e);
    if (m.exec_listen < 0)
        goto out;
    run.done_fd = eventfd(0, EFD_CLOEXEC);
    if (run.done_fd < 0) {
        zerr_sys(e, "VM mode: eventfd");
        goto out;
    }
    if (vmm_seccomp_confine_ioctls(handler_syscalls, sizeof handler_syscalls / sizeof *handler_syscalls,
                                   handler_ioctls, sizeof handler_ioctls / sizeof *handler_ioctls, e) < 0) {
        zerr_prefix(e, "VM mode: confine the monitor");
        goto out;
    }
    if (pthread_create(&thread, NULL, run_vm, &run) != 0) {
        zerr_set(e, EAGAIN, "VM mode: cannot start the VM thread");
        goto out;
    }
    thread_started = true;
    mon_log(&m, "VM thread started: %u vCPUs, %llu MiB", z->plan.size.vcpus,
            (unsigned long long)z->plan.size.mem_mib);
    if (loop(&m, &run, s, env, e) < 0) {
        mon_log(&m, "error: %s", e->msg);
        vmm_request_stop(z->vm, VMM_STOP_REQUESTED, "monitor error");
        goto out;
    }
    if (m.exited) {
        *exit_code = zvm_exit_code(m.status);
        rc = 0;
    } else if (m.failed) {
        *e = m.fail;
    } else if (m.early_signal) {
        *exit_code = 128 + m.early_signal;
        rc = 0;
    } else {
        /* joined below: run.stop is final then */
        rc = -2;
    }
out:
    if (thread_started) {
        vmm_request_stop(z->vm, VMM_STOP_REQUESTED, "monitor done");
        pthread_join(thread, NULL);
        if (rc == -2) {
            if (run.rc < 0)
                *e = run.err;
            else
                zerr_set(e, EIO, "VM mode: the VM stopped (%s%s%s) before the container process ended%s",
                         vmm_stop_reason_name(run.stop.reason), run.stop.detail[0] ? ": " : "", run.stop.detail,
                         z->plan.debug ? "; see vm.log in the state dir" : "; ZONE_VM_DEBUG=1 keeps the guest's log");
            rc = -1;
        }
    }
    while (m.nrelays)
        end_relay(&m, m.nrelays - 1);
    for (unsigned i = 0; i < MAX_SESSIONS; i++)
        if (m.sessions[i].id)
            end_session(&m.sessions[i]);
    if (m.control >= 0)
        close(m.control);
    if (m.ctl_listen >= 0)
        close(m.ctl_listen);
    if (m.exec_listen >= 0)
        close(m.exec_listen);
    if (m.sig_fd >= 0)
        close(m.sig_fd);
    if (run.done_fd >= 0)
        close(run.done_fd);
    return rc;
}
