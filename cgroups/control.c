/* Acting on the processes of a container's cgroup: freeze/thaw, listing,
 * signalling. The v1 freezer is used where it is mounted (hybrid too, so
 * `paused` matches what v1 tools see); otherwise cgroup.freeze of v2. */
#include "cgroups/internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

#define FREEZE_TIMEOUT_MS 10000

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* v1: FREEZING can stall when a task is in an uninterruptible sleep;
 * writing FROZEN again re-kicks the freezer. */
static int freeze_v1(const char *dir, bool frozen, struct zerr *e)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    long deadline = now_ms() + FREEZE_TIMEOUT_MS, wait = 1;
    char state[32];

    for (;;) {
        if (zcg_write(dir, "freezer.state", want, e) < 0)
            return -1;
        if (zcg_read(dir, "freezer.state", state, sizeof state, e) < 0)
            return -1;
        if (strcmp(state, want) == 0)
            return 0;
        if (now_ms() > deadline)
            break;
        sleep_ms(wait);
        if (wait < 50)
            wait *= 2;
    }
    if (frozen) {
        struct zerr ignored;
        zcg_write(dir, "freezer.state", "THAWED", &ignored);
    }
    return zerr_set(e, ETIMEDOUT, "cgroup: %s/freezer.state stays %s, "
                    "wanted %s", dir, state, want);
}

static int v2_frozen(const char *dir, bool *frozen, struct zerr *e)
{
    uint64_t v;
    if (zcg_read_keyed(dir, "cgroup.events", "frozen", &v) < 0)
        return zerr_set(e, ENOENT, "cgroup: read %s/cgroup.events: no "
                        "\"frozen\" key (kernel without the v2 freezer?)", dir);
    *frozen = v != 0;
    return 0;
}

/* cgroup.events raises POLLPRI on change; poll in short steps anyway so a
 * missed wakeup only costs a few milliseconds. */
static int freeze_v2(const char *dir, bool frozen, struct zerr *e)
{
    char path[4096];
    _cleanup_close_ int fd = -1;
    long deadline = now_ms() + FREEZE_TIMEOUT_MS;
    bool now = !frozen;

    if (zcg_write(dir, "cgroup.freeze", frozen ? "1" : "0", e) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/cgroup.events", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    for (;;) {
        if (v2_frozen(dir, &now, e) < 0)
            return -1;
        if (now == frozen)
            return 0;
        if (now_ms() > deadline)
            return zerr_set(e, ETIMEDOUT, "cgroup: %s did not become %s",
                            dir, frozen ? "frozen" : "thawed");
        if (fd >= 0) {
            struct pollfd p = {.fd = fd, .events = POLLPRI};
            char drain[256];
            if (pread(fd, drain, sizeof drain, 0) < 0)
                zdebug("cgroup: read %s: %s", path, strerror(errno));
            poll(&p, 1, 10);
        } else {
            sleep_ms(5);
        }
    }
}

int zcg_freeze(const struct zcgroup *cg, bool frozen, struct zerr *e)
{
    const struct zcg_dir *d = zcg_dir_v1(cg, "freezer");
    if (d)
        return freeze_v1(d->path, frozen, e);
    if ((d = zcg_dir_v2(cg)))
        return freeze_v2(d->path, frozen, e);
    return zerr_set(e, ENOENT, "cgroup: no freezer for %s on this host",
                    cg->rel);
}

int zcg_is_frozen(const struct zcgroup *cg, bool *frozen, struct zerr *e)
{
    const struct zcg_dir *d = zcg_dir_v1(cg, "freezer");
    if (d) {
        char state[32];
        if (zcg_read(d->path, "freezer.state", state, sizeof state, e) < 0)
            return -1;
        /* FREEZING is not paused yet */
        *frozen = strcmp(state, "FROZEN") == 0;
        return 0;
    }
    if ((d = zcg_dir_v2(cg)))
        return v2_frozen(d->path, frozen, e);
    return zerr_set(e, ENOENT, "cgroup: no freezer for %s on this host",
                    cg->rel);
}

/* Where every container process is found: the v2 directory (all
 * processes enter it on hybrid too), else the v1 freezer/pids one. */
static const struct zcg_dir *procs_dir(const struct zcgroup *cg)
{
    const struct zcg_dir *d = zcg_dir_v2(cg);
    if (!d)
        d = zcg_dir_v1(cg, "freezer");
    if (!d)
        d = zcg_dir_v1(cg, "pids");
    if (!d && cg->n)
        d = &cg->d[0];
    return d;
}

int zcg_pids(const struct zcgroup *cg, pid_t **pids, size_t *n,
             struct zerr *e)
{
    const struct zcg_dir *d = procs_dir(cg);
    pid_t *v = NULL;
    size_t cnt = 0, cap = 0;

    *pids = NULL;
    *n = 0;
    if (!d)
        return zerr_set(e, ENOENT, "cgroup: %s has no hierarchy", cg->rel);
    if (zcg_collect_pids(d->path, &v, &cnt, &cap, e) < 0) {
        free(v);
        return -1;
    }
    *pids = v;
    *n = cnt;
    return 0;
}

int zcg_kill_all(const struct zcgroup *cg, int sig, struct zerr *e)
{
    const struct zcg_dir *v2 = zcg_dir_v2(cg);
    _cleanup_free_ pid_t *pids = NULL;
    bool was_frozen = false, froze = false;
    size_t n = 0;
    int rc = 0;

    /* cgroup.kill (5.14+) kills the whole subtree atomically: no fork race. */
    if (sig == SIGKILL && v2 && zcg_file_exists(v2->path, "cgroup.kill"))
        return zcg_write(v2->path, "cgroup.kill", "1", e);

    /* An empty cgroup (the common case when a stopped container is
     * deleted) has nothing that could fork: skip the freeze and thaw. */
    if (zcg_pids(cg, &pids, &n, e) < 0)
        return -1;
    if (n == 0)
        return 0;
    free(pids);
    pids = NULL;
    n = 0;
    /* Freeze first so nothing forks between listing and signalling. */
    if (zcg_is_frozen(cg, &was_frozen, e) == 0) {
        if (!was_frozen) {
            if (zcg_freeze(cg, true, e) == 0)
                froze = true;
            else
                zwarn("%s; signalling without freezing", e->msg);
        }
    } else {
        zdebug("%s; signalling without freezing", e->msg);
    }
    if (zcg_pids(cg, &pids, &n, e) < 0) {
        rc = -1;
        goto thaw;
    }
    for (size_t i = 0; i < n; i++) {
        if (kill(pids[i], sig) < 0 && errno != ESRCH && rc == 0)
            rc = zerr_sys(e, "cgroup: kill %d with signal %d", (int)pids[i],
                          sig);
    }
thaw:
    if (froze) {
        struct zerr terr;
        if (zcg_freeze(cg, false, &terr) < 0) {
            if (rc == 0)
                *e = terr;
            rc = -1;
        }
    }
    return rc;
}
