/* `create`: validate everything first, then build the container in steps
 * with the init, undoing every step on failure. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/path.h"
#include "namespaces/namespaces.h"
#include "runtime/container.h"
#include "runtime/create_internal.h"
#include "runtime/device_rules.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/process_attrs.h"
#include "runtime/rootfs_overlay.h"
#include "runtime/seccomp.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "vm-sandbox/handler/handler.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define CONFIG_MAX (16u << 20)

int zconnect_unix(const char *path, struct zerr *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -1;
    if (strlen(path) >= sizeof sa.sun_path)
        return zerr_set(e, ENAMETOOLONG, "console socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return zerr_sys(e, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return zerr_sys(e, "connect to console socket %s", path);
    return steal_fd(&fd);
}

char *zcreate_state_json(const char *id, const char *bundle, pid_t pid,
                         enum zstate_status status, const struct zspec *s)
{
    struct zstate_doc d = {
        .oci_version = (char *)ZONE_OCI_VERSION,
        .id = (char *)id,
        .status = status,
        .pid = pid,
        .bundle = (char *)bundle,
        .annotations = s ? s->annotations : NULL,
        .n_annotations = s ? s->n_annotations : 0,
    };
    struct zerr e;
    return zstate_emit(&d, false, &e);
}

static bool has_hooks(const struct zspec_hook_list *l) { return l && l->n_hooks > 0; }

int zcreate_write_pid_file(const char *path, pid_t pid, struct zerr *e)
{
    char buf[32], dirbuf[PATH_MAX];
    _cleanup_close_ int dirfd = -1;
    const char *slash, *name;
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);

    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    slash = strrchr(path, '/');
    if (slash) {
        dirbuf[slash - path == 0 ? 1 : slash - path] = '\0';
        name = slash + 1;
    } else {
        strcpy(dirbuf, ".");
        name = path;
    }
    dirfd = open(dirbuf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return zerr_sys(e, "pid file: open %s", dirbuf);
    if (zfile_write_atomic(dirfd, name, buf, (size_t)n, 0644, e) < 0)
        return zerr_prefix(e, "pid file %s", path);
    return 0;
}

void zbuild_free(struct zbuild *b)
{
    if (b->spec)
        spec_free(b->spec);
    if (b->seccomp)
        zseccomp_free(b->seccomp);
    if (b->joins)
        zns_close_joins(b->joins, b->n_joins);
    free(b->config_json);
    free(b->bundle);
    free(b->rootfs);
    memset(b, 0, sizeof *b);
}

/* Everything that can be checked without changing state. */
int zbuild_prepare(const char *bundle_arg, struct zbuild *b, struct zerr *e)
{
    char path[PATH_MAX], rootfs[PATH_MAX];
    const struct zspec *s;

    memset(b, 0, sizeof *b);
    b->bundle = realpath(bundle_arg ? bundle_arg : ".", NULL);
    if (!b->bundle)
        return zerr_sys(e, "bundle %s", bundle_arg ? bundle_arg : ".");
    snprintf(path, sizeof path, "%s/config.json", b->bundle);
    b->config_json = zfile_read(path, CONFIG_MAX, &b->config_len, e);
    if (!b->config_json)
        return -1;
    b->spec = spec_parse(b->config_json, b->config_len, "config.json", e);
    if (!b->spec)
        return -1;
    s = b->spec;
    if (!s->process)
        return zerr_set(e, EINVAL, "config.json: process: required to create a container");
    if (!s->root)
        return zerr_set(e, EINVAL, "config.json: root: required to create a container");
    if (!s->process->args || !s->process->n_args)
        return zerr_set(e, EINVAL, "config.json: process.args: must not be empty");
    if (s->root->path[0] == '/')
        snprintf(path, sizeof path, "%s", s->root->path);
    else
        snprintf(path, sizeof path, "%s/%s", b->bundle, s->root->path);
    if (!realpath(path, rootfs))
        return zerr_sys(e, "config.json: root.path: %s", path);
    b->rootfs = strdup(rootfs);
    if (zoverlay_validate(s, e) < 0)
        return -1;
    if (zns_validate(s, e) < 0 || zproc_validate(s, e) < 0)
        return -1;
    if (s->linux_ && s->linux_->intel_rdt)
        return zerr_set(e, ENOTSUP, "config.json: linux.intelRdt: Intel RDT (resctrl) is not supported by zone");
    b->clone_flags = zns_clone_flags(s);
    if (!(b->clone_flags & CLONE_NEWNS) && !spec_namespace(s, ZNS_MOUNT))
        return zerr_set(e, EINVAL, "config.json: linux.namespaces: a mount namespace is required");
    if (s->linux_ && s->linux_->seccomp) {
        b->seccomp = zseccomp_build(s->linux_->seccomp, e);
        if (!b->seccomp)
            return zerr_prefix(e, "config.json: linux.seccomp");
        if (zseccomp_uses_notify(b->seccomp) && !s->linux_->seccomp->listener_path)
            return zerr_set(e, EINVAL, "config.json: linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
    }
    if (zns_open_joins(s, &b->joins, &b->n_joins, e) < 0)
        return -1;
    return 0;
}

static bool needs_pre_join(const struct zbuild *b)
{
    for (size_t i = 0; i < b->n_joins; i++)
        if (b->joins[i].type == ZNS_USER || b->joins[i].type == ZNS_PID)
            return true;
    return false;
}

/* Clones the init. Joining a user or pid namespace by path has to happen
 * before the clone (they shape what the clone creates), so then an
 * intermediate process joins them and clones the init itself. The
 * namespaces in ia->unshare_flags are left to the init. */
static pid_t spawn_init(struct zbuild *b, struct zinit_args *ia, int parent_sync,
                        int cgroup_fd, bool *into_cgroup, struct zerr *e)
{
    int flags = b->clone_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME | ia->unshare_flags);
    bool pre_join = needs_pre_join(b);
    pid_t pid;

    ia->die_with_parent = !pre_join;
    if (!pre_join) {
        pid = zcg_clone_into(flags, cgroup_fd, into_cgroup);
        if (pid < 0)
            return zerr_sys(e, "clone container init");
        if (pid == 0) {
            close(parent_sync);
            zinit_main(ia);
        }
        return pid;
    }

    pid_t mid = fork();
    if (mid < 0)
        return zerr_sys(e, "fork");
    if (mid == 0) {
        struct zns_join early[2];
        size_t n_early = 0, n_late = 0;
        struct zerr ce = {0};
        close(parent_sync);
        for (size_t i = 0; i < b->n_joins; i++) {
            if (b->joins[i].type == ZNS_USER)
                early[n_early++] = b->joins[i];
        }
        for (size_t i = 0; i < b->n_joins; i++) {
            if (b->joins[i].type == ZNS_PID)
                early[n_early++] = b->joins[i];
            else if (b->joins[i].type != ZNS_USER)
                b->joins[n_late++] = b->joins[i];
        }
        ia->n_joins = n_late;
        if (zns_setns_all(early, n_early, &ce) < 0) {
            zsync_send_error(ia->sync_fd, &ce);
            _exit(1);
        }
        /* the v2 cgroup is written by the parent (it cannot see whether
         * this clone went into it) */
        pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid < 0) {
            zerr_sys(&ce, "clone container init");
            zsync_send_error(ia->sync_fd, &ce);
            _exit(1);
        }
        if (pid == 0)
            zinit_main(ia);
        zsync_send(ia->sync_fd, ZSYNC_PID, pid, NULL, -1, &ce);
        _exit(0);
    }
    {
        struct zsync_msg m;
        int status;
        int rc = zsync_expect(parent_sync, ZSYNC_PID, &m, e);
        waitpid(mid, &status, 0);
        if (rc < 0)
            return -1;
        return (pid_t)m.value;
    }
}

static void kill_and_reap(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    /* reap if it is our child; otherwise the subreaper does */
    waitpid(pid, NULL, __WALL);
}

/* Serves the init's requests until it is ready on the exec FIFO. */
static int serve_init(struct zbuild *b, const char *id, pid_t pid, int sync_fd,
                      struct zerr *e)
{
    const struct zspec *s = b->spec;
    struct zsync_msg m;

    for (;;) {
        if (zsync_recv(sync_fd, &m, e) < 0)
            return -1;
        switch (m.type) {
        case ZSYNC_READY:
            return 0;
        case ZSYNC_ERROR:
            zsync_msg_close_fds(&m);
            return zerr_set(e, m.value, "%s", m.payload);
        case ZSYNC_HOOKS: {
            _cleanup_free_ char *st = zcreate_state_json(id, b->bundle, pid, ZSTATUS_CREATING, s);
            if (!st)
                return zerr_set(e, ENOMEM, "state json");
            if (s->hooks && (zhooks_run(&s->hooks->prestart, "prestart", st, e) < 0 ||
                             zhooks_run(&s->hooks->create_runtime, "createRuntime", st, e) < 0))
                return -1;
            if (zsync_send(sync_fd, ZSYNC_HOOKS_DONE, 0, NULL, -1, e) < 0)
                return -1;
            break;
        }
        case ZSYNC_SECCOMP_FD: {
            _cleanup_free_ char *st = zcreate_state_json(id, b->bundle, pid, ZSTATUS_CREATING, s);
            const struct zspec_seccomp *sc = s->linux_->seccomp;
            int rc = zseccomp_send_to_listener(sc->listener_path, m.fd, pid,
                                               sc->listener_metadata ? sc->listener_metadata : "",
                                               st ? st : "{}", e);
            zsync_msg_close_fds(&m);
            if (rc < 0)
                return -1;
            if (zsync_send(sync_fd, ZSYNC_SECCOMP_DONE, 0, NULL, -1, e) < 0)
                return -1;
            break;
        }
        default:
            zsync_msg_close_fds(&m);
            return zerr_set(e, EPROTO, "sync: unexpected message %u from init", m.type);
        }
    }
}

/* GO, with the v1 `tasks` fds the init joins when it made its own
 * namespaces. Such an init may have failed and gone before GO: then its
 * reason, not the broken pipe, is the error. */
static int send_go(int sync_fd, const struct zcg_entry *ent, struct zerr *e)
{
    struct zsync_msg m;
    struct zerr ignored;

    if (zsync_send_fds(sync_fd, ZSYNC_GO, 0, NULL, ent->tasks_fds, ent->n_tasks, e) == 0)
        return 0;
    if ((e->code != EPIPE && e->code != ECONNRESET) || zsync_recv(sync_fd, &m, &ignored) < 0)
        return -1;
    zsync_msg_close_fds(&m);
    if (m.type == ZSYNC_ERROR)
        return zerr_set(e, m.value, "%s", m.payload);
    return -1;
}

static int listen_fds_from_env(void)
{
    const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    int n;
    if (!fds)
        return 0;
    /* systemd socket activation: only when they are meant for us */
    if (pid && atoi(pid) != getpid())
        return 0;
    n = atoi(fds);
    return n > 0 ? n : 0;
}

/* VM mode: the init, which becomes the monitor, opens /dev/kvm inside the
 * container's device cgroup. */
static int zvm_allow_kvm(struct zspec_resources *r)
{
    struct zspec_device_cgroup *d = realloc(r->devices, (r->n_devices + 1) * sizeof *d);
    if (!d)
        return -1;
    r->devices = d;
    d[r->n_devices++] = (struct zspec_device_cgroup){.allow = true, .type = (char *)"c",
                                                     .has_major = true, .major = 10,
                                                     .has_minor = true, .minor = 232,
                                                     .access = (char *)"rw"};
    return 0;
}

static int apply_resources(const struct zcgroup *cg, const struct zspec *s, bool rootless,
                           bool vm, struct zerr *e)
{
    struct zspec_resources *res = zdevice_rules_build(s);
    int rc = !res || (vm && zvm_allow_kvm(res) < 0) ? zerr_set(e, ENOMEM, "device rules")
             : rootless ? zcg_rootless_apply(cg, s->linux_ ? s->linux_->resources : NULL, res, e)
                        : zcg_apply(cg, res, e);
    zdevice_rules_free(res);
    return rc;
}

/* The namespaces an overlapping init makes itself (all but pid, which must
 * come with the clone). */
#define INIT_UNSHARES (CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)

/* Whether the init can make its own namespaces while the parent makes the
 * container's cgroups (docs/performance.md, round 4): when it needs nothing
 * from the parent first. Not with a user namespace (the init joins its
 * cgroups before it becomes root there; see init.c), an intermediate
 * process (pre-join) or the systemd driver (which moves the pid itself). */
static bool can_overlap(const struct zruntime *rt, const struct zbuild *b, bool rootless)
{
    return !rootless && !rt->systemd_cgroup && !needs_pre_join(b) &&
           !(b->clone_flags & CLONE_NEWUSER) && (b->clone_flags & INIT_UNSHARES);
}

int zcreate_build(const struct zruntime *rt, const struct zcreate_opts *o, int console_in,
                  struct zbuild *b, struct zcreated *out, struct zerr *e)
{
    struct zstate_dir sd = {.dirfd = -1};
    struct zcontainer_record rec = {0};
    struct zcgroup *cg = NULL;
    struct zcg_mount_entry *cg_entries = NULL;
    size_t n_cg_entries = 0;
    int sync[2] = {-1, -1}, fifo_fd = -1, console_fd = -1;
    pid_t pid = -1;
    char created[64];
    struct zinit_args ia = {0};
    const struct zspec *s = b->spec;
    struct zcg_entry cg_entry = {.v2_dir_fd = -1};
    bool rootless, fast_entry = false, into_cgroup = false, overlap, cg_made = false;
    struct zvm_plan *vm_plan = NULL;

    memset(out, 0, sizeof *out);
    out->pid = -1;
    if (zstate_dir_create(rt->root, o->id, &sd, e) < 0)
        return -1;
    if (zfile_write_atomic(sd.dirfd, ZSTATE_CONFIG, b->config_json, b->config_len, 0600, e) < 0)
        goto fail;
    /* 0622 regardless of umask: the init may run as a mapped uid */
    if (mkfifoat(sd.dirfd, ZSTATE_FIFO, 0622) < 0 ||
        fchmodat(sd.dirfd, ZSTATE_FIFO, 0622, 0) < 0) {
        zerr_sys(e, "create exec fifo in %s", sd.path);
        goto fail;
    }
    fifo_fd = openat(sd.dirfd, ZSTATE_FIFO, O_PATH | O_CLOEXEC);
    if (fifo_fd < 0) {
        zerr_sys(e, "open exec fifo");
        goto fail;
    }
    if (rt->vm || zvm_requested(s)) {
        if (b->seccomp && zseccomp_uses_notify(b->seccomp)) {
            /* the agent loads the filter in the guest: no listener fd can cross */
            zerr_set(e, ENOTSUP, "config.json: linux.seccomp: SCMP_ACT_NOTIFY is not supported in VM mode");
            goto fail;
        }
        /* /dev/kvm, the kernel and the agent are checked now, not at start */
        vm_plan = malloc(sizeof *vm_plan);
        if (!vm_plan) {
            zerr_set(e, ENOMEM, "out of memory");
            goto fail;
        }
        if (zvm_prepare(s, sd.path, vm_plan, e) < 0)
            goto fail;
        rec.vm = true;
    }

    rootless = zcg_rootless(rt->rootless);
    /* then the v1 directories and the limits come after the clone, while
     * the init unshares; the v2 directory first, for CLONE_INTO_CGROUP */
    overlap = can_overlap(rt, b, rootless);
    if (rootless) {
        /* NULL cg: no delegated cgroup, and no limits were asked for */
        if (zcg_rootless_setup(s->linux_ ? s->linux_->cgroups_path : NULL, o->id,
                               s->linux_ ? s->linux_->resources : NULL, &cg, e) < 0)
            goto fail;
    } else if (overlap) {
        cg = zcg_resolve(s->linux_ ? s->linux_->cgroups_path : NULL, o->id, false, e);
        if (!cg)
            goto fail;
        /* GO carries one fd per v1 hierarchy: with more, the old order */
        if (zcg_v1_count(cg) > ZSYNC_FDS_MAX)
            overlap = false;
        if (zcg_make(cg, true, e) < 0 || (!overlap && zcg_make(cg, false, e) < 0))
            goto fail;
    } else if (!(cg = zcg_create(s->linux_ ? s->linux_->cgroups_path : NULL, o->id,
                                 rt->systemd_cgroup, e))) {
        goto fail;
    }
    cg_made = !overlap;
    /* Record the cgroup before anything runs in it, so that `delete --force`
     * can clean up after a create that was killed. */
    zstate_now_rfc3339(created, sizeof created);
    rec.id = (char *)o->id;
    rec.bundle = b->bundle;
    rec.rootfs = b->rootfs;
    rec.created = created;
    rec.owner = geteuid();
    rec.cgroup = cg ? zcg_serialize(cg) : NULL;
    rec.ns_flags = b->clone_flags;
    rec.annotations = s->annotations;
    rec.n_annotations = s->n_annotations;
    if (cg && !rec.cgroup) {
        zerr_set(e, ENOMEM, "serialize cgroup");
        goto fail;
    }
    if (zstate_record_write(&sd, &rec, e) < 0)
        goto fail;
    if (cg && !overlap && apply_resources(cg, s, rootless, vm_plan != NULL, e) < 0)
        goto fail;
    if (cg && zcg_mount_entries(cg, &cg_entries, &n_cg_entries, e) < 0)
        goto fail;
    if (overlap) {
        if (zcg_entry_open_v2(cg, &cg_entry, e) < 0)
            goto fail;
        fast_entry = true;
    } else if (!rootless && zcg_entry_usable(cg)) {
        if (zcg_entry_open(cg, &cg_entry, e) < 0)
            goto fail;
        fast_entry = true;
    }

    if (o->console_socket) {
        console_fd = zconnect_unix(o->console_socket, e);
        if (console_fd < 0)
            goto fail;
    } else if (console_in >= 0) {
        console_fd = fcntl(console_in, F_DUPFD_CLOEXEC, 3);
    }
    if (zsync_pair(sync, e) < 0)
        goto fail;

    ia.spec = s;
    ia.id = o->id;
    ia.bundle = b->bundle;
    ia.rootfs = b->rootfs;
    ia.sync_fd = sync[1];
    ia.lock_fd = sd.dirfd;
    ia.fifo_fd = fifo_fd;
    ia.console_fd = console_fd;
    ia.preserve_fds = o->preserve_fds;
    ia.listen_fds = listen_fds_from_env();
    ia.clone_flags = b->clone_flags;
    ia.unshare_flags = overlap ? b->clone_flags & INIT_UNSHARES : 0;
    ia.no_pivot = o->no_pivot;
    ia.no_new_keyring = o->no_new_keyring;
    ia.hooks_roundtrip = s->hooks && (has_hooks(&s->hooks->prestart) ||
                                      has_hooks(&s->hooks->create_runtime) ||
                                      has_hooks(&s->hooks->create_container) ||
                                      has_hooks(&s->hooks->start_container));
    ia.seccomp = b->seccomp;
    ia.cgroup_entries = cg_entries;
    ia.n_cgroup_entries = n_cg_entries;
    ia.joins = b->joins;
    ia.n_joins = b->n_joins;
    /* with overlap, only the v2 directory's fd, which the init closes */
    ia.cg_entry = fast_entry ? &cg_entry : NULL;
    ia.hide_exe = !rootless;
    ia.vm = vm_plan;

    pid = spawn_init(b, &ia, sync[0], cg_entry.v2_dir_fd, &into_cgroup, e);
    close(sync[1]);
    sync[1] = -1;
    zcg_entry_close(&cg_entry);
    if (pid < 0)
        goto fail;
    if ((b->clone_flags & CLONE_NEWUSER) &&
        zns_write_id_maps(pid, s->linux_->uid_mappings, s->linux_->n_uid_mappings,
                          s->linux_->gid_mappings, s->linux_->n_gid_mappings, e) < 0)
        goto fail;
    if (cg && (fast_entry ? !into_cgroup && zcg_enter_v2(cg, pid, e) < 0
                          : zcg_enter(cg, pid, e) < 0))
        goto fail;
    if (overlap) {
        if (zcg_make(cg, false, e) < 0)
            goto fail;
        cg_made = true;
        if (apply_resources(cg, s, false, vm_plan != NULL, e) < 0 ||
            zcg_entry_open_v1(cg, &cg_entry, e) < 0)
            goto fail;
    }
    if (send_go(sync[0], &cg_entry, e) < 0)
        goto fail;
    zcg_entry_close(&cg_entry);
    if (serve_init(b, o->id, pid, sync[0], e) < 0)
        goto fail;

    rec.pid = pid;
    rec.pid_start = zproc_start_time(pid);
    if (zstate_record_write(&sd, &rec, e) < 0)
        goto fail;
    if (o->pid_file && zcreate_write_pid_file(o->pid_file, pid, e) < 0)
        goto fail;

    close(sync[0]);
    close(fifo_fd);
    if (console_fd >= 0)
        close(console_fd);
    zcg_mount_entries_free(cg_entries, n_cg_entries);
    free(rec.cgroup);
    if (vm_plan)
        zvm_plan_release(vm_plan);
    free(vm_plan);
    out->pid = pid;
    out->cg = cg;
    zstate_dir_close(&sd);
    return 0;

fail:
    {
        struct zerr ignored;
        if (sync[0] >= 0)
            close(sync[0]);
        if (sync[1] >= 0)
            close(sync[1]);
        if (fifo_fd >= 0)
            close(fifo_fd);
        if (console_fd >= 0)
            close(console_fd);
        zcg_entry_close(&cg_entry);
        kill_and_reap(pid);
        if (cg) {
            /* half made (overlap): only the levels made here, as zcg_create
             * undoes itself; a reused leaf stays */
            if (cg_made)
                zcg_destroy(cg, true, &ignored);
            else
                zcg_unmake(cg);
            zcg_free(cg);
        }
        zcg_mount_entries_free(cg_entries, n_cg_entries);
        free(rec.cgroup);
        if (vm_plan)
            zvm_plan_release(vm_plan);
        free(vm_plan);
        if (sd.dirfd >= 0 && zstate_dir_remove(&sd, &ignored) < 0)
            zstate_dir_close(&sd);
    }
    return -1;
}

int zcontainer_create(const struct zruntime *rt, const struct zcreate_opts *o,
                      struct zerr *e)
{
    struct zbuild b;
    struct zcreated c;
    int rc;

    if (zstate_check_id(o->id, e) < 0)
        return -1;
    if (zbuild_prepare(o->bundle, &b, e) < 0) {
        zbuild_free(&b);
        return -1;
    }
    rc = zcreate_build(rt, o, -1, &b, &c, e);
    zbuild_free(&b);
    if (rc == 0)
        zcreated_release(&c);
    return rc;
}

void zcreated_release(struct zcreated *c)
{
    if (c->cg)
        zcg_free(c->cg);
    c->cg = NULL;
}
