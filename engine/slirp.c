/* --network pasta without pasta: slirp4netns (see pasta.h). */
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
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"

#define SLIRP_READY_TIMEOUT_MS 10000

static void read_all(int fd, char *buf, size_t n)
{
    ssize_t r;
    size_t len = 0;
    lseek(fd, 0, SEEK_SET);
    while (len + 1 < n && (r = read(fd, buf + len, n - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = ' ';
    while (len && buf[len - 1] == ' ')
        buf[--len] = '\0';
}

/* One request on the API socket: add_hostfwd for port mapping pm. */
static int add_hostfwd(const char *sock_path, const struct zpublish *pm, const char *spec,
                       struct zerr *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    _cleanup_close_ int fd = -1;
    char req[512], resp[512];
    size_t len = 0;
    ssize_t r;

    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return zerr_sys(e, "--publish %s: slirp4netns API socket %s", spec, sock_path);
    /* every field was checked by zpasta_parse_publish: digits and dots */
    snprintf(req, sizeof req, "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"%s\", "
             "\"host_addr\": \"%s\", \"host_port\": %s, \"guest_port\": %s}}",
             pm->udp ? "udp" : "tcp", pm->ip[0] ? pm->ip : "0.0.0.0", pm->host, pm->ctr);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        return zerr_sys(e, "--publish %s: writing to slirp4netns", spec);
    shutdown(fd, SHUT_WR);
    while (len + 1 < sizeof resp && (r = read(fd, resp + len, sizeof resp - 1 - len)) > 0)
        len += (size_t)r;
    resp[len] = '\0';
    if (!strstr(resp, "\"return\"") || strstr(resp, "\"error\""))
        return zerr_set(e, EIO, "--publish %s: slirp4netns refused: %.300s", spec,
                        len ? resp : "(no answer)");
    return 0;
}

/* Waits for slirp4netns to write to its ready fd, or to exit. */
static int wait_ready(pid_t child, int ready_fd, int errfd, struct zerr *e)
{
    struct pollfd pf = { .fd = ready_fd, .events = POLLIN };
    char c, msg[512];
    int st, n = poll(&pf, 1, SLIRP_READY_TIMEOUT_MS);

    if (n > 0 && read(ready_fd, &c, 1) == 1)
        return 0;
    if (n == 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return zerr_set(e, ETIMEDOUT, "--network pasta: slirp4netns did not configure the "
                        "network within %d s", SLIRP_READY_TIMEOUT_MS / 1000);
    }
    /* EOF: it exited */
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    read_all(errfd, msg, sizeof msg);
    return zerr_set(e, EIO, "--network pasta: slirp4netns failed (%s %d)%s%s",
                    WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                    msg[0] ? ": " : "", msg);
}

int zslirp_start(struct zpasta *p, pid_t ctr_pid, bool rootless, char *const *publish,
                 size_t n_publish, struct zerr *e)
{
    _cleanup_close_ int netns = -1, userns = -1, errfd = -1;
    int ready[2] = { -1, -1 }, rc = -1;
    char sock[PATH_MAX] = "", api_arg[PATH_MAX + 16];
    const char *argv[16];
    size_t argc = 0;
    pid_t child;

    if (zpasta_open_namespaces(ctr_pid, rootless, &netns, &userns, e) < 0)
        return -1;
    if (n_publish) {
        /* rootless in the user's runtime dir: nothing outside its dirs */
        const char *rd = getenv("XDG_RUNTIME_DIR");
        unsigned r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r = (unsigned)time(NULL);
        snprintf(sock, sizeof sock, "%s/zone-slirp-%d-%08x.sock",
                 geteuid() != 0 && rd && rd[0] == '/' ? rd : "/tmp", (int)getpid(), r);
        if (strlen(sock) >= sizeof ((struct sockaddr_un *)0)->sun_path)
            return zerr_set(e, ENAMETOOLONG, "--network pasta: slirp4netns API socket path %s "
                            "is too long for a unix socket", sock);
        snprintf(api_arg, sizeof api_arg, "--api-socket=%s", sock);
    }
    errfd = memfd_create("slirp-stderr", MFD_CLOEXEC);
    if (errfd < 0 || pipe2(ready, O_CLOEXEC) < 0)
        return zerr_sys(e, "--network pasta: slirp4netns pipes");

    argv[argc++] = "slirp4netns";
    argv[argc++] = "--configure";
    argv[argc++] = "--mtu=65520";
    argv[argc++] = "--disable-host-loopback";
    argv[argc++] = "--ready-fd=5";
    if (n_publish)
        argv[argc++] = api_arg;
    argv[argc++] = "--netns-type=path";
    if (userns >= 0)
        argv[argc++] = "--userns-path=/proc/self/fd/4";
    argv[argc++] = "/proc/self/fd/3";
    argv[argc++] = "tap0";
    argv[argc] = NULL;

    child = fork();
    if (child < 0) {
        zerr_sys(e, "--network pasta: fork");
        goto out;
    }
    if (child == 0) {
        /* it ends with the monitor at the latest */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        zpasta_exec_helper((char *const *)argv, errfd, netns, userns, ready[1]);
    }
    close(ready[1]);
    ready[1] = -1;
    if (wait_ready(child, ready[0], errfd, e) < 0)
        goto out;
    p->pid = child;
    p->pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (p->pidfd < 0) {
        zerr_sys(e, "--network pasta: slirp4netns exited after configuring");
        goto fail;
    }
    for (size_t i = 0; i < n_publish; i++) {
        struct zpublish pm;
        if (zpasta_parse_publish(publish[i], &pm, e) < 0 ||
            add_hostfwd(sock, &pm, publish[i], e) < 0)
            goto fail;
    }
    rc = 0;
    goto out;
fail:
    zpasta_stop(p);
out:
    if (sock[0])
        unlink(sock);
    for (int i = 0; i < 2; i++)
        if (ready[i] >= 0)
            close(ready[i]);
    return rc;
}
