/* p9-fdserve: mounts a host directory through the Linux 9p client's fd
 * transport (trans=fd), served by vm-sandbox/p9, so that the real v9fs
 * client can be tested against the server without a VM (tests/vm/t_p9.sh).
 *
 *   p9-fdserve [--read-only] [--options OPTS] ROOT MOUNTPOINT
 *
 * A child process mounts (mount(2) waits for Tversion/Tattach, which this
 * process answers); the server then runs in the foreground until the mount
 * goes away (EOF on the socket) and exits 0, or 1 when the mount failed.
 * OPTS is appended to "trans=fd,rfdno=N,wfdno=N,version=9p2000.L". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm-sandbox/p9/p9.h"

static int read_full(int fd, uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct p9_config c = { 0 };
    const char *opts = "access=client", *mnt;
    struct p9_server *s;
    struct zerr e;
    uint8_t *req, *resp;
    unsigned long requests = 0;
    int sv[2], status, i = 1;
    pid_t pid;

    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--read-only"))
            c.read_only = true;
        else if (!strcmp(argv[i], "--options") && i + 1 < argc)
            opts = argv[++i];
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: p9-fdserve [--read-only] [--options OPTS] ROOT MOUNTPOINT\n");
        return 2;
    }
    c.root = argv[i];
    mnt = argv[i + 1];
    if (p9_server_new(&c, &s, &e)) {
        fprintf(stderr, "p9-fdserve: %s\n", e.msg);
        return 1;
    }
    req = malloc(P9_MSIZE_MAX);
    resp = malloc(P9_MSIZE_MAX);
    if (!req || !resp || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        perror("p9-fdserve: setup");
        return 1;
    }
    pid = fork();
    if (pid < 0) {
        perror("p9-fdserve: fork");
        return 1;
    }
    if (pid == 0) {
        char data[512];
        int fd = dup(sv[1]); /* without CLOEXEC, as the kernel wants it */
        snprintf(data, sizeof data, "trans=fd,rfdno=%d,wfdno=%d,version=9p2000.L,%s", fd, fd, opts);
        if (mount("zone-p9", mnt, "9p", 0, data)) {
            fprintf(stderr, "p9-fdserve: mount %s (%s): %s\n", mnt, data, strerror(errno));
            _exit(1);
        }
        _exit(0);
    }
    close(sv[1]);
    for (;;) {
        uint32_t size;
        size_t n;
        if (read_full(sv[0], req, 4))
            break; /* unmounted */
        size = (uint32_t)req[0] | (uint32_t)req[1] << 8 | (uint32_t)req[2] << 16 | (uint32_t)req[3] << 24;
        if (size < 7 || size > P9_MSIZE_MAX || read_full(sv[0], req + 4, size - 4)) {
            fprintf(stderr, "p9-fdserve: bad frame of %u bytes\n", size);
            break;
        }
        n = p9_handle(s, req, size, resp, P9_MSIZE_MAX);
        requests++;
        if (n && write_full(sv[0], resp, n))
            break;
    }
    close(sv[0]);
    p9_server_free(s);
    free(req);
    free(resp);
    fprintf(stderr, "p9-fdserve: %lu requests served\n", requests);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
        return 1;
    return 0;
}
