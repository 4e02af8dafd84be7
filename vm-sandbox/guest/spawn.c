/* Starting a process as the host described it (struct ctl_process): fork,
 * then in the child stdio (console, vsock streams, /dev/null, or a new pty
 * as controlling terminal), rlimits, umask, capabilities, groups, gid, uid,
 * cwd, no_new_privs, and execve with a PATH search in the process's own
 * environment. A failure before execve comes back through a close-on-exec
 * pipe as errno + message, so the host gets "exec \"foo\": no such file or
 * directory" rather than an exit code 127. */
#include "vm-sandbox/guest/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct child_error {
    int code;
    char msg[512];
};

static void __attribute__((noreturn, format(printf, 3, 4)))
child_fail(int errfd, int code, const char *fmt, ...)
{
    struct child_error ce = { .code = code };
    va_list ap;
    size_t n;
    va_start(ap, fmt);
    vsnprintf(ce.msg, sizeof ce.msg, fmt, ap);
    va_end(ap);
    n = strlen(ce.msg);
    if (code && n + 3 < sizeof ce.msg) {
        /* lower case, as zerr_sys writes it */
        snprintf(ce.msg + n, sizeof ce.msg - n, ": %s", strerror(code));
        if (ce.msg[n + 2] >= 'A' && ce.msg[n + 2] <= 'Z')
            ce.msg[n + 2] = (char)(ce.msg[n + 2] - 'A' + 'a');
    }
    if (write(errfd, &ce, sizeof ce) < 0) {
        /* the parent then sees an exit code 127 */
    }
    _exit(127);
}

/* linux.seccomp, compiled by the host. Loaded where the runtime's init
 * loads it: with no_new_privs right before exec (the profile need not allow
 * the setup); without it before the identity switch, while the agent's
 * CAP_SYS_ADMIN lets it. */
static void load_seccomp(const struct ctl_process *p, int errfd)
{
    struct sock_fprog prog = { .len = (unsigned short)(p->seccomp_len / 8),
                               .filter = (struct sock_filter *)p->seccomp };
    if (p->seccomp_len &&
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog) < 0)
        child_fail(errfd, errno, "loading the seccomp filter (%u instructions)", prog.len);
}

static unsigned last_cap(void)
{
    char buf[16] = "";
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    unsigned v = 40;   /* CAP_CHECKPOINT_RESTORE, 6.1 */
    if (fd >= 0) {
        if (read(fd, buf, sizeof buf - 1) > 0)
            v = (unsigned)atoi(buf);
        close(fd);
    }
    return v > 63 ? 63 : v;
}

static void drop_bounding(const struct ctl_process *p, unsigned last, int errfd)
{
    for (unsigned c = 0; c <= last; c++)
        if (!(p->cap_bounding & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            child_fail(errfd, errno, "dropping capability %u from the bounding set", c);
}

static void set_caps(const struct ctl_process *p, unsigned last, int errfd)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[2] = {
        { (uint32_t)p->cap_effective, (uint32_t)p->cap_permitted, (uint32_t)p->cap_inheritable },
        { (uint32_t)(p->cap_effective >> 32), (uint32_t)(p->cap_permitted >> 32),
          (uint32_t)(p->cap_inheritable >> 32) },
    };
    if (syscall(SYS_capset, &hdr, data) < 0)
        child_fail(errfd, errno, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        child_fail(errfd, errno, "clearing ambient capabilities");
    for (unsigned c = 0; c <= last; c++)
        if ((p->cap_ambient & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            child_fail(errfd, errno, "raising ambient capability %u", c);
}

static const char *env_path(const struct ctl_process *p)
{
    for (uint32_t i = 0; i < p->nenv; i++)
        if (!strncmp(p->env[i], "PATH=", 5))
            return p->env[i] + 5;
    return DEFAULT_PATH;
}

/* execvpe() searches the caller's PATH; the process's own is wanted. */
static void exec_process(const struct ctl_process *p, int errfd)
{
    const char *file = p->args[0];
    const char *path;
    char full[PATH_MAX];
    int saved = ENOENT;
    if (strchr(file, '/')) {
        execve(file, p->args, p->env);
        child_fail(errfd, errno, "exec \"%.200s\"", file);
    }
    path = env_path(p);
    for (const char *dir = path;; dir++) {
        const char *end = strchrnul(dir, ':');
        size_t dlen = (size_t)(end - dir);
        if (dlen == 0)
            dlen = 1, dir = ".";   /* an empty PATH entry is the cwd */
        if (dlen + 1 + strlen(file) < sizeof full) {
            memcpy(full, dir, dlen);
            full[dlen] = '/';
            strcpy(full + dlen + 1, file);
            execve(full, p->args, p->env);
            if (errno == EACCES)
                saved = EACCES;
            else if (errno != ENOENT && errno != ENOTDIR)
                child_fail(errfd, errno, "exec \"%.200s\"", full);
        }
        if (!*end)
            break;
        dir = end;
    }
    child_fail(errfd, saved, "exec \"%.200s\" (searched PATH %.200s)", file, path);
}

static void child(const struct spawn_req *r, const char *slave_path, int errfd)
{
    const struct ctl_process *p = r->proc;
    int fds[3];
    sigset_t none;
    unsigned last = 0;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    if (setsid() < 0)
        child_fail(errfd, errno, "setsid");

    /* stdio: move every source above 2 first, so no dup2 clobbers another */
    if (slave_path) {
        int slave = open(slave_path, O_RDWR | O_CLOEXEC);
        if (slave < 0)
            child_fail(errfd, errno, "opening the terminal %s", slave_path);
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
            child_fail(errfd, errno, "making %s the controlling terminal", slave_path);
        if ((slave = fcntl(slave, F_DUPFD_CLOEXEC, 3)) < 0)
            child_fail(errfd, errno, "dup");
        for (int i = 0; i < 3; i++)
            fds[i] = slave;
    } else {
        for (int i = 0; i < 3; i++) {
            int src = r->fds[i];
            if (src < 0 && (src = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
                child_fail(errfd, errno, "/dev/null");
            fds[i] = fcntl(src, F_DUPFD_CLOEXEC, 3);
            if (fds[i] < 0)
                child_fail(errfd, errno, "dup");
        }
    }
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            child_fail(errfd, errno, "dup2 to fd %d", i);

    for (uint32_t i = 0; i < p->nrlimits; i++) {
        struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
        if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
            child_fail(errfd, errno, "setrlimit %u", p->rlimits[i].resource);
    }
    umask((mode_t)p->umask);

    if (p->flags & CTL_PROC_CAPS) {
        last = last_cap();
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            child_fail(errfd, errno, "PR_SET_KEEPCAPS");
        drop_bounding(p, last, errfd);
    }
    if (!(p->flags & CTL_PROC_NO_NEW_PRIVS))
        load_seccomp(p, errfd);
    if (setgroups(p->ngroups, (const gid_t *)p->groups) < 0)
        child_fail(errfd, errno, "setgroups (%u groups)", p->ngroups);
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        child_fail(errfd, errno, "setresgid %u", p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        child_fail(errfd, errno, "setresuid %u", p->uid);
    if (p->flags & CTL_PROC_CAPS)
        set_caps(p, last, errfd);
    if (chdir(p->cwd) < 0)
        child_fail(errfd, errno, "chdir to cwd \"%.200s\"", p->cwd);
    if ((p->flags & CTL_PROC_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(errfd, errno, "PR_SET_NO_NEW_PRIVS");

    /* nothing of the agent's may leak into the process: errfd and the rest
     * are close-on-exec already, this makes sure of it */
    syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
    if (p->flags & CTL_PROC_NO_NEW_PRIVS)
        load_seccomp(p, errfd);
    exec_process(p, errfd);
}

static int open_pty(const struct ctl_process *p, int *master, char *slave_path, size_t cap, struct zerr *e)
{
    struct winsize ws = { .ws_row = p->rows, .ws_col = p->cols };
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    int slave;
    if (m < 0)
        return zerr_sys(e, "opening a pty (/dev/ptmx)");
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave_path, cap) != 0) {
        zerr_sys(e, "setting up the pty");
        close(m);
        return -1;
    }
    /* the process owns its terminal, as a login would */
    slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0 || fchown(slave, p->uid, (gid_t)-1) < 0) {
        zerr_sys(e, "%s", slave_path);
        if (slave >= 0)
            close(slave);
        close(m);
        return -1;
    }
    close(slave);
    if ((ws.ws_row || ws.ws_col) && ioctl(m, TIOCSWINSZ, &ws) < 0) {
        zerr_sys(e, "setting the terminal size");
        close(m);
        return -1;
    }
    *master = m;
    return 0;
}

int spawn_process(const struct spawn_req *r, pid_t *pid_out, int *master, struct zerr *e)
{
    char slave_path[64];
    int pipefd[2], m = -1;
    struct child_error ce;
    ssize_t n;
    pid_t pid;
    int status;

    *master = -1;
    if (r->terminal && open_pty(r->proc, &m, slave_path, sizeof slave_path, e) < 0)
        return -1;
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        zerr_sys(e, "pipe");
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        zerr_sys(e, "fork");
        close(pipefd[0]);
        close(pipefd[1]);
        goto fail;
    }
    if (pid == 0) {
        close(pipefd[0]);
        child(r, r->terminal ? slave_path : NULL, pipefd[1]);
    }
    close(pipefd[1]);
    do
        n = read(pipefd[0], &ce, sizeof ce);
    while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    if (n > 0) {
        /* the child failed before execve and has exited: reap it here, it
         * never becomes a session's process */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        ce.msg[sizeof ce.msg - 1] = '\0';
        zerr_set(e, n == (ssize_t)sizeof ce ? ce.code : EIO, "%s", n == (ssize_t)sizeof ce ? ce.msg : "process setup failed");
        goto fail;
    }
    *pid_out = pid;
    *master = m;
    return 0;
fail:
    if (m >= 0)
        close(m);
    return -1;
}
