/* The agent's event loop: one poll over the control stream, the stdio
 * listener, new stdio streams, SIGCHLD (signalfd) and the terminal relays.
 *
 * Stop: when the main process has been reaped the agent kills every other
 * process (as a PID namespace would when its init dies), reaps them
 * (exec sessions get EXEC_EXIT), drains the console, sends EXIT with the
 * main process's exact wait status, and waits up to AGENT_BYE_WAIT_MS for
 * the host's SHUTDOWN or end of stream, so that EXIT is not lost in a
 * queue when the VM resets. SHUTDOWN, or the host going away, stops at
 * once. */
#include "vm-sandbox/guest/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define POLL_MAX (4 + AGENT_MAX_CONNS + 4 * AGENT_MAX_SESSIONS)

enum slot_kind { SLOT_CONTROL, SLOT_LISTEN, SLOT_SIGCHLD, SLOT_CONN, SLOT_RELAY_FROM, SLOT_RELAY_TO };

struct slot {
    enum slot_kind kind;
    int index;            /* conn or session */
    bool out;             /* relay: the output direction */
};

static void kill_all(struct agent *a)
{
    /* from PID 1, -1 is every process but ourselves */
    kill(-1, SIGKILL);
}

static void reap(struct agent *a)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            a->children_left = !(pid < 0 && errno == ECHILD);
            return;
        }
        for (int i = 0; i < AGENT_MAX_SESSIONS; i++) {
            struct session *s = &a->sessions[i];
            if (s->state != SESSION_RUNNING || s->pid != pid)
                continue;
            if (s->id == 0) {
                char what[64];
                ctl_describe_status((uint32_t)status, what, sizeof what);
                agent_debug(a, "main process (pid %d): %s", (int)pid, what);
                a->main_exited = true;
                a->main_status = status;
                kill_all(a);
            }
            session_reaped(a, s, status);
            break;
        }
    }
}

static void accept_stream(struct agent *a)
{
    struct sockaddr_vm peer;
    socklen_t len = sizeof peer;
    int fd = accept4(a->listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            agent_log(a, "accepting a stdio stream: %s", strerror(errno));
        return;
    }
    /* a guest process could dial the agent too: only the host's streams count */
    if (a->vsock && (peer.svm_family != AF_VSOCK || peer.svm_cid != CTL_HOST_CID)) {
        agent_log(a, "stdio stream from CID %u refused", peer.svm_cid);
        close(fd);
        return;
    }
    for (int i = 0; i < AGENT_MAX_CONNS; i++) {
        struct conn *c = &a->conns[i];
        if (c->fd < 0) {
            *c = (struct conn){ .fd = fd, .deadline = deadline_in(AGENT_STREAM_WAIT_MS) };
            return;
        }
    }
    agent_log(a, "more than %d pending stdio streams: one refused", AGENT_MAX_CONNS);
    close(fd);
}

/* Reads a new stream's STDIO message once all of it has arrived (peeked,
 * so no byte of the stream's data is taken with it). */
static void identify_stream(struct agent *a, struct conn *c)
{
    uint8_t buf[CTL_HEADER_SIZE + 4];
    struct ctl_msg m;
    struct zerr e;
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    if ((size_t)n < sizeof buf) {
        struct ctl_header h;
        /* a wrong header is known before all of it is there */
        if (n >= CTL_HEADER_SIZE && ctl_decode_header(buf, (size_t)n, &h, &e) < 0)
            goto bad;
        return;
    }
    if (ctl_decode(buf, sizeof buf, &m, &e) < 0)
        goto bad;
    if (m.type != CTL_STDIO) {
        zerr_set(&e, EPROTO, "%s instead of STDIO", ctl_type_name(m.type));
        ctl_msg_free(&m);
        goto bad;
    }
    if (recv(c->fd, buf, sizeof buf, MSG_DONTWAIT) != (ssize_t)sizeof buf) {
        zerr_sys(&e, "reading STDIO");
        goto bad;
    }
    c->identified = true;
    c->session = m.session;
    c->stream = m.u.stdio.stream;
    c->deadline = deadline_in(AGENT_STREAM_WAIT_MS);
    session_attach_conn(a, c);
    return;
bad:
    agent_log(a, "stdio stream refused: %s", e.msg);
    close(c->fd);
    c->fd = -1;
}

static void handle_start(struct agent *a, struct ctl_msg *m)
{
    struct zerr e = { 0 };
    struct session *s;
    if (!a->hello_received || a->started) {
        zerr_set(&e, EPROTO, "START %s", a->started ? "given twice" : "before HELLO");
        agent_send_error(a, 0, &e);
        a->fatal = !a->started;
        return;
    }
    a->started = true;
    if (boot_finish_root(a, m, &e) < 0 || session_create(a, 0, &m->u.start.proc, &s, &e) < 0) {
        zerr_prefix(&e, "starting the container");
        agent_send_error(a, 0, &e);
        a->fatal = true;
        return;
    }
    session_try_start(a, s);
}

/* 1: stop now (SHUTDOWN); 0: go on. */
static int handle_message(struct agent *a, struct ctl_msg *m)
{
    struct zerr e = { 0 };
    struct session *s;
    switch (m->type) {
    case CTL_HELLO:
        if (a->hello_received) {
            zerr_set(&e, EPROTO, "HELLO given twice");
            break;
        }
        if (m->u.hello.version != CTL_VERSION) {
            zerr_set(&e, EPROTONOSUPPORT, "the host speaks control protocol %u, this agent %u",
                     m->u.hello.version, CTL_VERSION);
            agent_send_error(a, 0, &e);
            a->fatal = true;
            return 0;
        }
        a->hello_received = true;
        agent_debug(a, "host: %s", m->u.hello.software);
        return 0;
    case CTL_START:
        handle_start(a, m);
        return 0;
    case CTL_EXEC:
        if (!a->started || a->main_exited)
            zerr_set(&e, ESRCH, "exec: the container %s", a->main_exited ? "has exited" : "is not started");
        else if (session_create(a, m->session, &m->u.exec, &s, &e) == 0)
            session_try_start(a, s);
        break;
    case CTL_SIGNAL:
        session_signal(a, m->session, m->u.signal.signo, m->u.signal.flags & CTL_SIGNAL_ALL, &e);
        break;
    case CTL_RESIZE:
        session_resize(a, m->session, m->u.resize.rows, m->u.resize.cols, &e);
        break;
    case CTL_SHUTDOWN:
        agent_debug(a, "SHUTDOWN from the host");
        return 1;
    default:
        zerr_set(&e, EPROTO, "unexpected %s from the host", ctl_type_name(m->type));
        break;
    }
    if (e.msg[0])
        agent_send_error(a, m->session, &e);
    return 0;
}

/* Reads one control message: 1 when the agent should stop. */
static int read_control(struct agent *a)
{
    struct ctl_msg m;
    struct zerr e = { 0 };
    int rc = ctl_recv(a->control_fd, &m, &e);
    if (rc != 0) {
        if (rc < 0)
            agent_log(a, "control stream: %s", e.msg);
        else if (!a->exit_sent)
            agent_log(a, "the host closed the control stream");
        return 1;
    }
    if (a->exit_sent) {
        /* only SHUTDOWN matters now */
        rc = m.type == CTL_SHUTDOWN;
        ctl_msg_free(&m);
        return rc;
    }
    rc = handle_message(a, &m);
    ctl_msg_free(&m);
    return rc;
}

static bool any_session(const struct agent *a)
{
    for (int i = 0; i < AGENT_MAX_SESSIONS; i++)
        if (a->sessions[i].state != SESSION_FREE)
            return true;
    return false;
}

/* Once the main process is gone: sessions still waiting for streams will
 * never run. */
static void drop_waiting(struct agent *a)
{
    for (int i = 0; i < AGENT_MAX_SESSIONS; i++) {
        struct session *s = &a->sessions[i];
        if (s->state == SESSION_WAITING) {
            struct zerr e;
            zerr_set(&e, ESRCH, "exec: the container exited before the session's streams were attached");
            agent_send_error(a, s->id, &e);
            session_close(s);
        }
    }
}

static void send_exit(struct agent *a)
{
    struct ctl_msg m = { .type = CTL_EXIT, .u.exit.status = (uint32_t)a->main_status };
    struct zerr e;
    if (a->console_fd >= 0)
        tcdrain(a->console_fd);   /* the console's output comes before EXIT */
    if (ctl_send(a->control_fd, &m, &e) < 0)
        agent_log(a, "%s", e.msg);
    a->exit_sent = true;
    a->bye_deadline = deadline_in(AGENT_BYE_WAIT_MS);
}

static void check_deadlines(struct agent *a)
{
    for (int i = 0; i < AGENT_MAX_CONNS; i++) {
        struct conn *c = &a->conns[i];
        if (c->fd >= 0 && deadline_passed(&c->deadline)) {
            agent_log(a, "stdio stream %s: closed after %d ms", c->identified ? "never claimed" : "never identified",
                      AGENT_STREAM_WAIT_MS);
            close(c->fd);
            c->fd = -1;
        }
    }
    for (int i = 0; i < AGENT_MAX_SESSIONS; i++) {
        struct session *s = &a->sessions[i];
        if (s->state == SESSION_WAITING && deadline_passed(&s->deadline)) {
            struct zerr e;
            zerr_set(&e, ETIMEDOUT, "session %u: its stdio streams were not attached within %d ms", s->id,
                     AGENT_STREAM_WAIT_MS);
            agent_send_error(a, s->id, &e);
            if (s->id == 0)
                a->fatal = true;
            session_close(s);
        } else if (s->state == SESSION_EXITED && (s->out.eof || deadline_passed(&s->deadline))) {
            session_finish(a, s);
        }
    }
}

static int next_timeout(const struct agent *a)
{
    int t = -1;
#define CONSIDER(ts)                                   \
    do {                                               \
        int ms_ = deadline_poll_ms(ts);                \
        if (t < 0 || ms_ < t)                          \
            t = ms_;                                   \
    } while (0)
    for (int i = 0; i < AGENT_MAX_CONNS; i++)
        if (a->conns[i].fd >= 0)
            CONSIDER(&a->conns[i].deadline);
    for (int i = 0; i < AGENT_MAX_SESSIONS; i++)
        if (a->sessions[i].state == SESSION_WAITING || a->sessions[i].state == SESSION_EXITED)
            CONSIDER(&a->sessions[i].deadline);
    if (a->exit_sent)
        CONSIDER(&a->bye_deadline);
#undef CONSIDER
    return t;
}

static void drain_sigchld(struct agent *a)
{
    struct signalfd_siginfo si[8];
    while (read(a->sigchld_fd, si, sizeof si) > 0)
        ;
}

int agent_serve(struct agent *a)
{
    struct pollfd pfd[POLL_MAX];
    struct slot slots[POLL_MAX];
    for (;;) {
        int n = 0, rc;
        if (a->fatal)
            return -1;
        if (a->main_exited) {
            drop_waiting(a);
            if (a->main_done && !any_session(a) && !a->children_left && !a->exit_sent)
                send_exit(a);
        }
        if (a->exit_sent && deadline_passed(&a->bye_deadline))
            return 0;
#define ADD(fd_, ev_, kind_, idx_, out_)                                                        \
    do {                                                                                       \
        pfd[n] = (struct pollfd){ .fd = (fd_), .events = (ev_) };                               \
        slots[n++] = (struct slot){ .kind = (kind_), .index = (idx_), .out = (out_) };         \
    } while (0)
        ADD(a->control_fd, POLLIN, SLOT_CONTROL, 0, false);
        ADD(a->sigchld_fd, POLLIN, SLOT_SIGCHLD, 0, false);
        if (!a->main_exited)
            ADD(a->listen_fd, POLLIN, SLOT_LISTEN, 0, false);
        for (int i = 0; i < AGENT_MAX_CONNS; i++)
            if (a->conns[i].fd >= 0 && !a->conns[i].identified)
                ADD(a->conns[i].fd, POLLIN, SLOT_CONN, i, false);
        for (int i = 0; i < AGENT_MAX_SESSIONS; i++) {
            struct session *s = &a->sessions[i];
            if ((s->state != SESSION_RUNNING && s->state != SESSION_EXITED) || s->master < 0)
                continue;
            for (int d = 0; d < 2; d++) {
                struct relay *r = d ? &s->out : &s->in;
                if (r->from >= 0 && !r->eof && r->len == 0)
                    ADD(r->from, POLLIN, SLOT_RELAY_FROM, i, d);
                if (r->to >= 0 && r->len > 0)
                    ADD(r->to, POLLOUT, SLOT_RELAY_TO, i, d);
            }
        }
#undef ADD
        rc = poll(pfd, (nfds_t)n, next_timeout(a));
        if (rc < 0 && errno != EINTR) {
            agent_log(a, "poll: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; rc > 0 && i < n; i++) {
            short ev = pfd[i].revents;
            if (!ev)
                continue;
            switch (slots[i].kind) {
            case SLOT_CONTROL:
                if (read_control(a))
                    return a->exit_sent ? 0 : 1;
                break;
            case SLOT_SIGCHLD:
                drain_sigchld(a);
                reap(a);
                break;
            case SLOT_LISTEN:
                accept_stream(a);
                break;
            case SLOT_CONN:
                if (a->conns[slots[i].index].fd >= 0 && !a->conns[slots[i].index].identified)
                    identify_stream(a, &a->conns[slots[i].index]);
                break;
            case SLOT_RELAY_FROM:
            case SLOT_RELAY_TO: {
                struct session *s = &a->sessions[slots[i].index];
                struct relay *r = slots[i].out ? &s->out : &s->in;
                if (s->state != SESSION_RUNNING && s->state != SESSION_EXITED)
                    break;   /* finished by an earlier slot of this round */
                if (slots[i].kind == SLOT_RELAY_FROM)
                    relay_pump(r, ev, 0);
                else
                    relay_pump(r, 0, ev);
                break;
            }
            }
        }
        if (a->main_exited)
            reap(a);   /* children_left stays current while everything dies */
        check_deadlines(a);
    }
}
