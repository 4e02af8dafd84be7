/* --network pasta (see pasta.h). */
#include "engine/pasta.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"

#define PASTA_PACKAGE "passt"

void zpasta_init(struct zpasta *p)
{
    p->pid = 0;
    p->pidfd = -1;
}

static bool in_path(const char *prog)
{
    const char *path = getenv("PATH");
    _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    char *save = NULL;
    for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", dir, prog);
        if (access(full, X_OK) == 0)
            return true;
    }
    return false;
}

int zpasta_available(struct zerr *e)
{
    int fd;
    if (!in_path("pasta") && !in_path("slirp4netns"))
        return zerr_set(e, ENOENT, "--network pasta: neither pasta nor slirp4netns is "
                        "installed (install the Debian package %s, or slirp4netns)",
                        PASTA_PACKAGE);
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "--network pasta: /dev/net/tun is not usable (pasta needs the tun "
                        "device: load the tun module, or pass /dev/net/tun into this environment)");
    close(fd);
    return 0;
}

/* ------------------------------------------------------------- publish */

static int parse_port(const char *s, size_t len, const char *spec, struct zerr *e)
{
    long v = 0;
    if (len == 0 || len > 5)
        return zerr_set(e, EINVAL, "--publish \"%s\": invalid port", spec);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return zerr_set(e, EINVAL, "--publish \"%s\": invalid port \"%.*s\"", spec, (int)len, s);
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return zerr_set(e, EINVAL, "--publish \"%s\": port %ld out of range 1-65535", spec, v);
    return 0;
}

/* Splits spec into ip (may be empty), host port, container port and
 * protocol; *udp set for /udp. */
static int publish_parse(const char *spec, struct zpublish *p, struct zerr *e)
{
    _cleanup_free_ char *s = strdup(spec);
    char *slash, *last, *prev;
    memset(p, 0, sizeof *p);
    if (!s)
        return zerr_set(e, ENOMEM, "out of memory");
    slash = strrchr(s, '/');
    if (slash) {
        *slash = '\0';
        if (!strcmp(slash + 1, "udp"))
            p->udp = true;
        else if (strcmp(slash + 1, "tcp"))
            return zerr_set(e, EINVAL, "--publish \"%s\": protocol must be tcp or udp", spec);
    }
    last = strrchr(s, ':');
    if (!last) {
        if (parse_port(s, strlen(s), spec, e) < 0)
            return -1;
        snprintf(p->host, sizeof p->host, "%s", s);
        snprintf(p->ctr, sizeof p->ctr, "%s", s);
        return 0;
    }
    *last = '\0';
    if (parse_port(last + 1, strlen(last + 1), spec, e) < 0)
        return -1;
    snprintf(p->ctr, sizeof p->ctr, "%s", last + 1);
    prev = strrchr(s, ':');
    if (prev && s[0] != '[') {
        *prev = '\0';
        if (parse_port(prev + 1, strlen(prev + 1), spec, e) < 0)
            return -1;
        snprintf(p->host, sizeof p->host, "%s", prev + 1);
    } else if (s[0] == '[') {
        char *close_br = strchr(s, ']');
        if (!close_br || close_br[1] != ':')
            return zerr_set(e, EINVAL, "--publish \"%s\": expected [IPv6]:HOSTPORT:CTRPORT", spec);
        *close_br = '\0';
        if (parse_port(close_br + 2, strlen(close_br + 2), spec, e) < 0)
            return -1;
        snprintf(p->host, sizeof p->host, "%s", close_br + 2);
        prev = s + 1;
        snprintf(p->ip, sizeof p->ip, "%s", prev);
        return 0;
    } else {
        if (parse_port(s, strlen(s), spec, e) < 0)
            return -1;
        snprintf(p->host, sizeof p->host, "%s", s);
        return 0;
    }
    /* what is left before the host port is the address */
    if (!*s || strlen(s) >= sizeof p->ip || strspn(s, "0123456789.") != strlen(s))
        return zerr_set(e, EINVAL, "--publish \"%s\": invalid host address \"%s\"", spec, s);
    snprintf(p->ip, sizeof p->ip, "%s", s);
    return 0;
}

int zpasta_check_publish(const char *spec, struct zerr *e)
{
    struct zpublish p;
    return publish_parse(spec, &p, e);
}

int zpasta_parse_publish(const char *spec, struct zpublish *p, struct zerr *e)
{
    return publish_parse(spec, p, e);
}

/* --------------------------------------------------------------- start */

static void read_text(int fd, char *buf, size_t n)
{
    ssize_t r;
    size_t len = 0;
    lseek(fd, 0, SEEK_SET);
    while (len + 1 < n && (r = read(fd, buf + len, n - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    /* one line is enough, without the trailing newline */
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = ' ';
}

void zpasta_exec_helper(char *const *argv, int errfd, int netns, int userns, int extra_fd)
{
    /* above the fds being placed, so no dup2 overwrites a source */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int ns3 = fcntl(netns, F_DUPFD_CLOEXEC, 10);
    int ns4 = userns >= 0 ? fcntl(userns, F_DUPFD_CLOEXEC, 10) : -1;
    int fd5 = extra_fd >= 0 ? fcntl(extra_fd, F_DUPFD_CLOEXEC, 10) : -1;
    sigset_t none;

    if (devnull < 0 || ns3 < 0 || (userns >= 0 && ns4 < 0) || (extra_fd >= 0 && fd5 < 0) ||
        dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(errfd, 2) < 0 || dup2(ns3, 3) < 0 ||
        (ns4 >= 0 && dup2(ns4, 4) < 0) || (fd5 >= 0 && dup2(fd5, 5) < 0))
        _exit(127);
    syscall(SYS_close_range, fd5 >= 0 ? 6 : ns4 >= 0 ? 5 : 4, ~0U, 0);
    /* the caller blocks the signals it forwards; the helper must not inherit that */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[0], argv);
    dprintf(2, "exec %s: %s", argv[0], strerror(errno));
    _exit(127);
}

int zpasta_open_namespaces(pid_t ctr_pid, bool rootless, int *netns, int *userns, struct zerr *e)
{
    char path[64];

    *userns = -1;
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)ctr_pid);
    *netns = open(path, O_RDONLY | O_CLOEXEC);
    if (*netns < 0)
        return zerr_sys(e, "--network pasta: %s", path);
    if (rootless) {
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)ctr_pid);
        *userns = open(path, O_RDONLY | O_CLOEXEC);
        if (*userns < 0) {
            zerr_sys(e, "--network pasta: %s", path);
            close(*netns);
            *netns = -1;
            return -1;
        }
    }
    return 0;
}

int zpasta_start(struct zpasta *p, pid_t ctr_pid, bool rootless, char *const *publish,
                 size_t n_publish, struct zerr *e)
{
    _cleanup_close_ int netns = -1, userns = -1, errfd = -1, pidf = -1;
    char pidfile[PATH_MAX];
    char **argv = NULL;
    struct zpublish *ports = NULL;
    size_t argc = 0, n_tcp = 0, n_udp = 0;
    pid_t child;
    int st, rc = -1;

    if (zpasta_available(e) < 0)
        return -1;
    if (!in_path("pasta"))   /* the fallback: slirp4netns */
        return zslirp_start(p, ctr_pid, rootless, publish, n_publish, e);
    /* pasta drops privileges before it opens the namespace, and the
     * container's /proc/PID/ns files need ptrace access it then lacks: it
     * gets the namespaces as fds we opened, through /proc/self/fd */
    if (zpasta_open_namespaces(ctr_pid, rootless, &netns, &userns, e) < 0)
        return -1;
    /* pasta's pid file: rootless in the user's own runtime dir, so zone
     * writes nothing outside the user's directories */
    {
        const char *rd = getenv("XDG_RUNTIME_DIR");
        snprintf(pidfile, sizeof pidfile, "%s/zone-pasta-XXXXXX",
                 geteuid() != 0 && rd && rd[0] == '/' ? rd : "/tmp");
    }
    errfd = memfd_create("pasta-stderr", MFD_CLOEXEC);
    pidf = mkostemp(pidfile, O_CLOEXEC);
    if (errfd < 0 || pidf < 0)
        return zerr_sys(e, "--network pasta: temporary files");

    ports = calloc(n_publish ? n_publish : 1, sizeof *ports);
    argv = calloc(24 + 2 * n_publish, sizeof *argv);
    if (!ports || !argv) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    argv[argc++] = strdup("pasta");
    argv[argc++] = strdup("--config-net");
    argv[argc++] = strdup("--quiet");
    argv[argc++] = strdup("--pid");
    argv[argc++] = strdup(pidfile);
    if (geteuid() == 0) {
        /* as nobody (its default for root) it cannot join the namespace */
        argv[argc++] = strdup("--runas");
        argv[argc++] = strdup("0");
    }
    argv[argc++] = strdup("--netns");
    argv[argc++] = strdup("/proc/self/fd/3");
    if (userns >= 0) {
        argv[argc++] = strdup("--userns");
        argv[argc++] = strdup("/proc/self/fd/4");
    }
    for (size_t i = 0; i < n_publish; i++) {
        char spec[128];
        if (publish_parse(publish[i], &ports[i], e) < 0)
            goto out;
        if (ports[i].ip[0])
            snprintf(spec, sizeof spec, "%s/%s:%s", ports[i].ip, ports[i].host, ports[i].ctr);
        else
            snprintf(spec, sizeof spec, "%s:%s", ports[i].host, ports[i].ctr);
        argv[argc++] = strdup(ports[i].udp ? "-u" : "-t");
        argv[argc++] = strdup(spec);
        if (ports[i].udp)
            n_udp++;
        else
            n_tcp++;
    }
    /* nothing forwarded unless asked, either way */
    if (!n_tcp) {
        argv[argc++] = strdup("-t");
        argv[argc++] = strdup("none");
    }
    if (!n_udp) {
        argv[argc++] = strdup("-u");
        argv[argc++] = strdup("none");
    }
    argv[argc++] = strdup("-T");
    argv[argc++] = strdup("none");
    argv[argc++] = strdup("-U");
    argv[argc++] = strdup("none");
    for (size_t i = 0; i < argc; i++)
        if (!argv[i]) {
            zerr_set(e, ENOMEM, "out of memory");
            goto out;
        }

    child = fork();
    if (child < 0) {
        zerr_sys(e, "--network pasta: fork");
        goto out;
    }
    if (child == 0)
        zpasta_exec_helper(argv, errfd, netns, userns, -1);
    while (waitpid(child, &st, 0) < 0) {
        if (errno != EINTR) {
            zerr_sys(e, "--network pasta: wait");
            goto out;
        }
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char msg[1024];
        read_text(errfd, msg, sizeof msg);
        zerr_set(e, EIO, "--network pasta: pasta failed (%s %d)%s%s",
                 WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                 msg[0] ? ": " : "", msg);
        goto out;
    }
    {
        char num[32];
        long v;
        read_text(pidf, num, sizeof num);
        v = strtol(num, NULL, 10);
        if (v <= 0) {
            zerr_set(e, EIO, "--network pasta: pasta did not write its pid");
            goto out;
        }
        p->pid = (pid_t)v;
        p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
        if (p->pidfd < 0) {
            /* it exited already: the namespace has no network then */
            p->pid = 0;
            zerr_sys(e, "--network pasta: pasta exited after configuring");
            goto out;
        }
    }
    rc = 0;
out:
    unlink(pidfile);
    for (size_t i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
    free(ports);
    return rc;
}

void zpasta_reaped(struct zpasta *p, pid_t pid)
{
    if (p->pid && pid == p->pid)
        p->pid = 0;
}

void zpasta_stop(struct zpasta *p)
{
    if (p->pidfd >= 0) {
        struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
        if (syscall(SYS_pidfd_send_signal, p->pidfd, SIGTERM, NULL, 0) == 0 && poll(&pf, 1, 1000) <= 0)
            syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
        if (p->pid) {
            /* reaped here when it was reparented to us (subreaper) */
            poll(&pf, 1, 1000);
            waitpid(p->pid, NULL, WNOHANG | __WALL);
        }
        close(p->pidfd);
    }
    zpasta_init(p);
}
