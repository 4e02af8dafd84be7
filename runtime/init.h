/* The container's init: the child that `create` clones into the new
 * namespaces. It builds the container's view (rootfs, terminal, process
 * settings) in steps synchronised with the parent over the sync socket, then
 * blocks on the exec FIFO until `start`, and execs the user's process. */
#ifndef ZONE_RUNTIME_INIT_H
#define ZONE_RUNTIME_INIT_H

#include <stdbool.h>

#include "core/spec.h"

struct zseccomp;
struct zcg_mount_entry;
struct zns_join;
struct zvm_plan;

struct zinit_args {
    const struct zspec *spec;
    const char *id;
    const char *bundle;
    const char *rootfs;
    int sync_fd;               /* init's end of the sync socketpair */
    int lock_fd;               /* the state dir's flock: closed at once, or
                                  the init would hold the lock while it waits */
    int fifo_fd;               /* O_PATH fd of the exec FIFO; -1 for exec */
    int console_fd;            /* connected console socket; -1 when none */
    int preserve_fds;          /* extra fds after 3 (+ LISTEN_FDS) kept open */
    int listen_fds;            /* LISTEN_FDS passed through (0 when none) */
    int clone_flags;           /* namespaces created for this container */
    int unshare_flags;         /* those of clone_flags the init makes itself,
                                  with unshare(2) before GO (create.c) */
    bool no_pivot;
    bool no_new_keyring;
    bool hooks_roundtrip;      /* parent runs createRuntime/prestart hooks */
    bool die_with_parent;      /* PDEATHSIG while the runtime sets us up */
    struct zseccomp *seccomp;  /* compiled filter or NULL */
    const struct zcg_mount_entry *cgroup_entries;
    size_t n_cgroup_entries;
    struct zcg_entry *cg_entry;  /* v1 cgroups the init joins first thing, or
                                    NULL (then GO may carry their fds) */
    bool hide_exe;               /* become non-dumpable (runtime/exec.c says why) */
    struct zns_join *joins;    /* namespaces to setns() after GO */
    size_t n_joins;
    const struct zvm_plan *vm; /* VM mode: the init becomes the monitor */
};

/* Never returns. */
__attribute__((noreturn)) void zinit_main(const struct zinit_args *a);

/* Shared by init and exec: the final steps before execve of a process:
 * limits, identity, capabilities, no_new_privs, seccomp, signal reset, fd
 * hygiene. notify_sync_fd >= 0 sends a seccomp notify fd to the parent. */
int zinit_finalize_process(const struct zspec_process *p, const struct zspec_linux *lx,
                           struct zseccomp *seccomp, bool setgroups_denied,
                           int notify_sync_fd, struct zerr *e);

/* True when /proc/self/setgroups says "deny" (a user namespace whose
 * gid map was written without privilege): setgroups(2) would fail. */
bool zinit_setgroups_denied(void);

/* Resolves args[0] against PATH from the process env, inside the current root
 * (run after pivot_root). Fills path (PATH_MAX). Errors use the wording
 * engines map to exit codes 127/126 ("executable file not found in $PATH",
 * "no such file or directory", "permission denied"). */
int zinit_find_executable(const struct zspec_process *p, char *path, struct zerr *e);

/* Builds the final environment: process env, HOME from the container's
 * /etc/passwd when unset, LISTEN_FDS/LISTEN_PID when passing sockets.
 * Returns a malloc'd NULL-terminated vector. */
char **zinit_build_env(const struct zspec_process *p, int listen_fds);

/* Resets every signal to its default disposition and unblocks all signals
 * (conmon starts us with SIGPIPE ignored; the container must not inherit). */
void zinit_reset_signals(void);

/* Marks every fd >= 3 + keep close-on-exec and clears it on 3..3+keep-1. */
int zinit_fd_hygiene(int keep, struct zerr *e);

#endif
