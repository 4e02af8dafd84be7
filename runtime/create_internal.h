/* Shared between create, run and exec (not for cli/). */
#ifndef ZONE_RUNTIME_CREATE_INTERNAL_H
#define ZONE_RUNTIME_CREATE_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/spec.h"
#include "runtime/container.h"

struct zseccomp;
struct zns_join;
struct zcgroup;

/* Everything create needs, parsed and validated before any state changes. */
struct zbuild {
    char *bundle;              /* absolute */
    char *rootfs;              /* absolute, resolved */
    char *config_json;         /* raw bytes, saved in the state dir */
    size_t config_len;
    struct zspec *spec;
    struct zseccomp *seccomp;
    struct zns_join *joins;
    size_t n_joins;
    int clone_flags;
};

struct zcreated {
    pid_t pid;
    struct zcgroup *cg;
};

int zbuild_prepare(const char *bundle_arg, struct zbuild *b, struct zerr *e);
void zbuild_free(struct zbuild *b);
/* console_fd: an already-connected console channel (run's own relay), or -1. */
int zcreate_build(const struct zruntime *rt, const struct zcreate_opts *o, int console_fd,
                  struct zbuild *b, struct zcreated *out, struct zerr *e);
void zcreated_release(struct zcreated *c);

char *zcreate_state_json(const char *id, const char *bundle, pid_t pid,
                         enum zstate_status status, const struct zspec *s);
/* Connects a SOCK_STREAM unix socket (the --console-socket). */
int zconnect_unix(const char *path, struct zerr *e);
/* Receives one fd sent with SCM_RIGHTS. */
int zrecv_fd(int sock, struct zerr *e);
int zcreate_write_pid_file(const char *path, pid_t pid, struct zerr *e);

#endif
