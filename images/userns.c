/* Store work in the user's user namespace (see userns.h). */
#include "images/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "namespaces/namespaces.h"

bool zuserns_wanted(void)
{
    return geteuid() != 0;
}

long long zuserns_host_id(const struct zid_range *r, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (id >= r[i].container && id - r[i].container < r[i].size)
            return (long long)r[i].host + (id - r[i].container);
    return -1;
}

static int to_ranges(const struct zspec_idmap *m, size_t n, struct zid_range **out,
                     struct zerr *e)
{
    struct zid_range *r = calloc(n ? n : 1, sizeof *r);
    if (!r)
        return zerr_set(e, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        r[i] = (struct zid_range){ m[i].container_id, m[i].host_id, m[i].size };
    *out = r;
    return 0;
}

int zuserns_map_get(struct zuserns_map *m, struct zerr *e)
{
    struct zspec_idmap *uids = NULL, *gids = NULL;
    size_t nu = 0, ng = 0;
    int ret = -1;

    memset(m, 0, sizeof *m);
    if (zns_rootless_mappings(getuid(), getgid(), &uids, &nu, &gids, &ng, e) < 0)
        return -1;
    if (to_ranges(uids, nu, &m->uids, e) < 0 || to_ranges(gids, ng, &m->gids, e) < 0) {
        zuserns_map_free(m);
        goto out;
    }
    m->n_uids = nu;
    m->n_gids = ng;
    m->one_id = (nu <= 1 && (!nu || uids[0].size <= 1)) || (ng <= 1 && (!ng || gids[0].size <= 1));
    ret = 0;
out:
    free(uids);
    free(gids);
    return ret;
}

void zuserns_map_free(struct zuserns_map *m)
{
    free(m->uids);
    free(m->gids);
    memset(m, 0, sizeof *m);
}

static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -1 : (ssize_t)got;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static void write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        done += (size_t)w;
    }
}

/* The child: unshare, tell the parent, wait for the maps, run fn, report. */
static void child_main(int go_fd, int result_fd, int (*fn)(void *, struct zerr *), void *arg)
{
    struct { int rc; struct zerr e; } res = { -1, { 0, "" } };
    char c;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWUSER) < 0) {
        zerr_sys(&res.e, "unshare(CLONE_NEWUSER) for the image store (are unprivileged user "
                 "namespaces enabled?)");
        c = 'x';
        write_full(result_fd, &c, 1);
        write_full(result_fd, &res, sizeof res);
        _exit(1);
    }
    c = 'u';
    write_full(result_fd, &c, 1);
    if (read_full(go_fd, &c, 1) != 1 || c != 'g')
        _exit(1);     /* the parent could not write the maps; it reports */
    res.rc = fn(arg, &res.e);
    write_full(result_fd, &res, sizeof res);
    _exit(res.rc == 0 ? 0 : 1);
}

int zuserns_run(int (*fn)(void *arg, struct zerr *e), void *arg, struct zerr *e)
{
    struct zspec_idmap *uids = NULL, *gids = NULL;
    size_t nu = 0, ng = 0;
    int go[2] = { -1, -1 }, result[2] = { -1, -1 }, status, ret = -1;
    struct { int rc; struct zerr e; } res;
    pid_t pid = -1;
    char c;

    if (zns_rootless_mappings(getuid(), getgid(), &uids, &nu, &gids, &ng, e) < 0)
        return zerr_prefix(e, "user namespace for the image store");
    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0) {
        zerr_sys(e, "pipe");
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        zerr_sys(e, "fork");
        goto out;
    }
    if (pid == 0) {
        close(go[1]);
        close(result[0]);
        child_main(go[0], result[1], fn, arg);
    }
    close(go[0]);
    close(result[1]);
    go[0] = result[1] = -1;
    if (read_full(result[0], &c, 1) != 1) {
        zerr_set(e, ECHILD, "user namespace for the image store: the child died");
        goto reap;
    }
    if (c != 'u') {
        /* 'x': the unshare error follows */
        if (c == 'x' && read_full(result[0], &res, sizeof res) == (ssize_t)sizeof res)
            *e = res.e;
        else
            zerr_set(e, ECHILD, "user namespace for the image store: the child died");
        e->msg[sizeof e->msg - 1] = '\0';
        goto reap;
    }
    if (zns_write_id_maps(pid, uids, nu, gids, ng, e) < 0) {
        zerr_prefix(e, "user namespace for the image store");
        goto reap;
    }
    c = 'g';
    write_full(go[1], &c, 1);
    if (read_full(result[0], &res, sizeof res) != (ssize_t)sizeof res) {
        zerr_set(e, ECHILD, "user namespace for the image store: the child died before it "
                 "finished");
        goto reap;
    }
    res.e.msg[sizeof res.e.msg - 1] = '\0';
    if (res.rc < 0)
        *e = res.e;
    ret = res.rc < 0 ? -1 : res.rc;
reap:
    if (go[1] >= 0) {
        close(go[1]);
        go[1] = -1;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
out:
    for (int i = 0; i < 2; i++) {
        if (go[i] >= 0)
            close(go[i]);
        if (result[i] >= 0)
            close(result[i]);
    }
    free(uids);
    free(gids);
    return ret;
}
