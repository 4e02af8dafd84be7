#include "runtime/init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/path.h"
#include "core/userns.h"
#include "namespaces/loopback.h"
#include "namespaces/namespaces.h"
#include "runtime/create_internal.h"
#include "runtime/devices.h"
#include "runtime/hooks.h"
#include "runtime/lsm.h"
#include "runtime/process_attrs.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "vm-sandbox/handler/handler.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

/* The kernel's struct sigaction for rt_sigaction(2). */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

void zinit_reset_signals(void)
{
    struct kernel_sigaction dfl = {.handler = SIG_DFL};
    sigset_t all;
    /* The raw syscall: glibc's sigaction() refuses the signals it reserves
     * for itself (32, 33), yet a caller may have left them ignored. */
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    }
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

int zinit_fd_hygiene(int keep, struct zerr *e)
{
    unsigned first_closed = 3u + (unsigned)keep;
    if (syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        /* kernels < 5.11: walk /proc/self/fd */
        _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        if (!d)
            return zerr_sys(e, "list /proc/self/fd");
        while ((de = readdir(d))) {
            int fd = atoi(de->d_name);
            if (fd >= (int)first_closed && fd != dirfd(d))
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    for (int fd = 3; fd < (int)first_closed; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
            return zerr_sys(e, "preserve fd %d", fd);
    }
    return 0;
}

static const char *env_get(char *const *env, const char *name)
{
    size_t len = strlen(name);
    for (; env && *env; env++)
        if (!strncmp(*env, name, len) && (*env)[len] == '=')
            return *env + len + 1;
    return NULL;
}

int zinit_find_executable(const struct zspec_process *p, char *path, struct zerr *e)
{
    const char *name = p->args && p->args[0] ? p->args[0] : NULL;
    const char *search;
    struct stat st;

    if (!name || !*name)
        return zerr_set(e, EINVAL, "process.args must not be empty");
    if (strchr(name, '/')) {
        if (stat(name, &st) < 0)
            return zerr_sys(e, "exec: \"%s\": stat %s", name, name);
        if (S_ISDIR(st.st_mode))
            return zerr_set(e, EACCES, "exec: \"%s\": is a directory: permission denied", name);
        /* fail before start, as runc does, rather than from execve later */
        if (faccessat(AT_FDCWD, name, X_OK, AT_EACCESS) < 0)
            return zerr_sys(e, "exec: \"%s\"", name);
        snprintf(path, PATH_MAX, "%s", name);
        return 0;
    }
    search = env_get(p->env, "PATH");
    if (!search)
        search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*search) {
        const char *end = strchrnul(search, ':');
        size_t dlen = (size_t)(end - search);
        if (dlen == 0)
            snprintf(path, PATH_MAX, "./%s", name);
        else
            snprintf(path, PATH_MAX, "%.*s/%s", (int)dlen, search, name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
            return 0;
        search = *end ? end + 1 : end;
    }
    return zerr_set(e, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

/* HOME for uid from the container's /etc/passwd, or "/" as runc does. */
static char *home_of(uid_t uid)
{
    _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char *fields[7] = {0};
        int n = 0;
        /* name:pw:uid:gid:gecos:home:shell — fields may be empty: split by hand */
        for (char *s = line, *c; n < 7; n++) {
            fields[n] = s;
            c = strchr(s, ':');
            if (!c)
                break;
            *c = '\0';
            s = c + 1;
        }
        if (n >= 5 && fields[2] && (uid_t)strtoul(fields[2], NULL, 10) == uid && fields[5]) {
            fields[5][strcspn(fields[5], "\n")] = '\0';
            return strdup(fields[5]);
        }
    }
    return strdup("/");
}

char **zinit_build_env(const struct zspec_process *p, int listen_fds)
{
    size_t n = p->n_env, o = 0;
    char **env = calloc(n + 4, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (listen_fds > 0 && (!strncmp(p->env[i], "LISTEN_FDS=", 11) ||
                               !strncmp(p->env[i], "LISTEN_PID=", 11)))
            continue;
        env[o++] = strdup(p->env[i]);
    }
    if (!env_get(p->env, "HOME")) {
        _cleanup_free_ char *home = home_of(p->user.uid);
        if (asprintf(&env[o], "HOME=%s", home ? home : "/") >= 0)
            o++;
    }
    if (listen_fds > 0) {
        if (asprintf(&env[o], "LISTEN_FDS=%d", listen_fds) >= 0)
            o++;
        env[o++] = strdup("LISTEN_PID=1");
    }
    env[o] = NULL;
    return env;
}

int zinit_finalize_process(const struct zspec_process *p, const struct zspec_linux *lx,
                           struct zseccomp *seccomp, bool setgroups_denied,
                           int notify_sync_fd, struct zerr *e)
{
    int notify_fd = -1;

    if (zproc_apply_limits(p, lx, e) < 0)
        return -1;
    /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
     * while still privileged. With it, load as late as possible. */
    if (seccomp && !p->no_new_privileges && zseccomp_load(seccomp, &notify_fd, e) < 0)
        return -1;
    if (zproc_apply_identity(p, setgroups_denied, e) < 0)
        return -1;
    if (zproc_apply_no_new_privs(p, e) < 0)
        return -1;
    if (seccomp && p->no_new_privileges && zseccomp_load(seccomp, &notify_fd, e) < 0)
        return -1;
    if (notify_fd >= 0) {
        struct zsync_msg m;
        if (notify_sync_fd < 0) {
            close(notify_fd);
            return zerr_set(e, EINVAL, "seccomp notify: no listener channel");
        }
        if (zsync_send(notify_sync_fd, ZSYNC_SECCOMP_FD, 0, NULL, notify_fd, e) < 0 ||
            zsync_expect(notify_sync_fd, ZSYNC_SECCOMP_DONE, &m, e) < 0) {
            close(notify_fd);
            return -1;
        }
        close(notify_fd);
    }
    return 0;
}

/* ------------------------------------------------------------ init */

bool zinit_setgroups_denied(void)
{
    char buf[16] = {0};
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 && !strncmp(buf, "deny", 4);
}

/* Written through the container's /proc before readonlyPaths (which usually
 * include /proc/sys) are applied; resolved inside the rootfs. */
static int apply_sysctl(int root_fd, const struct zspec_linux *lx, struct zerr *e)
{
    for (size_t i = 0; lx && i < lx->n_sysctl; i++) {
        char path[PATH_MAX];
        const char *key = lx->sysctl[i].key, *val = lx->sysctl[i].value;
        _cleanup_close_ int fd = -1;
        size_t len;
        if (strstr(key, "..") || key[0] == '/' || key[0] == '.')
            return zerr_set(e, EINVAL, "linux.sysctl: invalid key \"%s\"", key);
        len = (size_t)snprintf(path, sizeof path, "/proc/sys/%s", key);
        for (size_t j = sizeof "/proc/sys/" - 1; j < len; j++)
            if (path[j] == '.')
                path[j] = '/';
        fd = zpath_open_in_root(root_fd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0, e);
        if (fd < 0)
            return zerr_prefix(e, "linux.sysctl: %s", key);
        if (write(fd, val, strlen(val)) < 0)
            return zerr_sys(e, "linux.sysctl: %s: write \"%s\"", key, val);
    }
    return 0;
}

static int set_names(const struct zspec *s, int clone_flags, struct zerr *e)
{
    bool own_uts = (clone_flags & CLONE_NEWUTS) != 0;
    if (s->hostname && *s->hostname) {
        if (!own_uts && !spec_namespace(s, ZNS_UTS))
            return zerr_set(e, EINVAL, "hostname: unable to set hostname without a private UTS namespace");
        if (sethostname(s->hostname, strlen(s->hostname)) < 0)
            return zerr_sys(e, "hostname: sethostname \"%s\"", s->hostname);
    }
    if (s->domainname && *s->domainname) {
        if (!own_uts && !spec_namespace(s, ZNS_UTS))
            return zerr_set(e, EINVAL, "domainname: unable to set domainname without a private UTS namespace");
        if (setdomainname(s->domainname, strlen(s->domainname)) < 0)
            return zerr_sys(e, "domainname: setdomainname \"%s\"", s->domainname);
    }
    return 0;
}

/* /dev/console is the pty slave, opened from the container's own devpts. */
static int bind_console(const char *rootfs, int slave, struct zerr *e)
{
    _cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return zerr_sys(e, "open rootfs %s", rootfs);
    return zdev_setup_console(root_fd, slave, e);
}

/* VM mode: the monitor, opened before pivot_root (see vm-sandbox/handler). */
static struct zvm *init_vm;

/* Steps that run before the exec FIFO wait. */
static int init_setup(const struct zinit_args *a, char *exe, char ***envp, struct zerr *e)
{
    const struct zspec *s = a->spec;
    const struct zspec_process *p = s->process;
    struct zrootfs_ctx rctx = {0};
    struct zsync_msg m;
    bool setgroups_denied;

    /* first, before anything forks: see cgroups/entry.c */
    if (a->cg_entry) {
        if (zcg_entry_join_self(a->cg_entry, e) < 0)
            return -1;
        zcg_entry_close(a->cg_entry);
    }
    if (a->unshare_flags) {
        /* while the parent makes the cgroups: a network namespace is most
         * of what a clone with namespaces costs */
        if (unshare(a->unshare_flags) < 0)
            return zerr_sys(e, "unshare namespaces");
        if ((a->unshare_flags & CLONE_NEWNET) && zns_loopback_up(e) < 0)
            return -1;
    }
    if (zsync_expect(a->sync_fd, ZSYNC_GO, &m, e) < 0)
        return -1;
    if (m.n_fds) {
        /* the v1 cgroups, made while we unshared; still before any fork */
        struct zcg_entry go_entry = {.tasks_fds = m.fds, .n_tasks = m.n_fds, .v2_dir_fd = -1};
        if (zcg_entry_join_self(&go_entry, e) < 0)
            return -1;
    }
    if (a->clone_flags & CLONE_NEWUSER) {
        /* become root of the new user namespace now that ids are mapped */
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            return zerr_sys(e, "become root in the user namespace (are uid/gid 0 mapped?)");
    }
    if (a->n_joins && zns_setns_all(a->joins, a->n_joins, e) < 0)
        return -1;
    /* before `exec` can put anything next to us; after the id changes
     * above, which reset it */
    if (a->hide_exe)
        prctl(PR_SET_DUMPABLE, 0);
    /* a network namespace of our own starts with lo down */
    if ((a->clone_flags & CLONE_NEWNET) && !(a->unshare_flags & CLONE_NEWNET) &&
        zns_loopback_up(e) < 0)
        return -1;
    if (a->clone_flags & CLONE_NEWCGROUP) {
        if (unshare(CLONE_NEWCGROUP) < 0)
            return zerr_sys(e, "unshare cgroup namespace");
    }
    if (a->clone_flags & CLONE_NEWTIME) {
        if (unshare(CLONE_NEWTIME) < 0)
            return zerr_sys(e, "unshare time namespace");
        if (zns_write_time_offsets(0, s->linux_, e) < 0)
            return -1;
    }

    rctx.spec = s;
    rctx.bundle = a->bundle;
    rctx.rootfs = a->rootfs;
    rctx.no_pivot = a->no_pivot;
    /* also in an engine's user namespace (rootless podman): no mknod */
    rctx.in_userns = (a->clone_flags & CLONE_NEWUSER) || spec_namespace(s, ZNS_USER) ||
                     !zuserns_is_initial();
    rctx.host_pidns = !(a->clone_flags & CLONE_NEWPID) && !spec_namespace(s, ZNS_PID);
    rctx.console_slave_fd = -1;
    rctx.cgroup_entries = a->cgroup_entries;
    rctx.n_cgroup_entries = a->n_cgroup_entries;
    if (zrootfs_mount_all(&rctx, e) < 0)
        return -1;

    if (p->terminal) {
        char ptmx[PATH_MAX];
        int master = -1, slave = -1;
        _cleanup_free_ char *slave_path = NULL;
        if (a->console_fd < 0)
            return zerr_set(e, EINVAL, "process.terminal is true but no --console-socket was given");
        snprintf(ptmx, sizeof ptmx, "%s/dev/ptmx", a->rootfs);
        if (zterm_open_pty(ptmx, &master, &slave, &slave_path, e) < 0)
            return -1;
        if (p->has_console_size)
            zterm_set_size(master, p->console_height, p->console_width, e);
        if (bind_console(a->rootfs, slave, e) < 0 ||
            zterm_send_master_fd(a->console_fd, master, e) < 0) {
            close(master);
            close(slave);
            return -1;
        }
        close(master);
        close(a->console_fd);
        if (zterm_make_controlling(slave, e) < 0) {
            close(slave);
            return -1;
        }
        if (slave > 2)
            close(slave);
    }

    {
        /* runc creates a missing cwd; do it while the rootfs is writable */
        _cleanup_close_ int root_fd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int cwd_fd = -1;
        if (root_fd < 0)
            return zerr_sys(e, "open rootfs %s", a->rootfs);
        cwd_fd = zpath_mkdir_p_in_root(root_fd, p->cwd, 0755, e);
        if (cwd_fd < 0)
            return zerr_prefix(e, "process.cwd");
        if (apply_sysctl(root_fd, s->linux_, e) < 0)
            return -1;
    }
    if (set_names(s, a->clone_flags, e) < 0)
        return -1;

    if (a->hooks_roundtrip) {
        if (zsync_send(a->sync_fd, ZSYNC_HOOKS, 0, NULL, -1, e) < 0 ||
            zsync_expect(a->sync_fd, ZSYNC_HOOKS_DONE, &m, e) < 0)
            return -1;
        if (s->hooks && s->hooks->create_container.n_hooks) {
            /* hooks inside the container see the container's view: pid 1 */
            _cleanup_free_ char *st = zcreate_state_json(a->id, a->bundle, getpid(),
                                                         ZSTATUS_CREATING, s);
            if (zhooks_run(&s->hooks->create_container, "createContainer", st ? st : "{}", e) < 0)
                return -1;
        }
    }

    /* /dev/kvm, the kernel and the initramfs are not in the container */
    if (a->vm && zvm_open(a->vm, &init_vm, e) < 0)
        return -1;
    if (zrootfs_pivot_and_finish(&rctx, e) < 0)
        return -1;
    if (!a->no_new_keyring) {
        /* a fresh session keyring so containers never share the host's */
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, a->id) < 0 &&
            errno != ENOSYS && errno != EACCES && errno != EPERM)
            return zerr_sys(e, "join session keyring");
    }
    if (chdir(p->cwd) < 0)
        return zerr_sys(e, "process.cwd: chdir to cwd (\"%s\") set in config.json failed", p->cwd);
    if (zinit_find_executable(p, exe, e) < 0)
        return -1;
    *envp = zinit_build_env(p, a->listen_fds);
    if (!*envp)
        return zerr_sys(e, "build environment");

    setgroups_denied = zinit_setgroups_denied();
    /* VM mode: the monitor keeps the init's identity; the agent applies
     * the process's in the guest (docs/vm.md says what is not applied) */
    if (!init_vm &&
        zinit_finalize_process(p, s->linux_, a->seccomp, setgroups_denied, a->sync_fd, e) < 0)
        return -1;
    if (zinit_fd_hygiene(a->preserve_fds + a->listen_fds, e) < 0)
        return -1;
    return 0;
}

/* After start opened the FIFO: "0" then EOF (the write end is close-on-exec)
 * means the process was exec'd; "E<message>" reports why it was not. */
static void fifo_report_error(int fd, const struct zerr *e)
{
    char buf[ZERR_MSG_MAX + 1];
    int n = snprintf(buf, sizeof buf, "E%s", e->msg);
    if (write(fd, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1)) < 0) {
        /* start is gone; the log still has it */
    }
}

void zinit_main(const struct zinit_args *a)
{
    struct zerr e = {0};
    char exe[PATH_MAX], fifo_path[64];
    char **env = NULL;
    const struct zspec_process *p = a->spec->process;
    int fd;

    if (a->lock_fd >= 0)
        close(a->lock_fd);
    if (a->die_with_parent)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (init_setup(a, exe, &env, &e) < 0) {
        zsync_send_error(a->sync_fd, &e);
        _exit(1);
    }
    /* After READY the runtime may exit: don't die with it. */
    prctl(PR_SET_PDEATHSIG, 0);
    if (zsync_send(a->sync_fd, ZSYNC_READY, 0, NULL, -1, &e) < 0)
        _exit(1);
    close(a->sync_fd);

    /* Block until `start` opens the FIFO for reading. */
    snprintf(fifo_path, sizeof fifo_path, "/proc/self/fd/%d", a->fifo_fd);
    do
        fd = open(fifo_path, O_WRONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        zerr_sys(&e, "open exec fifo");
        goto fail;
    }
    close(a->fifo_fd);

    if (a->spec->hooks && a->spec->hooks->start_container.n_hooks) {
        _cleanup_free_ char *st = zcreate_state_json(a->id, a->bundle, getpid(),
                                                     ZSTATUS_CREATED, a->spec);
        if (zhooks_run(&a->spec->hooks->start_container, "startContainer", st ? st : "{}",
                       &e) < 0)
            goto fail;
    }
    if (zlsm_set_exec_labels(p, &e) < 0)
        goto fail;
    if (write(fd, "0", 1) != 1) {
        zerr_sys(&e, "write exec fifo");
        goto fail;
    }
    if (init_vm) {
        int code;
        close(fd);   /* start reads "0" and EOF, as after an exec */
        fd = -1;
        struct zvm_resolved caps;
        if (zproc_vm_caps(p->capabilities, &caps, &e) < 0 ||
            zseccomp_vm_program(a->seccomp, &caps, &e) < 0 || zproc_confine_monitor(&caps, &e) < 0) {
            zvm_close(init_vm);
            goto fail;
        }
        if (zvm_serve(init_vm, a->spec, &caps, env, &code, &e) < 0) {
            zvm_close(init_vm);
            goto fail;
        }
        zvm_close(init_vm);
        _exit(code);
    }
    zinit_reset_signals();
    execve(exe, p->args, env);
    zerr_sys(&e, "exec: \"%s\"", p->args[0]);
fail:
    zerror("%s", e.msg);
    if (fd >= 0)
        fifo_report_error(fd, &e);
    _exit(e.code == ENOENT ? 127 : e.code == EACCES ? 126 : 1);
}
