/* The per-container monitor (see monitor.h). */
#include "engine/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "engine/containers.h"
#include "engine/pasta.h"

/* Signals a foreground run passes on to the container, as podman's
 * --sig-proxy does; SIGCHLD and SIGWINCH are ours. */
static const int proxied[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                              SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU};

struct session {
    const struct zmon_opts *o;
    char *dir;                  /* record (= bundle) dir */
    int log_fd;                 /* ctr.log, O_APPEND */
    pid_t pid;                  /* the container's init */
    int master;                 /* pty master, or -1 */
    int out_r, err_r;           /* output pipes (foreground without tty) */
    int in_fd;                  /* our stdin, relayed into the pty (-it) */
    int size_fd;                /* our terminal, whose size the pty copies */
    int term_out, term_err;     /* where output goes besides the log, or -1 */
    struct zpasta pasta;
    bool created;
};

static void session_close(struct session *s)
{
    int *fds[] = {&s->log_fd, &s->master, &s->out_r, &s->err_r};
    for (size_t i = 0; i < ZARRAY_SIZE(fds); i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    free(s->dir);
    s->dir = NULL;
}

static int session_init(struct session *s, const struct zmon_opts *o, struct zerr *e)
{
    _cleanup_free_ char *log = NULL;
    memset(s, 0, sizeof *s);
    s->o = o;
    s->log_fd = s->master = s->out_r = s->err_r = s->in_fd = s->size_fd = -1;
    s->term_out = s->term_err = -1;
    zpasta_init(&s->pasta);
    s->dir = zctr_dir(o->store_dir, o->id);
    if (!s->dir || asprintf(&log, "%s/%s", s->dir, ZCTR_LOG) < 0) {
        log = NULL;
        return zerr_set(e, ENOMEM, "out of memory");
    }
    s->log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->log_fd < 0)
        return zerr_sys(e, "open %s", log);
    return 0;
}

/* ------------------------------------------------------------ terminal */

/* A listening socket for the runtime's --console-socket protocol, in a
 * private temp dir (a bundle path can be longer than sun_path). */
static int console_listen(char tmpdir[64], char path[80], struct zerr *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;
    snprintf(tmpdir, 64, "/tmp/zone-console-XXXXXX");
    if (!mkdtemp(tmpdir))
        return zerr_sys(e, "create a temporary directory for the terminal socket");
    snprintf(path, 80, "%s/sock", tmpdir);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
        zerr_sys(e, "terminal socket %s", path);
        if (fd >= 0)
            close(fd);
        unlink(path);
        rmdir(tmpdir);
        return -1;
    }
    return fd;
}

/* Takes the pty master the container's init sent (SCM_RIGHTS). */
static int console_receive(int listen_fd, struct zerr *e)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    char data[256];
    struct iovec iov = {data, sizeof data};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    _cleanup_close_ int conn = -1;
    ssize_t n;
    /* the init connected during create; it is already queued */
    if (poll(&p, 1, 10000) <= 0)
        return zerr_set(e, ETIMEDOUT, "the container did not send its terminal");
    conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return zerr_sys(e, "accept terminal");
    do
        n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
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
    return zerr_set(e, EPROTO, "receive terminal: no fd in the message");
}

static void copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        ioctl(to, TIOCSWINSZ, &ws);
}

/* --------------------------------------------------------------- create */

/* The container's init inherits our 0/1/2 (it is cloned by create): point
 * them at what the container should get for the duration of create. */
struct saved_stdio { int fd[3]; };

static int stdio_swap(struct saved_stdio *sv, const int want[3], struct zerr *e)
{
    for (int i = 0; i < 3; i++)
        sv->fd[i] = -1;
    for (int i = 0; i < 3; i++) {
        if (want[i] < 0 || want[i] == i)
            continue;
        sv->fd[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
        if (sv->fd[i] < 0 || dup2(want[i], i) < 0)
            return zerr_sys(e, "redirect the container's stdio");
    }
    return 0;
}

static void stdio_restore(struct saved_stdio *sv)
{
    for (int i = 0; i < 3; i++) {
        if (sv->fd[i] >= 0) {
            dup2(sv->fd[i], i);
            close(sv->fd[i]);
            sv->fd[i] = -1;
        }
    }
}

static int create_container(struct session *s, struct zerr *e)
{
    const struct zmon_opts *o = s->o;
    struct zcreate_opts co = {.id = o->id, .bundle = s->dir};
    struct zcontainer_info info;
    struct saved_stdio sv = {{-1, -1, -1}};
    char tmpdir[64] = "", sock[80] = "";
    int out[2] = {-1, -1}, err[2] = {-1, -1}, listen_fd = -1, rc = -1;
    _cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int want[3] = {-1, -1, -1};

    if (devnull < 0)
        return zerr_sys(e, "open /dev/null");
    if (o->tty) {
        listen_fd = console_listen(tmpdir, sock, e);
        if (listen_fd < 0)
            return -1;
        co.console_socket = sock;
        /* the init's stdio becomes the pty; until then keep ours away */
        want[0] = o->detach || !o->interactive ? devnull : -1;
    } else if (o->detach) {
        want[0] = devnull;
        want[1] = want[2] = s->log_fd;
    } else {
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
            zerr_sys(e, "pipe");
            goto out;
        }
        want[0] = o->interactive ? -1 : devnull;
        want[1] = out[1];
        want[2] = err[1];
    }
    if (stdio_swap(&sv, want, e) < 0) {
        stdio_restore(&sv);
        goto out;
    }
    rc = zcontainer_create(&o->rt, &co, e);
    stdio_restore(&sv);
    if (rc < 0)
        goto out;
    rc = -1;
    s->created = true;
    if (o->tty && (s->master = console_receive(listen_fd, e)) < 0)
        goto out;
    if (zcontainer_state(&o->rt, o->id, &info, e) < 0)
        goto out;
    s->pid = info.pid;
    zcontainer_info_clear(&info);
    if (s->pid <= 0) {
        zerr_set(e, ESRCH, "the container's init exited during create");
        goto out;
    }
    if (!o->tty && !o->detach) {
        s->out_r = out[0];
        s->err_r = err[0];
        out[0] = err[0] = -1;
    }
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    if (listen_fd >= 0) {
        close(listen_fd);
        unlink(sock);
        rmdir(tmpdir);
    }
    return rc;
}

/* Create, network, start. On failure the runtime state is gone again. */
static int session_start(struct session *s, struct zerr *e)
{
    const struct zmon_opts *o = s->o;
    if (create_container(s, e) < 0)
        goto fail;
    if (o->network == ZNET_PASTA &&
        zpasta_start(&s->pasta, s->pid, o->rt.rootless == 1 || geteuid() != 0,
                     o->publish, o->n_publish, e) < 0)
        goto fail;
    if (zcontainer_start(&o->rt, o->id, e) < 0)
        goto fail;
    return 0;
fail:
    zpasta_stop(&s->pasta);
    if (s->created) {
        struct zerr ignored;
        zcontainer_delete(&o->rt, o->id, true, &ignored);
        s->created = false;
    }
    return -1;
}

/* ----------------------------------------------------------------- wait */

static void write_all(int fd, const char *buf, size_t n)
{
    while (fd >= 0 && n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, 100);
                continue;
            }
            return;
        }
        buf += w;
        n -= (size_t)w;
    }
}

/* Moves what is readable from in to the terminal fd and the log; false at
 * EOF or error. */
static bool pump_out(int in, int term, int log)
{
    char buf[16384];
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    write_all(term, buf, (size_t)n);
    write_all(log, buf, (size_t)n);
    return true;
}

static bool pump_in(int in, int out)
{
    char buf[4096];
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    write_all(out, buf, (size_t)n);
    return true;
}

/* Reaps every child (as a subreaper we inherit orphans, e.g. pasta's
 * daemon); true once the container's init has been reaped. */
static bool reap(struct session *s, int *status)
{
    int st;
    pid_t r;
    bool done = false;
    while ((r = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
        if (r == s->pid) {
            *status = st;
            done = true;
        } else {
            zpasta_reaped(&s->pasta, r);
        }
    }
    return done;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the init: relays output, forwards signals (foreground), kills
 * the cgroup when the timeout expires. *raw_status: waitpid status. */
static int session_wait(struct session *s, int *raw_status, bool *timed_out, struct zerr *e)
{
    const struct zmon_opts *o = s->o;
    sigset_t set;
    _cleanup_close_ int sfd = -1;
    struct termios saved;
    bool raw = false, done, in_open = s->in_fd >= 0;
    int64_t deadline = o->timeout > 0 ? now_ms() + o->timeout * 1000 : -1;
    int *pipes[] = {&s->master, &s->out_r, &s->err_r};
    int terms[] = {s->term_out, s->term_out, s->term_err};

    *timed_out = false;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGWINCH);
    sigaddset(&set, SIGPIPE);
    for (size_t i = 0; i < ZARRAY_SIZE(proxied); i++)
        sigaddset(&set, proxied[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return zerr_sys(e, "signalfd");
    for (size_t i = 0; i < ZARRAY_SIZE(pipes); i++)
        if (*pipes[i] >= 0)
            fcntl(*pipes[i], F_SETFL, fcntl(*pipes[i], F_GETFL) | O_NONBLOCK);
    if (s->master >= 0 && s->in_fd >= 0 && isatty(s->in_fd) && tcgetattr(s->in_fd, &saved) == 0) {
        struct termios r = saved;
        cfmakeraw(&r);
        raw = tcsetattr(s->in_fd, TCSANOW, &r) == 0;
    }
    if (s->master >= 0 && s->size_fd >= 0)
        copy_winsize(s->size_fd, s->master);

    done = reap(s, raw_status);
    while (!done) {
        struct pollfd p[5] = {{.fd = sfd, .events = POLLIN},
                              {.fd = in_open ? s->in_fd : -1, .events = POLLIN}};
        int timeout = -1;
        for (size_t i = 0; i < ZARRAY_SIZE(pipes); i++)
            p[2 + i] = (struct pollfd){.fd = *pipes[i], .events = POLLIN};
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            timeout = left > 0 ? (int)(left > 60000 ? 60000 : left) : 0;
        }
        if (poll(p, 5, timeout) < 0 && errno != EINTR)
            break;
        if (deadline >= 0 && now_ms() >= deadline) {
            struct zerr ke;
            /* the whole cgroup, so nothing the command started survives */
            if (zcontainer_kill(&o->rt, o->id, SIGKILL, true, &ke) < 0)
                kill(s->pid, SIGKILL);
            *timed_out = true;
            deadline = -1;
        }
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGPIPE)
                    continue;
                if (si.ssi_signo == SIGWINCH) {
                    if (s->master >= 0 && s->size_fd >= 0)
                        copy_winsize(s->size_fd, s->master);
                } else if (!o->detach) {
                    kill(s->pid, (int)si.ssi_signo);
                }
            }
            done = reap(s, raw_status);
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            /* at EOF keep the session: the process may still write */
            if (!pump_in(s->in_fd, s->master))
                in_open = false;
        }
        for (size_t i = 0; i < ZARRAY_SIZE(pipes); i++) {
            if (p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (!pump_out(*pipes[i], terms[i], s->log_fd)) {
                    close(*pipes[i]);
                    *pipes[i] = -1;
                }
            }
        }
        if (!done)
            done = reap(s, raw_status);
    }
    /* what the process wrote before it exited; the rest of the pid
     * namespace is gone with it, so the writers are closed */
    for (size_t i = 0; i < ZARRAY_SIZE(pipes); i++) {
        for (int rounds = 0; *pipes[i] >= 0 && rounds < 4096; rounds++) {
            struct pollfd p = {.fd = *pipes[i], .events = POLLIN};
            if (poll(&p, 1, rounds ? 0 : 50) <= 0 || !pump_out(*pipes[i], terms[i], s->log_fd))
                break;
        }
    }
    if (raw)
        tcsetattr(s->in_fd, TCSANOW, &saved);
    return 0;
}

/* After the exit: exit.json, runtime state, pasta, and with --rm the record. */
static void session_finish(struct session *s, int exit_code, int sig)
{
    const struct zmon_opts *o = s->o;
    struct zerr e;
    int fd;
    zpasta_stop(&s->pasta);
    fd = zctr_lock(o->store_dir, o->id, &e);
    if (fd >= 0) {
        struct stat st;
        /* `zone rm -f` may have removed the record meanwhile */
        if (fstat(fd, &st) == 0 && st.st_nlink > 0 && zctr_write_exit(fd, exit_code, sig, &e) < 0)
            zwarn("container %.12s: %s", o->id, e.msg);
        close(fd);
    }
    if (zcontainer_delete(&o->rt, o->id, true, &e) < 0 && e.code != ENOENT)
        zwarn("container %.12s: delete: %s", o->id, e.msg);
    if (o->rm && zctr_remove(o->store_dir, o->id, &e) < 0)
        zwarn("container %.12s: remove: %s", o->id, e.msg);
}

static int session_run(struct session *s, int *exit_status, struct zerr *e)
{
    int raw = 0, code, sig = 0;
    bool timed_out;
    if (session_wait(s, &raw, &timed_out, e) < 0) {
        /* should not happen; do not leave the container behind */
        zcontainer_kill(&s->o->rt, s->o->id, SIGKILL, true, &(struct zerr){0});
        waitpid(s->pid, &raw, __WALL);
    }
    if (WIFSIGNALED(raw)) {
        sig = WTERMSIG(raw);
        code = 128 + sig;
    } else {
        code = WEXITSTATUS(raw);
    }
    if (timed_out)
        code = 124;
    session_finish(s, code, sig);
    *exit_status = code;
    return 0;
}

int zmon_run_foreground(const struct zmon_opts *o, int *exit_status, struct zerr *e)
{
    struct session s;
    int rc = -1;
    *exit_status = 125;
    if (session_init(&s, o, e) < 0)
        goto out;
    /* the init may be reparented to us when an intermediate process joined
     * namespaces for it */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    s.term_out = 1;
    s.term_err = 2;
    if (o->tty && o->interactive)
        s.in_fd = 0;
    if (o->tty)
        s.size_fd = isatty(0) ? 0 : isatty(1) ? 1 : -1;
    if (session_start(&s, e) < 0)
        goto out;
    rc = session_run(&s, exit_status, e);
out:
    session_close(&s);
    return rc;
}

/* ------------------------------------------------------------- detached */

/* The monitor: stdio to the log, reports the start over fd 3, waits. */
static __attribute__((noreturn)) void monitor_main(const struct zmon_opts *o, int report)
{
    struct session s;
    struct zerr e = {0};
    int devnull, status;
    char msg[ZERR_MSG_MAX + 32];

    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    prctl(PR_SET_NAME, "zone-monitor");
    if (session_init(&s, o, &e) < 0)
        goto fail;
    /* out of the way of 0..3 first, whatever the caller had open there */
    report = fcntl(report, F_DUPFD_CLOEXEC, 10);
    s.log_fd = fcntl(s.log_fd, F_DUPFD_CLOEXEC, 10);
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (report < 0 || s.log_fd < 0 || devnull < 0 || dup2(devnull, 0) < 0 ||
        dup2(s.log_fd, 1) < 0 || dup2(s.log_fd, 2) < 0 || dup2(report, 3) < 0) {
        zerr_sys(&e, "monitor: redirect stdio");
        goto fail;
    }
    report = 3;
    fcntl(report, F_SETFD, FD_CLOEXEC);   /* pasta must not hold it */
    /* nothing of the caller's (its stdout pipe, lock fds) stays open here */
    syscall(SYS_close_range, 4, ~0U, 0);
    s.log_fd = fcntl(1, F_DUPFD_CLOEXEC, 4);
    if (s.log_fd < 0) {
        zerr_sys(&e, "monitor: log");
        goto fail;
    }
    zlog_set_fd(2);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (session_start(&s, &e) < 0)
        goto fail;
    /* a caller killed meanwhile must not take the monitor with it */
    signal(SIGPIPE, SIG_IGN);
    if (write(report, "OK", 2) != 2) {
        /* the caller is gone: it cannot report the id, so do not run on */
        zcontainer_kill(&o->rt, o->id, SIGKILL, true, &e);
    }
    close(report);
    session_run(&s, &status, &e);
    _exit(0);
fail:
    snprintf(msg, sizeof msg, "E%d:%s", e.code, e.msg);
    if (write(report, msg, strlen(msg)) < 0)
        _exit(1);
    _exit(1);
}

int zmon_run_detached(const struct zmon_opts *o, struct zerr *e)
{
    int pfd[2];
    pid_t child;
    char buf[ZERR_MSG_MAX + 32];
    size_t len = 0;
    int st;

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return zerr_sys(e, "pipe");
    fflush(NULL);
    child = fork();
    if (child < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return zerr_sys(e, "fork the monitor");
    }
    if (child == 0) {
        pid_t g;
        close(pfd[0]);
        setsid();
        g = fork();
        if (g != 0)
            _exit(g < 0 ? 1 : 0);
        monitor_main(o, pfd[1]);
    }
    close(pfd[1]);
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    for (;;) {
        ssize_t n = read(pfd[0], buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1 || (len >= 2 && !strncmp(buf, "OK", 2)))
            break;
    }
    close(pfd[0]);
    buf[len] = '\0';
    if (len >= 2 && !strncmp(buf, "OK", 2))
        return 0;
    if (buf[0] == 'E') {
        char *colon = strchr(buf, ':');
        int code = atoi(buf + 1);
        return zerr_set(e, code, "%s", colon ? colon + 1 : buf + 1);
    }
    return zerr_set(e, EPIPE, "the container monitor exited before the container started");
}

bool zmon_wait_exit_record(const char *store_dir, const char *id, int timeout_ms)
{
    _cleanup_free_ char *dir = zctr_dir(store_dir, id);
    _cleanup_free_ char *path = NULL;
    int64_t end = now_ms() + timeout_ms;
    if (!dir || asprintf(&path, "%s/%s", dir, ZCTR_EXIT) < 0)
        return false;
    for (;;) {
        struct stat st;
        if (stat(path, &st) == 0)
            return true;
        if (stat(dir, &st) < 0)
            return true;   /* removed (--rm): nothing more to wait for */
        if (now_ms() >= end)
            return false;
        usleep(20000);
    }
}

int zmon_check_publish(const char *spec, struct zerr *e)
{
    return zpasta_check_publish(spec, e);
}
