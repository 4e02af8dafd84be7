/* Sessions: the main process (session 0, from START) and exec sessions
 * (EXEC, ids the host picks). A session waits until the vsock streams it
 * asked for are attached, then starts its process. Without a terminal the
 * streams, the console or /dev/null become the process's stdio directly;
 * with one, the process gets a pty and the agent relays between the pty
 * master and the session's input and output. When the process has been
 * reaped and the pty drained, the host gets EXEC_EXIT (EXIT for the main
 * process comes from serve.c once the whole guest is down). */
#include "vm-sandbox/guest/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct session *session_find(struct agent *a, uint32_t id)
{
    for (int i = 0; i < AGENT_MAX_SESSIONS; i++)
        if (a->sessions[i].state != SESSION_FREE && a->sessions[i].id == id)
            return &a->sessions[i];
    return NULL;
}

void session_close(struct session *s)
{
    for (int i = 0; i < 3; i++)
        if (s->streams[i] >= 0)
            close(s->streams[i]);
    if (s->master >= 0)
        close(s->master);
    ctl_process_free(&s->proc);
    memset(s, 0, sizeof *s);
    s->state = SESSION_FREE;
}

static bool wants_stream(const struct session *s, uint32_t stream)
{
    return stream < 3 && s->proc.stdio[stream] == CTL_STDIO_STREAM;
}

static void take_conn(struct agent *a, struct session *s, struct conn *c)
{
    if (!wants_stream(s, c->stream) || s->streams[c->stream] >= 0) {
        agent_log(a, "session %u: stream %u not asked for or given twice: closed", c->session, c->stream);
        close(c->fd);
    } else {
        s->streams[c->stream] = c->fd;
        agent_debug(a, "session %u: stream %u attached", c->session, c->stream);
    }
    c->fd = -1;
}

/* Hands an identified stream to its waiting session, if there is one. */
void session_attach_conn(struct agent *a, struct conn *c)
{
    struct session *s = session_find(a, c->session);
    if (!s || s->state != SESSION_WAITING)
        return;   /* stays pending until its EXEC comes, or times out */
    take_conn(a, s, c);
    session_try_start(a, s);
}

int session_create(struct agent *a, uint32_t id, struct ctl_process *proc, struct session **out,
                   struct zerr *e)
{
    struct session *s = NULL;
    if (session_find(a, id))
        return zerr_set(e, EEXIST, "session %u already exists", id);
    for (int i = 0; i < AGENT_MAX_SESSIONS && !s; i++)
        if (a->sessions[i].state == SESSION_FREE)
            s = &a->sessions[i];
    if (!s)
        return zerr_set(e, EAGAIN, "session %u: already %d sessions", id, AGENT_MAX_SESSIONS);
    memset(s, 0, sizeof *s);
    s->id = id;
    s->proc = *proc;
    memset(proc, 0, sizeof *proc);   /* the session owns it now */
    s->streams[0] = s->streams[1] = s->streams[2] = -1;
    s->master = -1;
    s->in.from = s->in.to = s->out.from = s->out.to = -1;
    s->state = SESSION_WAITING;
    s->deadline = deadline_in(AGENT_STREAM_WAIT_MS);
    for (int i = 0; i < AGENT_MAX_CONNS; i++) {
        struct conn *c = &a->conns[i];
        if (c->fd >= 0 && c->identified && c->session == id)
            take_conn(a, s, c);
    }
    *out = s;
    return 0;
}

static void send_simple(struct agent *a, uint16_t type, uint32_t session, uint32_t value)
{
    struct ctl_msg m = { .type = type, .session = session };
    struct zerr e;
    if (type == CTL_STARTED || type == CTL_EXEC_STARTED)
        m.u.started.pid = value;
    else
        m.u.exit.status = value;
    if (ctl_send(a->control_fd, &m, &e) < 0)
        agent_log(a, "%s", e.msg);
}

/* The fd a process (or a relay, for_relay) uses for one of its stdio. */
static int stdio_fd(struct agent *a, struct session *s, int i, bool for_relay, struct zerr *e)
{
    switch (s->proc.stdio[i]) {
    case CTL_STDIO_CONSOLE:
        if (a->console_fd < 0)
            return zerr_set(e, ENODEV, "no console (/dev/hvc0) in this VM");
        return for_relay ? a->console_relay_fd : a->console_fd;
    case CTL_STDIO_STREAM:
        return s->streams[i];
    default:
        return -1;
    }
}

static int prepare_terminal(struct agent *a, struct session *s, struct zerr *e)
{
    if (s->proc.stdio[0] == CTL_STDIO_CONSOLE)
        for (int i = 0; i < AGENT_MAX_SESSIONS; i++)
            if (a->sessions[i].state != SESSION_FREE && a->sessions[i].console_input)
                return zerr_set(e, EBUSY, "the console's input already feeds session %u's terminal",
                                a->sessions[i].id);
    for (int i = 0; i < 2; i++) {
        int fd = stdio_fd(a, s, i, true, e);
        if (fd < 0 && s->proc.stdio[i] != CTL_STDIO_NULL)
            return -1;
        /* streams belong to the relay alone: it never blocks on them */
        if (s->proc.stdio[i] == CTL_STDIO_STREAM && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
            return zerr_sys(e, "stdio stream");
    }
    return 0;
}

void session_try_start(struct agent *a, struct session *s)
{
    struct spawn_req r = { .proc = &s->proc, .terminal = s->proc.flags & CTL_PROC_TERMINAL };
    struct zerr e = { 0 };
    for (int i = 0; i < 3; i++)
        if (wants_stream(s, (uint32_t)i) && s->streams[i] < 0)
            return;   /* not yet */
    if (r.terminal) {
        if (prepare_terminal(a, s, &e) < 0)
            goto fail;
    } else {
        for (int i = 0; i < 3; i++) {
            r.fds[i] = stdio_fd(a, s, i, false, &e);
            if (r.fds[i] < 0 && s->proc.stdio[i] != CTL_STDIO_NULL)
                goto fail;
        }
    }
    if (spawn_process(&r, &s->pid, &s->master, &e) < 0)
        goto fail;
    agent_debug(a, "session %u: started %s as pid %d", s->id, s->proc.args[0], (int)s->pid);
    if (r.terminal) {
        s->in.from = stdio_fd(a, s, 0, true, &e);
        s->in.to = s->master;
        s->out.from = s->master;
        s->out.to = stdio_fd(a, s, 1, true, &e);
        s->console_input = s->proc.stdio[0] == CTL_STDIO_CONSOLE;
        if (fcntl(s->master, F_SETFL, O_NONBLOCK) < 0)
            agent_log(a, "session %u: pty master: %s", s->id, strerror(errno));
    } else {
        /* the process holds its own copies: the host sees EOF when it is done */
        for (int i = 0; i < 3; i++)
            if (s->streams[i] >= 0) {
                close(s->streams[i]);
                s->streams[i] = -1;
            }
    }
    ctl_process_free(&s->proc);
    s->state = SESSION_RUNNING;
    send_simple(a, s->id ? CTL_EXEC_STARTED : CTL_STARTED, s->id, (uint32_t)s->pid);
    return;
fail:
    zerr_prefix(&e, "%s", s->id ? "exec" : "starting the container process");
    agent_send_error(a, s->id, &e);
    if (s->id == 0)
        a->fatal = true;   /* nothing ran: the VM stops */
    session_close(s);
}

/* Reads into or writes out of a relay, as poll reported. */
void relay_pump(struct relay *r, short from_events, short to_events)
{
    if (from_events && !r->eof && r->len == 0) {
        ssize_t n = read(r->from, r->buf, sizeof r->buf);
        if (n > 0) {
            r->off = 0;
            r->len = r->to >= 0 ? (size_t)n : 0;   /* nowhere to go: dropped */
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            r->eof = true;   /* EOF, or EIO from a master whose slave is closed */
        }
    }
    if (to_events && r->len > 0) {
        ssize_t n = write(r->to, r->buf + r->off, r->len - r->off);
        if (n > 0) {
            r->off += (size_t)n;
            if (r->off == r->len)
                r->off = r->len = 0;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            r->to = -1;   /* the reader went away: drop the rest */
            r->off = r->len = 0;
        }
    }
}

/* What's left in the output buffer, within a bounded time. */
static void relay_flush(struct relay *r, unsigned ms)
{
    struct timespec until = deadline_in(ms);
    while (r->len > 0 && r->to >= 0 && !deadline_passed(&until)) {
        struct pollfd p = { .fd = r->to, .events = POLLOUT };
        if (poll(&p, 1, deadline_poll_ms(&until)) > 0)
            relay_pump(r, 0, p.revents);
    }
}

void session_finish(struct agent *a, struct session *s)
{
    relay_flush(&s->out, 1000);
    if (s->id == 0) {
        a->main_done = true;   /* serve.c sends EXIT when the rest is down */
    } else {
        char what[64];
        ctl_describe_status((uint32_t)s->status, what, sizeof what);
        agent_debug(a, "session %u: %s", s->id, what);
        send_simple(a, CTL_EXEC_EXIT, s->id, (uint32_t)s->status);
    }
    session_close(s);
}

void session_reaped(struct agent *a, struct session *s, int status)
{
    s->status = status;
    if (s->master >= 0 && !s->out.eof) {
        /* the pty may still hold output: relay it until EIO, for a while */
        s->state = SESSION_EXITED;
        s->deadline = deadline_in(AGENT_DRAIN_MS);
        return;
    }
    session_finish(a, s);
}

int session_signal(struct agent *a, uint32_t id, uint32_t signo, bool all, struct zerr *e)
{
    struct session *s = session_find(a, id);
    pid_t target;
    if (!s || s->state != SESSION_RUNNING)
        return zerr_set(e, ESRCH, "signal %u: session %u has no running process", signo, id);
    /* a session's process leads its own process group (setsid); "all" of
     * the main session is every process of the guest but the agent */
    target = !all ? s->pid : id == 0 ? -1 : -s->pid;
    if (kill(target, (int)signo) < 0 && !(all && errno == ESRCH))
        return zerr_sys(e, "signal %u to session %u (pid %d)", signo, id, (int)target);
    return 0;
}

int session_resize(struct agent *a, uint32_t id, uint16_t rows, uint16_t cols, struct zerr *e)
{
    struct session *s = session_find(a, id);
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    if (!s || s->state != SESSION_RUNNING)
        return zerr_set(e, ESRCH, "resize: session %u has no running process", id);
    if (s->master < 0)
        return zerr_set(e, ENOTTY, "resize: session %u has no terminal", id);
    if (ioctl(s->master, TIOCSWINSZ, &ws) < 0)
        return zerr_sys(e, "resize: session %u", id);
    return 0;
}
