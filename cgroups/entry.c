/* Putting a new process into a container's cgroup without the cost of a
 * migration. Writing a pid into cgroup.procs takes the kernel's global
 * threadgroup lock for writing, which first waits for an RCU grace period:
 * 6-25 ms on the hosts measured (docs/performance.md), the largest single
 * cost of `run`. Two ways avoid that lock:
 *   - v1: a single-threaded process that writes "0" (itself) into a
 *     hierarchy's `tasks` file moves only its own thread, which the kernel
 *     does without the global lock. The parent opens the files (their
 *     permission is checked against the opener's credentials), the child
 *     writes them first thing, before it forks or execs.
 *   - v2: clone3(CLONE_INTO_CGROUP) creates the child in the cgroup.
 * The systemd driver and rootless delegation keep zcg_enter (pid writes):
 * systemd moves the pid itself, and delegation rules want the caller's
 * own credentials. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "cgroups/internal.h"

static int entry_open_failed(const struct zcg_dir *d, struct zcg_entry *ent, struct zerr *e)
{
    zerr_sys(e, "cgroup: open %s%s", d->path, d->v2 ? "" : "/tasks");
    zcg_entry_close(ent);
    return -1;
}

int zcg_entry_open_v2(const struct zcgroup *cg, struct zcg_entry *ent, struct zerr *e)
{
    memset(ent, 0, sizeof *ent);
    ent->v2_dir_fd = -1;
    for (size_t i = 0; i < cg->n; i++) {
        if (!cg->d[i].v2)
            continue;
        ent->v2_dir_fd = open(cg->d[i].path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ent->v2_dir_fd < 0)
            return entry_open_failed(&cg->d[i], ent, e);
        break;
    }
    return 0;
}

int zcg_entry_open_v1(const struct zcgroup *cg, struct zcg_entry *ent, struct zerr *e)
{
    ent->tasks_fds = calloc(cg->n ? cg->n : 1, sizeof *ent->tasks_fds);
    if (!ent->tasks_fds)
        return zerr_set(e, ENOMEM, "out of memory");
    for (size_t i = 0; i < cg->n; i++) {
        char path[4096];
        int fd;
        if (cg->d[i].v2)
            continue;
        snprintf(path, sizeof path, "%s/tasks", cg->d[i].path);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return entry_open_failed(&cg->d[i], ent, e);
        ent->tasks_fds[ent->n_tasks++] = fd;
    }
    return 0;
}

int zcg_entry_open(const struct zcgroup *cg, struct zcg_entry *ent, struct zerr *e)
{
    if (zcg_entry_open_v2(cg, ent, e) < 0)
        return -1;
    return zcg_entry_open_v1(cg, ent, e);
}

int zcg_entry_join_self(struct zcg_entry *ent, struct zerr *e)
{
    for (size_t i = 0; i < ent->n_tasks; i++) {
        if (write(ent->tasks_fds[i], "0", 1) != 1) {
            char link[64], path[4096] = "?";
            ssize_t n;
            int err = errno;
            snprintf(link, sizeof link, "/proc/self/fd/%d", ent->tasks_fds[i]);
            n = readlink(link, path, sizeof path - 1);
            path[n > 0 ? n : 1] = '\0';
            errno = err;
            return zerr_sys(e, "cgroup: join %s", path);
        }
        close(ent->tasks_fds[i]);
        ent->tasks_fds[i] = -1;
    }
    ent->n_tasks = 0;
    if (ent->v2_dir_fd >= 0)
        close(ent->v2_dir_fd);
    ent->v2_dir_fd = -1;
    return 0;
}

int zcg_enter_v2(const struct zcgroup *cg, pid_t pid, struct zerr *e)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cg->d[i].v2 && zcg_write_i64(cg->d[i].path, "cgroup.procs", pid, e) < 0)
            return -1;
    return 0;
}

void zcg_entry_close(struct zcg_entry *ent)
{
    for (size_t i = 0; ent->tasks_fds && i < ent->n_tasks; i++)
        if (ent->tasks_fds[i] >= 0)
            close(ent->tasks_fds[i]);
    free(ent->tasks_fds);
    ent->tasks_fds = NULL;
    ent->n_tasks = 0;
    if (ent->v2_dir_fd >= 0)
        close(ent->v2_dir_fd);
    ent->v2_dir_fd = -1;
}

bool zcg_entry_usable(const struct zcgroup *cg)
{
    return cg && !cg->sd;
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* clone3's argument (linux/sched.h, spelled out: that header clashes with
 * sched.h). */
struct clone3_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
        set_tid, set_tid_size, cgroup;
};

pid_t zcg_clone_into(int flags, int v2_dir_fd, bool *into_v2)
{
    *into_v2 = false;
    if (v2_dir_fd >= 0) {
        struct clone3_args ca = {
            .flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP,
            .exit_signal = SIGCHLD,
            .cgroup = (uint64_t)v2_dir_fd,
        };
        pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
        if (pid >= 0) {
            *into_v2 = true;
            return pid;
        }
        /* an older kernel, or a cgroup that refuses: zcg_enter_v2 then */
    }
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}
