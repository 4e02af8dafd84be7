/* Running OCI hooks: one child per hook, fed the state on stdin, watched
 * through a pidfd with poll() so that a timeout needs no signal handlers and
 * other children of the runtime are never reaped by accident. */
#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"

/* Poll tick when the kernel has no pidfd_open (< 5.3). */
#define NO_PIDFD_TICK_MS 20
#define READ_CHUNK 4096

struct hook_run {
    const struct zspec_hook *hook;
    const char *list_name;
    size_t index;

    pid_t pid;
    int pidfd;          /* -1 without kernel support */
    int in;             /* our end of the hook's stdin, -1 once done */
    int err;            /* read end of the hook's stderr, -1 at EOF */
    int exec_err;       /* read end of the exec-failure pipe */
    const char *state;
    size_t state_len, state_off;

    char tail[ZHOOK_STDERR_MAX];
    size_t tail_len;
};

/* Moves fd above 0..2 so the child's dup2() onto stdio cannot clobber it
 * (the runtime may have been started with stdio closed). */
static int lift_fd(int *fd)
{
    if (*fd > 2)
        return 0;
    int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (nfd < 0)
        return -1;
    close(*fd);
    *fd = nfd;
    return 0;
}

static void close_from(unsigned first, unsigned last)
{
    if (first > last)
        return;
    if (close_range(first, last, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (long fd = first; fd < max && fd <= (long)last; fd++)
        close((int)fd);
}

/* In the child: only async-signal-safe calls from here to execve. */
static __attribute__((noreturn)) void exec_hook(const struct zspec_hook *h,
                                                char *const argv[],
                                                char *const envp[],
                                                int in, int err, int exec_err,
                                                int devnull)
{
    sigset_t none;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* ignored dispositions survive exec */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);

    /* stdout follows our stderr, or /dev/null when we have none. */
    if (fcntl(2, F_GETFD) >= 0)
        dup2(2, 1);
    else
        dup2(devnull, 1);
    dup2(in, 0);
    dup2(err, 2);
    unsigned keep = (unsigned)exec_err;
    close_from(3, keep - 1);
    close_from(keep + 1, ~0u);

    execve(h->path, argv, envp);
    int code = errno;
    ssize_t unused = write(exec_err, &code, sizeof code);
    (void)unused;
    _exit(127);
}

static void keep_tail(struct hook_run *r, const char *buf, size_t n)
{
    if (n >= sizeof r->tail) {
        memcpy(r->tail, buf + n - sizeof r->tail, sizeof r->tail);
        r->tail_len = sizeof r->tail;
        return;
    }
    size_t room = sizeof r->tail - r->tail_len;
    if (n > room) {
        size_t drop = n - room;
        memmove(r->tail, r->tail + drop, r->tail_len - drop);
        r->tail_len -= drop;
    }
    memcpy(r->tail + r->tail_len, buf, n);
    r->tail_len += n;
}

/* Reads what is available on the hook's stderr, passes it through to ours
 * and keeps the tail. */
static void drain_stderr(struct hook_run *r)
{
    char buf[READ_CHUNK];
    while (r->err >= 0) {
        ssize_t n = read(r->err, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close(r->err);
            r->err = -1;
            return;
        }
        keep_tail(r, buf, (size_t)n);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(2, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break; /* our stderr is gone: keep only the tail */
            off += w;
        }
    }
}

static void close_stdin(struct hook_run *r)
{
    if (r->in >= 0) {
        close(r->in);
        r->in = -1;
    }
}

static void feed_stdin(struct hook_run *r)
{
    while (r->in >= 0 && r->state_off < r->state_len) {
        ssize_t n = send(r->in, r->state + r->state_off,
                         r->state_len - r->state_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            /* The hook closed its stdin without reading it all: its own
             * business, as with runc. */
            close_stdin(r);
            return;
        }
        r->state_off += (size_t)n;
    }
    close_stdin(r);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reaps the hook if it has exited: 1 with *status, 0 if still running. */
static int try_reap(struct hook_run *r, int *status, bool block)
{
    for (;;) {
        pid_t w = waitpid(r->pid, status, block ? 0 : WNOHANG);
        if (w == r->pid)
            return 1;
        if (w == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static void kill_hook(struct hook_run *r)
{
    kill(-r->pid, SIGKILL); /* the whole group: children of a script too */
    if (r->pidfd >= 0)
        pidfd_send_signal(r->pidfd, SIGKILL, NULL, 0);
    else
        kill(r->pid, SIGKILL);
}

/* Runs the poll loop until the hook exits or times out. Returns 0 with
 * *status, 1 on timeout (the hook killed and reaped), -1 on error. */
static int supervise(struct hook_run *r, int *status, struct zerr *e)
{
    const struct zspec_hook *h = r->hook;
    bool timed = h->has_timeout && h->timeout > 0;
    int64_t deadline = timed ? now_ms() + (int64_t)h->timeout * 1000 : 0;

    feed_stdin(r);
    for (;;) {
        struct pollfd p[3];
        nfds_t np = 0;
        int pid_slot = -1, in_slot = -1, err_slot = -1;
        if (r->pidfd >= 0) {
            pid_slot = (int)np;
            p[np++] = (struct pollfd){ .fd = r->pidfd, .events = POLLIN };
        }
        if (r->in >= 0) {
            in_slot = (int)np;
            p[np++] = (struct pollfd){ .fd = r->in, .events = POLLOUT };
        }
        if (r->err >= 0) {
            err_slot = (int)np;
            p[np++] = (struct pollfd){ .fd = r->err, .events = POLLIN };
        }

        int wait_ms = -1;
        if (timed) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                kill_hook(r);
                drain_stderr(r);
                if (try_reap(r, status, true) < 0)
                    return zerr_sys(e, "waiting for the hook");
                return 1;
            }
            wait_ms = left > INT32_MAX ? INT32_MAX : (int)left;
        }
        if (r->pidfd < 0 && (wait_ms < 0 || wait_ms > NO_PIDFD_TICK_MS))
            wait_ms = NO_PIDFD_TICK_MS;

        int ready = poll(p, np, wait_ms);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            kill_hook(r);
            try_reap(r, status, true);
            return zerr_sys(e, "waiting for the hook (poll)");
        }
        if (err_slot >= 0 && p[err_slot].revents)
            drain_stderr(r);
        if (in_slot >= 0 && p[in_slot].revents)
            feed_stdin(r);

        bool maybe_exited = r->pidfd < 0 || (pid_slot >= 0 && p[pid_slot].revents);
        if (maybe_exited) {
            int got = try_reap(r, status, r->pidfd >= 0);
            if (got < 0)
                return zerr_sys(e, "waiting for the hook");
            if (got == 1) {
                drain_stderr(r); /* what is already there; no wait for EOF */
                return 0;
            }
        }
    }
}

static void trim_tail(struct hook_run *r, char *out, size_t size)
{
    size_t n = r->tail_len < size - 1 ? r->tail_len : size - 1;
    memcpy(out, r->tail + r->tail_len - n, n);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
}

static int run_one(const struct zspec_hook *h, const char *list_name,
                   size_t index, const char *state, struct zerr *e)
{
    if (!h->path)
        return zerr_set(e, EINVAL, "hook %s[%zu]: no path", list_name, index);

    char *default_argv[] = { h->path, NULL };
    char *empty_env[] = { NULL };
    char *const *argv = h->args && h->n_args > 0 ? h->args : default_argv;
    char *const *envp = h->env ? h->env : empty_env;

    struct hook_run r = { .hook = h, .list_name = list_name, .index = index,
                          .pid = -1, .pidfd = -1, .in = -1, .err = -1,
                          .exec_err = -1, .state = state ? state : "",
                          .state_len = state ? strlen(state) : 0 };
    int sp[2] = { -1, -1 }, errp[2] = { -1, -1 }, xp[2] = { -1, -1 };
    _cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int ret = -1;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0 || pipe2(xp, O_CLOEXEC) < 0 ||
        devnull < 0 || lift_fd(&sp[1]) < 0 || lift_fd(&errp[1]) < 0 ||
        lift_fd(&xp[1]) < 0 || lift_fd(&devnull) < 0) {
        zerr_sys(e, "hook %s[%zu] (%s): setting up its stdio", list_name,
                 index, h->path);
        goto out;
    }

    r.pid = fork();
    if (r.pid < 0) {
        zerr_sys(e, "hook %s[%zu] (%s): fork", list_name, index, h->path);
        goto out;
    }
    if (r.pid == 0)
        exec_hook(h, (char *const *)argv, (char *const *)envp, sp[1], errp[1],
                  xp[1], devnull);

    /* Set the group from this side as well, so that kill(-pid) on a
     * timeout cannot miss a hook that has not run setpgid() yet. */
    setpgid(r.pid, r.pid);
    close(sp[1]);
    sp[1] = -1;
    close(errp[1]);
    errp[1] = -1;
    close(xp[1]);
    xp[1] = -1;
    r.in = steal_fd(&sp[0]);
    r.err = steal_fd(&errp[0]);
    r.exec_err = steal_fd(&xp[0]);
    fcntl(r.err, F_SETFL, O_NONBLOCK);
    r.pidfd = pidfd_open(r.pid, 0);
    if (r.pidfd < 0 && errno != ENOSYS) {
        zerr_sys(e, "hook %s[%zu] (%s): pidfd_open", list_name, index, h->path);
        kill_hook(&r);
        int st;
        try_reap(&r, &st, true);
        goto out;
    }

    int status = 0;
    int sup = supervise(&r, &status, e);
    if (sup < 0) {
        zerr_prefix(e, "hook %s[%zu] (%s)", list_name, index, h->path);
        goto out;
    }
    if (sup == 1) {
        zerr_set(e, ETIMEDOUT, "hook %s[%zu] (%s): timed out after %ds",
                 list_name, index, h->path, (int)h->timeout);
        goto out;
    }

    int exec_errno = 0;
    if (read(r.exec_err, &exec_errno, sizeof exec_errno) == (ssize_t)sizeof exec_errno) {
        errno = exec_errno;
        zerr_sys(e, "hook %s[%zu] (%s): cannot execute", list_name, index,
                 h->path);
        goto out;
    }

    char text[ZHOOK_STDERR_MAX + 1];
    trim_tail(&r, text, sizeof text);
    const char *sep = text[0] ? ": " : "";
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        zerr_set(e, 0, "hook %s[%zu] (%s): exit status %d%s%s", list_name,
                 index, h->path, WEXITSTATUS(status), sep, text);
        goto out;
    }
    if (WIFSIGNALED(status)) {
        zerr_set(e, 0, "hook %s[%zu] (%s): killed by signal %d (%s)%s%s",
                 list_name, index, h->path, WTERMSIG(status),
                 strsignal(WTERMSIG(status)), sep, text);
        goto out;
    }
    ret = 0;
out:
    for (size_t i = 0; i < 2; i++) {
        if (sp[i] >= 0)
            close(sp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (xp[i] >= 0)
            close(xp[i]);
    }
    if (r.in >= 0)
        close(r.in);
    if (r.err >= 0)
        close(r.err);
    if (r.exec_err >= 0)
        close(r.exec_err);
    if (r.pidfd >= 0)
        close(r.pidfd);
    return ret;
}

int zhooks_run(const struct zspec_hook_list *list, const char *name,
               const char *state_json, struct zerr *e)
{
    if (!list)
        return 0;
    for (size_t i = 0; i < list->n_hooks; i++)
        if (run_one(&list->hooks[i], name ? name : "hook", i, state_json, e) < 0)
            return -1;
    return 0;
}
