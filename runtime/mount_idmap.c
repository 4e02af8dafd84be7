/* A user namespace carrying a mount's uidMappings/gidMappings, for
 * MOUNT_ATTR_IDMAP. A short-lived child unshares a user namespace; we
 * write its maps, keep an fd of the namespace and let the child go. */
#include "runtime/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"

static int write_map(pid_t host_pid, const char *file,
                     const struct zspec_idmap *m, size_t n, struct zerr *e)
{
    char path[64];
    _cleanup_free_ char *text = NULL;
    size_t len = 0, cap = 0;
    _cleanup_close_ int fd = -1;

    for (size_t i = 0; i < n; i++) {
        char line[64];
        int l = snprintf(line, sizeof line, "%u %u %u\n", m[i].container_id,
                         m[i].host_id, m[i].size);
        if (len + (size_t)l + 1 > cap) {
            size_t ncap = (len + (size_t)l + 1) * 2;
            char *nt = realloc(text, ncap);
            if (!nt)
                return zerr_set(e, ENOMEM, "out of memory");
            text = nt;
            cap = ncap;
        }
        memcpy(text + len, line, (size_t)l + 1);
        len += (size_t)l;
    }
    snprintf(path, sizeof path, "/proc/%d/%s", (int)host_pid, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "idmap: open %s", file);
    if (len && write(fd, text, len) != (ssize_t)len)
        return zerr_sys(e, "idmap: write %s", file);
    return 0;
}

int zmount_idmap_userns(const struct zspec_idmap *uids, size_t n_uids,
                        const struct zspec_idmap *gids, size_t n_gids,
                        struct zerr *e)
{
    int to_child[2] = { -1, -1 }, to_parent[2] = { -1, -1 };
    char pidbuf[32];
    ssize_t n;
    pid_t child, host_pid;
    int ret = -1;

    if (n_uids == 0 || n_gids == 0)
        return zerr_set(e, EINVAL, "idmap: uidMappings and gidMappings are required");
    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(to_parent, O_CLOEXEC) < 0) {
        zerr_sys(e, "idmap: pipe");
        goto out;
    }
    child = fork();
    if (child < 0) {
        zerr_sys(e, "idmap: fork");
        goto out;
    }
    if (child == 0) {
        /* Our pid as /proc (possibly an outer pid namespace's) knows it. */
        char self[32] = "";
        char c;
        ssize_t l;
        close(to_child[1]);
        close(to_parent[0]);
        l = readlink("/proc/self", self, sizeof self - 1);
        if (l <= 0 || unshare(CLONE_NEWUSER) < 0)
            _exit(1);
        if (write(to_parent[1], self, (size_t)l) != l)
            _exit(1);
        close(to_parent[1]);
        /* wait until the parent has what it needs */
        while (read(to_child[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(to_parent[1]);
    to_parent[1] = -1;
    close(to_child[0]);
    to_child[0] = -1;

    n = read(to_parent[0], pidbuf, sizeof pidbuf - 1);
    if (n <= 0) {
        zerr_set(e, EPERM, "idmap: could not create a user namespace");
        goto reap;
    }
    pidbuf[n] = '\0';
    host_pid = (pid_t)strtol(pidbuf, NULL, 10);
    if (host_pid <= 0) {
        zerr_set(e, EINVAL, "idmap: bad pid \"%s\"", pidbuf);
        goto reap;
    }
    if (write_map(host_pid, "uid_map", uids, n_uids, e) < 0 ||
        write_map(host_pid, "gid_map", gids, n_gids, e) < 0)
        goto reap;
    {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)host_pid);
        ret = open(path, O_RDONLY | O_CLOEXEC);
        if (ret < 0)
            zerr_sys(e, "idmap: open user namespace");
    }
reap:
    close(to_child[1]);
    to_child[1] = -1;
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
out:
    for (int i = 0; i < 2; i++) {
        if (to_child[i] >= 0)
            close(to_child[i]);
        if (to_parent[i] >= 0)
            close(to_parent[i]);
    }
    return ret;
}
