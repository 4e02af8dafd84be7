#include "runtime/waiter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                                SIGWINCH, SIGCHLD, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU};

static void forwarded_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(set, forwarded[i]);
}

void zwait_block_signals(sigset_t *old)
{
    sigset_t set;
    forwarded_set(&set);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0)
        ioctl(to, TIOCSWINSZ, &ws);
}

/* Moves what is readable from in to out; returns false at EOF or error. */
static bool pump(int in, int out)
{
    char buf[8192];
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0)
        return n < 0 && (errno == EAGAIN || errno == EINTR);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(out, buf + off, (size_t)(n - off));
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return false;
        }
        off += w;
    }
    return true;
}

static bool reap(pid_t pid, int *exit_status)
{
    int status;
    pid_t r;
    bool done = false;
    /* reap every child: as subreaper we inherit the container's orphans */
    while ((r = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
        if (r != pid)
            continue;
        *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        done = true;
    }
    return done;
}

int zwait_process(pid_t pid, int tty_master, int *exit_status, struct zerr *e)
{
    sigset_t set;
    int sfd;
    struct termios saved;
    bool raw = false, stdin_open = tty_master >= 0, master_open = tty_master >= 0;

    forwarded_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0)
        return zerr_sys(e, "signalfd");
    if (tty_master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios r = saved;
        cfmakeraw(&r);
        raw = tcsetattr(0, TCSANOW, &r) == 0;
        copy_winsize(0, tty_master);
    }
    *exit_status = 255;
    for (bool done = reap(pid, exit_status); !done;) {
        struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
                              {.fd = stdin_open ? 0 : -1, .events = POLLIN},
                              {.fd = master_open ? tty_master : -1, .events = POLLIN}};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    done = reap(pid, exit_status);
                } else if (si.ssi_signo == SIGWINCH) {
                    if (tty_master >= 0)
                        copy_winsize(0, tty_master);
                } else {
                    kill(pid, (int)si.ssi_signo);
                }
                if (done)
                    break;
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            if (!pump(0, tty_master))
                stdin_open = false; /* keep the session: the process may still write */
        }
        if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!pump(tty_master, 1))
                master_open = false;
        }
    }
    /* drain what the process wrote before it exited */
    if (master_open) {
        int fl = fcntl(tty_master, F_GETFL);
        fcntl(tty_master, F_SETFL, fl | O_NONBLOCK);
        while (pump(tty_master, 1)) {
            struct pollfd p = {.fd = tty_master, .events = POLLIN};
            if (poll(&p, 1, 0) <= 0)
                break;
        }
    }
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    close(sfd);
    return 0;
}
