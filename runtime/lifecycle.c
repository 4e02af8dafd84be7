/* start, state, list, kill, delete, pause, resume, ps, update, stats. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/path.h"
#include "runtime/container.h"
#include "runtime/create_internal.h"
#include "runtime/device_rules.h"
#include "runtime/hooks.h"
#include "runtime/lifecycle_internal.h"
#include "runtime/state.h"

/* An open, locked container: its directory, record and cgroup. */
int zct_open(const struct zruntime *rt, const char *id, struct zct *c, struct zerr *e)
{
    memset(c, 0, sizeof *c);
    if (zstate_dir_open(rt->root, id, &c->dir, e) < 0)
        return -1;
    if (zstate_record_read(c->dir.dirfd, c->dir.path, &c->rec, e) < 0) {
        zstate_dir_close(&c->dir);
        return -1;
    }
    if (c->rec.cgroup) {
        struct zerr ignored;
        c->cg = zcg_open(c->rec.cgroup, &ignored);
    }
    c->status = zstate_status_of(c->dir.dirfd, &c->rec);
    return 0;
}

void zct_close(struct zct *c)
{
    if (c->cg)
        zcg_free(c->cg);
    zstate_record_clear(&c->rec);
    zstate_dir_close(&c->dir);
    c->cg = NULL;
}

struct zspec *zct_config(const struct zct *c, struct zerr *e)
{
    size_t len;
    _cleanup_free_ char *json = NULL;
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/" ZSTATE_CONFIG, c->dir.path) < 0)
        return NULL;
    json = zfile_read(path, 16u << 20, &len, e);
    if (!json)
        return NULL;
    return spec_parse(json, len, path, e);
}

static int signal_init(const struct zct *c, int sig, struct zerr *e)
{
    int pidfd = (int)syscall(SYS_pidfd_open, c->rec.pid, 0);
    if (pidfd >= 0) {
        /* the pidfd pins the process: recheck identity, then signal */
        if (!zstate_pid_alive(c->rec.pid, c->rec.pid_start)) {
            close(pidfd);
            return zerr_set(e, ESRCH, "container not running");
        }
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
            zerr_sys(e, "kill container init (pid %d)", c->rec.pid);
            close(pidfd);
            return -1;
        }
        close(pidfd);
        return 0;
    }
    if (kill(c->rec.pid, sig) < 0)
        return zerr_sys(e, "kill container init (pid %d)", c->rec.pid);
    return 0;
}

/* Opens the exec FIFO, which releases the init, and reads its report until
 * EOF: "0" and EOF once the process is exec'd (the init's write end is
 * close-on-exec), or "E<message>" when it could not be. */
static int release_fifo(struct zct *c, struct zerr *e)
{
    _cleanup_close_ int fd = openat(c->dir.dirfd, ZSTATE_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    char buf[ZERR_MSG_MAX + 2];
    size_t got = 0;

    if (fd < 0)
        return zerr_sys(e, "open exec fifo");
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 100);
        if (n < 0 && errno != EINTR)
            return zerr_sys(e, "poll exec fifo");
        if (n > 0) {
            ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
            if (r > 0) {
                got += (size_t)r;
                if (got < sizeof buf - 1)
                    continue;
                break;
            }
            if (r == 0 && got > 0)
                break; /* the writer closed: exec'd or exited */
            if (r < 0 && errno != EAGAIN && errno != EINTR)
                return zerr_sys(e, "read exec fifo");
        }
        if (!zstate_pid_alive(c->rec.pid, c->rec.pid_start)) {
            /* drain anything written just before it went */
            ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
            if (r > 0)
                got += (size_t)r;
            break;
        }
    }
    unlinkat(c->dir.dirfd, ZSTATE_FIFO, 0);
    buf[got] = '\0';
    if (got == 0)
        return zerr_set(e, ESRCH, "container init exited before start");
    if (buf[0] == 'E')
        return zerr_set(e, EINVAL, "%s", buf + 1);
    return 0;
}

static void run_hooks_warn(const struct zspec *s, int which, const struct zct *c)
{
    const struct zspec_hook_list *l;
    const char *name;
    struct zerr e;
    _cleanup_free_ char *st = NULL;
    if (!s || !s->hooks)
        return;
    l = which == 0 ? &s->hooks->poststart : &s->hooks->poststop;
    name = which == 0 ? "poststart" : "poststop";
    if (!l->n_hooks)
        return;
    st = zcreate_state_json(c->rec.id, c->rec.bundle, which == 0 ? c->rec.pid : 0,
                            which == 0 ? ZSTATUS_RUNNING : ZSTATUS_STOPPED, s);
    if (zhooks_run(l, name, st ? st : "{}", &e) < 0)
        zwarn("%s", e.msg);
}

int zct_start(struct zct *c, struct zerr *e)
{
    struct zerr ignored;
    struct zspec *s;
    switch (c->status) {
    case ZSTATUS_CREATED:
        break;
    case ZSTATUS_STOPPED:
        return zerr_set(e, EINVAL, "cannot start a container that has stopped");
    default:
        return zerr_set(e, EINVAL, "cannot start an already running container");
    }
    if (release_fifo(c, e) < 0)
        return -1;
    c->status = ZSTATUS_RUNNING;
    if (c->spec) {
        run_hooks_warn(c->spec, 0, c);
        return 0;
    }
    s = zct_config(c, &ignored);
    run_hooks_warn(s, 0, c);
    if (s)
        spec_free(s);
    return 0;
}

int zcontainer_start(const struct zruntime *rt, const char *id, struct zerr *e)
{
    struct zct c;
    int rc;
    if (zct_open(rt, id, &c, e) < 0)
        return -1;
    rc = zct_start(&c, e);
    zct_close(&c);
    return rc;
}

/* ------------------------------------------------------------ state/list */

static void info_from_record(struct zcontainer_info *v, struct zcontainer_record *rec,
                             enum zstate_status status)
{
    v->status = status;
    v->pid = status == ZSTATUS_STOPPED ? 0 : rec->pid;
    v->id = steal_ptr(&rec->id);
    v->bundle = steal_ptr(&rec->bundle);
    v->rootfs = steal_ptr(&rec->rootfs);
    v->created = steal_ptr(&rec->created);
    v->owner = rec->owner;
    v->annotations = steal_ptr(&rec->annotations);
    v->n_annotations = rec->n_annotations;
    rec->n_annotations = 0;
}

int zcontainer_state(const struct zruntime *rt, const char *id,
                     struct zcontainer_info *out, struct zerr *e)
{
    struct zct c;
    memset(out, 0, sizeof *out);
    if (zct_open(rt, id, &c, e) < 0)
        return -1;
    info_from_record(out, &c.rec, c.status);
    zct_close(&c);
    return 0;
}

void zcontainer_info_clear(struct zcontainer_info *v)
{
    free(v->id);
    free(v->bundle);
    free(v->rootfs);
    free(v->created);
    for (size_t j = 0; j < v->n_annotations; j++) {
        free(v->annotations[j].key);
        free(v->annotations[j].value);
    }
    free(v->annotations);
    memset(v, 0, sizeof *v);
}

int zcontainer_list(const struct zruntime *rt, struct zcontainer_info **out,
                    size_t *n, struct zerr *e)
{
    _cleanup_closedir_ DIR *d = opendir(rt->root);
    struct zcontainer_info *v = NULL;
    size_t cap = 0, len = 0;
    struct dirent *de;

    *out = NULL;
    *n = 0;
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return zerr_sys(e, "open %s", rt->root);
    }
    while ((de = readdir(d))) {
        struct zcontainer_record rec;
        struct zerr ignored;
        int fd;
        if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        /* No lock: list must not wait behind a slow command. */
        if (zstate_record_read(fd, de->d_name, &rec, &ignored) < 0) {
            close(fd);
            continue;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct zcontainer_info *nv = realloc(v, ncap * sizeof *v);
            if (!nv) {
                close(fd);
                zstate_record_clear(&rec);
                zcontainer_list_free(v, len);
                return zerr_sys(e, "realloc");
            }
            v = nv;
            cap = ncap;
        }
        info_from_record(&v[len], &rec, zstate_status_of(fd, &rec));
        zstate_record_clear(&rec);
        close(fd);
        len++;
    }
    *out = v;
    *n = len;
    return 0;
}

void zcontainer_list_free(struct zcontainer_info *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zcontainer_info_clear(&v[i]);
    free(v);
}

/* ------------------------------------------------------------ kill/delete */

int zcontainer_kill(const struct zruntime *rt, const char *id, int sig, bool all,
                    struct zerr *e)
{
    struct zct c;
    int rc;
    if (zct_open(rt, id, &c, e) < 0)
        return -1;
    if (c.status == ZSTATUS_STOPPED && !all) {
        zct_close(&c);
        return zerr_set(e, ESRCH, "container not running");
    }
    if (all && c.cg) {
        rc = zcg_kill_all(c.cg, sig, e);
    } else {
        rc = signal_init(&c, sig, e);
    }
    zct_close(&c);
    return rc;
}

static void wait_gone(pid_t pid, uint64_t start, int ms)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    for (int waited = 0; waited < ms && zstate_pid_alive(pid, start); waited += 5) {
        waitpid(pid, NULL, WNOHANG | __WALL);
        nanosleep(&ts, NULL);
    }
}

/* Tears down a container whose lock we hold: processes, cgroup, hooks, dir. */
int zct_destroy(struct zct *c, struct zerr *e)
{
    struct zerr ignored;
    struct zspec *s;
    if (zstate_pid_alive(c->rec.pid, c->rec.pid_start)) {
        signal_init(c, SIGKILL, &ignored);
        if (c->cg) {
            /* a frozen cgroup holds SIGKILL back until thawed */
            zcg_kill_all(c->cg, SIGKILL, &ignored);
            zcg_freeze(c->cg, false, &ignored);
        }
        wait_gone(c->rec.pid, c->rec.pid_start, 10000);
    }
    if (c->cg && zcg_destroy(c->cg, true, e) < 0)
        return -1;
    if (c->spec) {
        run_hooks_warn(c->spec, 1, c);
        return zstate_dir_remove(&c->dir, e);
    }
    s = zct_config(c, &ignored);
    run_hooks_warn(s, 1, c);
    if (s)
        spec_free(s);
    return zstate_dir_remove(&c->dir, e);
}

/* A create killed before it wrote its record leaves a directory holding
 * only config.json: derive the cgroup from it and remove both. */
static int delete_partial(const struct zruntime *rt, const char *id, struct zerr *e)
{
    struct zstate_dir sd;
    struct zerr ignored;
    struct zct tmp;
    struct zspec *s;

    if (zstate_dir_open(rt->root, id, &sd, e) < 0)
        return -1;
    memset(&tmp, 0, sizeof tmp);
    tmp.dir = sd;
    s = zct_config(&tmp, &ignored);
    if (s) {
        const char *path = s->linux_ ? s->linux_->cgroups_path : NULL;
        struct zcgroup *cg = NULL;
        char why[256];
        if (!zcg_rootless(rt->rootless))
            cg = zcg_create(path, id, rt->systemd_cgroup, &ignored);
        else if (zcg_create_rootless(path, id, &cg, why, sizeof why, &ignored) < 0)
            cg = NULL;
        if (cg) {
            zcg_destroy(cg, true, &ignored);
            zcg_free(cg);
        }
        spec_free(s);
    }
    if (zstate_dir_remove(&tmp.dir, e) < 0) {
        zstate_dir_close(&tmp.dir);
        return -1;
    }
    return 0;
}

int zcontainer_delete(const struct zruntime *rt, const char *id, bool force,
                      struct zerr *e)
{
    struct zct c;
    int rc;
    if (zct_open(rt, id, &c, e) < 0) {
        struct stat st;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s/" ZSTATE_FILE, rt->root, id);
        if (force && zstate_check_id(id, e) == 0 && stat(path, &st) < 0 && errno == ENOENT) {
            snprintf(path, sizeof path, "%s/%s", rt->root, id);
            if (stat(path, &st) == 0)
                return delete_partial(rt, id, e);
        }
        return -1;
    }
    if ((c.status == ZSTATUS_RUNNING || c.status == ZSTATUS_PAUSED) && !force) {
        zerr_set(e, EBUSY, "cannot delete container %s that is not stopped: %s", id,
                 zstate_status_name(c.status));
        zct_close(&c);
        return -1;
    }
    rc = zct_destroy(&c, e);
    zct_close(&c);
    return rc;
}

/* ------------------------------------------------------------ pause etc. */

static int open_running(const struct zruntime *rt, const char *id, struct zct *c,
                        struct zerr *e)
{
    if (zct_open(rt, id, c, e) < 0)
        return -1;
    if (c->status == ZSTATUS_STOPPED) {
        zct_close(c);
        return zerr_set(e, ESRCH, "container not running");
    }
    if (!c->cg) {
        bool never = !c->rec.cgroup;
        zct_close(c);
        if (never)
            return zerr_set(e, ENOENT, "container %s has no cgroup (rootless without "
                            "delegation, see docs/rootless.md)", id);
        return zerr_set(e, ENOENT, "container %s: its cgroup cannot be opened", id);
    }
    return 0;
}

int zcontainer_pause(const struct zruntime *rt, const char *id, struct zerr *e)
{
    struct zct c;
    int rc;
    if (open_running(rt, id, &c, e) < 0)
        return -1;
    if (c.status != ZSTATUS_RUNNING && c.status != ZSTATUS_PAUSED) {
        zct_close(&c);
        return zerr_set(e, EINVAL, "container not running");
    }
    rc = zcg_freeze(c.cg, true, e);
    zct_close(&c);
    return rc;
}

int zcontainer_resume(const struct zruntime *rt, const char *id, struct zerr *e)
{
    struct zct c;
    int rc;
    if (open_running(rt, id, &c, e) < 0)
        return -1;
    if (c.status != ZSTATUS_PAUSED) {
        zct_close(&c);
        return zerr_set(e, EINVAL, "container not paused");
    }
    rc = zcg_freeze(c.cg, false, e);
    zct_close(&c);
    return rc;
}

int zcontainer_pids(const struct zruntime *rt, const char *id, pid_t **pids,
                    size_t *n, struct zerr *e)
{
    struct zct c;
    int rc;
    *pids = NULL;
    *n = 0;
    if (zct_open(rt, id, &c, e) < 0)
        return -1;
    rc = c.cg ? zcg_pids(c.cg, pids, n, e) : 0;
    zct_close(&c);
    return rc;
}

int zcontainer_update(const struct zruntime *rt, const char *id,
                      const struct zspec_resources *r, struct zerr *e)
{
    struct zct c;
    int rc;
    if (open_running(rt, id, &c, e) < 0)
        return -1;
    if (r->n_devices) {
        /* On cgroup v2 a device program replaces the previous one: give it
         * the container's own rules followed by the update's. */
        struct zspec *s = zct_config(&c, e);
        struct zspec_resources *base = s ? zdevice_rules_build(s) : NULL;
        struct zspec_resources merged = *r;
        struct zspec_device_cgroup *all = base ? calloc(base->n_devices + r->n_devices, sizeof *all)
                                               : NULL;
        rc = -1;
        if (all) {
            memcpy(all, base->devices, base->n_devices * sizeof *all);
            memcpy(all + base->n_devices, r->devices, r->n_devices * sizeof *all);
            merged.devices = all;
            merged.n_devices = base->n_devices + r->n_devices;
            rc = zcg_apply(c.cg, &merged, e);
        } else if (s) {
            zerr_set(e, ENOMEM, "device rules");
        }
        free(all);
        zdevice_rules_free(base);
        if (s)
            spec_free(s);
    } else {
        rc = zcg_apply(c.cg, r, e);
    }
    zct_close(&c);
    return rc;
}

int zcontainer_stats(const struct zruntime *rt, const char *id,
                     struct zcg_stats *st, struct zerr *e)
{
    struct zct c;
    int rc;
    if (open_running(rt, id, &c, e) < 0)
        return -1;
    rc = zcg_stats(c.cg, st, e);
    zct_close(&c);
    return rc;
}

struct zspec *zcontainer_load_config(const struct zruntime *rt, const char *id,
                                     struct zerr *e)
{
    struct zct c;
    struct zspec *s;
    if (zct_open(rt, id, &c, e) < 0)
        return NULL;
    s = zct_config(&c, e);
    zct_close(&c);
    return s;
}
