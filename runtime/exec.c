/* `exec`: a new process inside a running container. The runtime forks a
 * joiner that enters the container's cgroup and namespaces; joining a pid
 * namespace only affects children, so the joiner forks the process itself,
 * which finishes its setup inside the container and execs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "namespaces/namespaces.h"
#include "runtime/container.h"
#include "runtime/create_internal.h"
#include "runtime/init.h"
#include "runtime/lifecycle_internal.h"
#include "runtime/lsm.h"
#include "runtime/process_attrs.h"
#include "runtime/seccomp.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "runtime/waiter.h"
#include "vm-sandbox/handler/handler.h"


struct exec_child {
    const struct zspec_process *p;
    const struct zspec_linux *lx;
    struct zseccomp *seccomp;
    int sync_fd;
    int console_fd;
    int preserve_fds;
    pid_t target;
    int target_pidfd;
    struct zcg_entry *cg_entry;  /* v1 cgroups the joiner joins itself, or NULL */
    bool hide_exe;               /* make the joiner non-dumpable (see below) */
};

/* Runs inside the container (all namespaces joined); never returns. */
__attribute__((noreturn)) static void exec_process(const struct exec_child *c)
{
    struct zerr e = {0};
    char exe[PATH_MAX];
    char **env;
    const struct zspec_process *p = c->p;

    if (p->terminal) {
        int master = -1, slave = -1;
        _cleanup_free_ char *slave_path = NULL;
        if (zterm_open_pty("/dev/ptmx", &master, &slave, &slave_path, &e) < 0)
            goto fail;
        if (p->has_console_size)
            zterm_set_size(master, p->console_height, p->console_width, &e);
        if (zterm_send_master_fd(c->console_fd, master, &e) < 0)
            goto fail;
        close(master);
        close(c->console_fd);
        if (zterm_make_controlling(slave, &e) < 0)
            goto fail;
        if (slave > 2)
            close(slave);
    }
    if (chdir(p->cwd) < 0) {
        zerr_sys(&e, "chdir to cwd (\"%s\") set in process failed", p->cwd);
        goto fail;
    }
    if (zinit_find_executable(p, exe, &e) < 0)
        goto fail;
    env = zinit_build_env(p, 0);
    if (!env) {
        zerr_sys(&e, "build environment");
        goto fail;
    }
    if (p->exec_cpu_affinity && p->exec_cpu_affinity->final &&
        zproc_set_cpu_affinity(p->exec_cpu_affinity->final, &e) < 0)
        goto fail;
    if (zinit_finalize_process(p, c->lx, c->seccomp, zinit_setgroups_denied(), c->sync_fd, &e) < 0)
        goto fail;
    if (zlsm_set_exec_labels(p, &e) < 0)
        goto fail;
    if (zinit_fd_hygiene(c->preserve_fds, &e) < 0)
        goto fail;
    zinit_reset_signals();
    /* success closes the CLOEXEC sync socket: the runtime reads EOF */
    execve(exe, p->args, env);
    zerr_sys(&e, "exec: \"%s\"", p->args[0]);
fail:
    zsync_send_error(c->sync_fd, &e);
    _exit(e.code == ENOENT ? 127 : e.code == EACCES ? 126 : 1);
}

/* The joiner: enters the container, forks the process, reports its pid. */
__attribute__((noreturn)) static void exec_joiner(const struct exec_child *c)
{
    struct zerr e = {0};
    struct zsync_msg m;
    pid_t pid;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* before it forks, so that the process inherits both (cgroups/entry.c);
     * this also closes the v2 directory's fd */
    if (c->cg_entry && zcg_entry_join_self(c->cg_entry, &e) < 0)
        goto fail;
    /* The process is visible in the container's pid namespace until it
     * execs. Not dumpable, its /proc/PID/exe and memory need CAP_SYS_PTRACE
     * in our user namespace. The binary behind /proc/PID/exe is the sealed
     * view in any case (cli/main.c, zcli_seal_self). execve resets it. */
    if (c->hide_exe)
        prctl(PR_SET_DUMPABLE, 0);
    if (c->p->exec_cpu_affinity && c->p->exec_cpu_affinity->initial &&
        zproc_set_cpu_affinity(c->p->exec_cpu_affinity->initial, &e) < 0)
        goto fail;
    if (zsync_expect(c->sync_fd, ZSYNC_GO, &m, &e) < 0)
        goto fail;
    if (zns_enter_pid(c->target, c->target_pidfd, &e) < 0)
        goto fail;
    pid = fork();
    if (pid < 0) {
        zerr_sys(&e, "fork");
        goto fail;
    }
    if (pid == 0)
        exec_process(c);
    zsync_send(c->sync_fd, ZSYNC_PID, pid, NULL, -1, &e);
    _exit(0);
fail:
    zsync_send_error(c->sync_fd, &e);
    _exit(1);
}

static int write_vm_pid_file(pid_t stand_in, void *arg, struct zerr *e)
{
    const char *pid_file = arg;
    return pid_file ? zcreate_write_pid_file(pid_file, stand_in, e) : 0;
}

/* exec into a VM container: a session of the guest agent, with a host
 * process standing in for it (see zvm_exec) whose pid --pid-file gets. */
static int exec_in_vm(const char *state_dir, const struct zexec_opts *o, struct zseccomp *seccomp,
                      int *exit_status, struct zerr *e)
{
    struct zvm_resolved caps;
    struct zvm_exec_request r = { .state_dir = state_dir, .process = o->process, .caps = &caps,
                                  .stdio = { 0, 1, 2 }, .detach = o->detach,
                                  .on_started = write_vm_pid_file, .arg = (void *)o->pid_file };
    int master = -1, slave = -1, rc;

    if (zproc_vm_caps(o->process->capabilities, &caps, e) < 0 || zseccomp_vm_program(seccomp, &caps, e) < 0)
        return -1;
    if (o->console_socket) {
        /* the engine gets the master of a host pty; the session's stdio
         * is its slave, which the monitor relays to the guest's pty */
        if (!o->process->terminal)
            return zerr_set(e, EINVAL, "exec: --console-socket needs process.terminal (-t)");
        if (zterm_open_pty("/dev/ptmx", &master, &slave, NULL, e) < 0)
            return -1;
        if (o->process->has_console_size)
            zterm_set_size(master, o->process->console_height, o->process->console_width, e);
        rc = zterm_send_master(o->console_socket, master, e);
        close(master);
        if (rc < 0) {
            close(slave);
            return -1;
        }
        r.stdio[0] = r.stdio[1] = r.stdio[2] = slave;
    }
    rc = zvm_exec(&r, exit_status, e);
    if (slave >= 0)
        close(slave);
    return rc;
}

int zcontainer_exec(const struct zruntime *rt, const struct zexec_opts *o,
                    int *exit_status, struct zerr *e)
{
    struct zct ct;
    struct zspec *spec = NULL;
    struct zseccomp *seccomp = NULL;
    struct exec_child child = {0};
    int sync[2] = {-1, -1}, console_fd = -1, pair[2] = {-1, -1}, master = -1;
    int rc = -1, status;
    pid_t joiner = -1, pid = -1;
    bool relay = o->process->terminal && !o->console_socket;
    bool rootless = zcg_rootless(rt->rootless), fast_entry = false, into_cgroup = false;
    struct zcg_entry cg_entry = {.v2_dir_fd = -1};
    sigset_t old;

    *exit_status = 0;
    child.target_pidfd = -1;
    if (relay && o->detach)
        return zerr_set(e, EINVAL, "cannot allocate tty if zone will detach without setting console socket");
    if (zct_open(rt, o->id, &ct, e) < 0)
        return -1;
    if (ct.status == ZSTATUS_STOPPED || ct.status == ZSTATUS_CREATING) {
        zerr_set(e, EINVAL, "cannot exec in a stopped container");
        goto out;
    }
    if (ct.status == ZSTATUS_PAUSED) {
        zerr_set(e, EINVAL, "cannot exec in a paused container");
        goto out;
    }
    spec = zct_config(&ct, e);
    if (!spec)
        goto out;
    if (spec->linux_ && spec->linux_->seccomp) {
        seccomp = zseccomp_build(spec->linux_->seccomp, e);
        if (!seccomp)
            goto out;
    }
    if (ct.rec.vm) {
        /* the process runs in the guest: the monitor asks its agent */
        _cleanup_free_ char *dir = strdup(ct.dir.path);
        if (!dir) {
            zerr_set(e, ENOMEM, "out of memory");
            goto out;
        }
        /* don't hold the container's lock while the process runs */
        zct_close(&ct);
        rc = exec_in_vm(dir, o, seccomp, exit_status, e);
        goto out_unlocked;
    }
    if (o->console_socket) {
        console_fd = zconnect_unix(o->console_socket, e);
        if (console_fd < 0)
            goto out;
    } else if (relay) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
            zerr_sys(e, "socketpair");
            goto out;
        }
        console_fd = pair[1];
        pair[1] = -1;
    }
    if (zsync_pair(sync, e) < 0)
        goto out;
    if (!o->detach)
        zwait_block_signals(&old);
    /* the process is our grandchild: adopt it when the joiner exits */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    child.p = o->process;
    child.lx = spec->linux_;
    child.seccomp = seccomp;
    child.sync_fd = sync[1];
    child.console_fd = console_fd;
    child.preserve_fds = o->preserve_fds;
    child.target = ct.rec.pid;
    child.target_pidfd = (int)syscall(SYS_pidfd_open, ct.rec.pid, 0);
    if (child.target_pidfd >= 0 && !zstate_pid_alive(ct.rec.pid, ct.rec.pid_start)) {
        zerr_set(e, ESRCH, "container not running");
        goto out;
    }
    fast_entry = !rootless && zcg_entry_usable(ct.cg);
    if (fast_entry) {
        if (zcg_entry_open(ct.cg, &cg_entry, e) < 0)
            goto out;
        child.cg_entry = &cg_entry;
    }
    child.hide_exe = !rootless;
    joiner = zcg_clone_into(0, cg_entry.v2_dir_fd, &into_cgroup);
    if (joiner < 0) {
        zerr_sys(e, "fork");
        goto out;
    }
    if (joiner == 0) {
        close(sync[0]);
        close(ct.dir.dirfd); /* the container's lock stays with the runtime */
        exec_joiner(&child);
    }
    close(sync[1]);
    sync[1] = -1;
    if (console_fd >= 0) {
        close(console_fd);
        console_fd = -1;
    }
    zcg_entry_close(&cg_entry);
    if (ct.cg && (fast_entry ? !into_cgroup && zcg_enter_v2(ct.cg, joiner, e) < 0
                             : zcg_enter(ct.cg, joiner, e) < 0))
        goto fail;
    {
        struct zsync_msg m;
        if (zsync_send(sync[0], ZSYNC_GO, 0, NULL, -1, e) < 0 ||
            zsync_expect(sync[0], ZSYNC_PID, &m, e) < 0)
            goto fail;
        pid = (pid_t)m.value;
        waitpid(joiner, &status, 0);
        joiner = -1;
        /* serve seccomp notify fds until the process execs (EOF) or fails */
        for (;;) {
            struct zerr re;
            if (zsync_recv(sync[0], &m, &re) < 0)
                break; /* EOF: exec succeeded */
            if (m.type == ZSYNC_ERROR) {
                zerr_set(e, m.value, "%s", m.payload);
                waitpid(pid, NULL, 0);
                pid = -1;
                goto fail;
            }
            if (m.type == ZSYNC_SECCOMP_FD) {
                const struct zspec_seccomp *sc = spec->linux_->seccomp;
                _cleanup_free_ char *st = zcreate_state_json(o->id, ct.rec.bundle, ct.rec.pid,
                                                             ZSTATUS_RUNNING, spec);
                int r = zseccomp_send_to_listener(sc->listener_path, m.fd, pid,
                                                  sc->listener_metadata ? sc->listener_metadata : "",
                                                  st ? st : "{}", e);
                zsync_msg_close_fds(&m);
                if (r < 0 || zsync_send(sync[0], ZSYNC_SECCOMP_DONE, 0, NULL, -1, e) < 0)
                    goto fail;
            }
        }
    }
    if (relay && (master = zrecv_fd(pair[0], e)) < 0)
        goto fail;
    if (o->pid_file && zcreate_write_pid_file(o->pid_file, pid, e) < 0)
        goto fail;
    /* don't hold the container's lock while the process runs */
    zct_close(&ct);
    if (o->detach) {
        rc = 0;
        goto out_unlocked;
    }
    rc = zwait_process(pid, master, exit_status, e);
    goto out_unlocked;

fail:
    if (joiner > 0) {
        kill(joiner, SIGKILL);
        waitpid(joiner, NULL, 0);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
out:
    zct_close(&ct);
out_unlocked:
    zcg_entry_close(&cg_entry);
    if (child.target_pidfd >= 0)
        close(child.target_pidfd);
    if (sync[0] >= 0)
        close(sync[0]);
    if (sync[1] >= 0)
        close(sync[1]);
    if (console_fd >= 0)
        close(console_fd);
    if (pair[0] >= 0)
        close(pair[0]);
    if (pair[1] >= 0)
        close(pair[1]);
    if (master >= 0)
        close(master);
    if (seccomp)
        zseccomp_free(seccomp);
    if (spec)
        spec_free(spec);
    return rc;
}
