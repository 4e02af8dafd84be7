/* The container lifecycle, as the CLI drives it. Each call is one command of
 * a short-lived `zone` process: no daemon. */
#ifndef ZONE_RUNTIME_CONTAINER_H
#define ZONE_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/spec.h"

struct zcg_stats;

struct zruntime {
    const char *root;          /* state root, e.g. /run/zone */
    bool systemd_cgroup;
    int rootless;              /* -1 auto, 0 false, 1 true */
    bool vm;                   /* zone --vm / zone-vm: every container in a VM */
};

struct zcreate_opts {
    const char *id;
    const char *bundle;        /* default: cwd */
    const char *pid_file;
    const char *console_socket;
    int preserve_fds;
    bool no_pivot;
    bool no_new_keyring;
};

/* create: sets the container up and leaves its init blocked on the exec FIFO. */
int zcontainer_create(const struct zruntime *rt, const struct zcreate_opts *o,
                      struct zerr *e);
/* start: releases the init; runs poststart hooks. */
int zcontainer_start(const struct zruntime *rt, const char *id, struct zerr *e);

/* run: create + start; unless detach, waits for the container process,
 * forwarding signals, then deletes it. *exit_status gets the container's exit
 * code (128+signal when killed). */
int zcontainer_run(const struct zruntime *rt, const struct zcreate_opts *o,
                   bool detach, bool keep, int *exit_status, struct zerr *e);

struct zcontainer_info {
    char *id;
    pid_t pid;                 /* 0 when stopped */
    enum zstate_status status;
    char *bundle;
    char *rootfs;
    char *created;
    uid_t owner;
    struct zspec_kv *annotations; size_t n_annotations;
};
/* One container's state (what `state` prints). */
int zcontainer_state(const struct zruntime *rt, const char *id,
                     struct zcontainer_info *out, struct zerr *e);
void zcontainer_info_clear(struct zcontainer_info *v);
int zcontainer_list(const struct zruntime *rt, struct zcontainer_info **out,
                    size_t *n, struct zerr *e);
void zcontainer_list_free(struct zcontainer_info *v, size_t n);

int zcontainer_kill(const struct zruntime *rt, const char *id, int sig, bool all,
                    struct zerr *e);
int zcontainer_delete(const struct zruntime *rt, const char *id, bool force,
                      struct zerr *e);
int zcontainer_pause(const struct zruntime *rt, const char *id, struct zerr *e);
int zcontainer_resume(const struct zruntime *rt, const char *id, struct zerr *e);
int zcontainer_pids(const struct zruntime *rt, const char *id, pid_t **pids,
                    size_t *n, struct zerr *e);
int zcontainer_update(const struct zruntime *rt, const char *id,
                      const struct zspec_resources *r, struct zerr *e);
int zcontainer_stats(const struct zruntime *rt, const char *id,
                     struct zcg_stats *st, struct zerr *e);

struct zexec_opts {
    const char *id;
    struct zspec_process *process;  /* complete process to run */
    const char *console_socket;
    const char *pid_file;
    int preserve_fds;
    bool detach;
};
/* exec: runs a new process in a running container. Without detach, waits and
 * returns its exit status. */
int zcontainer_exec(const struct zruntime *rt, const struct zexec_opts *o,
                    int *exit_status, struct zerr *e);
/* The container's own process config (from its saved config.json), as the
 * base that exec's flags modify. */
struct zspec *zcontainer_load_config(const struct zruntime *rt, const char *id,
                                     struct zerr *e);

#endif
