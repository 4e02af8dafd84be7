/* The state store: one directory per container under the runtime root
 * (default /run/zone), holding zone's record of the container (state.json),
 * the exec FIFO while the container is "created", and a copy of config.json.
 * Files are written atomically (temp + rename); a flock on the directory
 * serialises commands on one id. */
#ifndef ZONE_RUNTIME_STATE_H
#define ZONE_RUNTIME_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/spec.h"

#define ZSTATE_FILE "state.json"
#define ZSTATE_FIFO "exec.fifo"
#define ZSTATE_CONFIG "config.json"

struct zcontainer_record {
    char *id;
    char *bundle;
    char *rootfs;
    pid_t pid;
    uint64_t pid_start;        /* starttime of pid (field 22 of /proc/pid/stat) */
    char *created;             /* RFC 3339 with nanoseconds, UTC */
    uid_t owner;
    char *cgroup;              /* zcg_serialize() form; NULL when none */
    int ns_flags;              /* CLONE_NEW* namespaces the container owns */
    bool vm;                   /* reserved for the VM handler */
    struct zspec_kv *annotations; size_t n_annotations;
};

/* An open, locked state directory. */
struct zstate_dir {
    int dirfd;                 /* O_DIRECTORY, holds the flock */
    char *path;
    char *id;
};

/* Validates a container id: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes,
 * so an id can never name a path outside the root. */
int zstate_check_id(const char *id, struct zerr *e);

#define ZSTATE_ROOT_DEFAULT "/run/zone"

/* The state root when --root is not given: /run/zone for root;
 * $XDG_RUNTIME_DIR/zone for other users, and for root of a user namespace
 * other than the initial one (a rootless engine) when XDG_RUNTIME_DIR is
 * set and USER is not "root". NULL with an error when a user other than
 * root has no XDG_RUNTIME_DIR. May return buf. */
const char *zstate_default_root(char *buf, size_t size, struct zerr *e);

/* Ensures the runtime root exists (mode 0700). */
int zstate_root_prepare(const char *root, struct zerr *e);

/* Creates <root>/<id> exclusively and locks it. Fails with EEXIST
 * ("container with given ID already exists: X") if it is already there. */
int zstate_dir_create(const char *root, const char *id, struct zstate_dir *sd,
                      struct zerr *e);
/* Opens and locks an existing container's directory; ENOENT ->
 * "container does not exist: X" (lowercase as runc prints it). */
int zstate_dir_open(const char *root, const char *id, struct zstate_dir *sd,
                    struct zerr *e);
/* Removes the directory's files and the directory itself, then releases. */
int zstate_dir_remove(struct zstate_dir *sd, struct zerr *e);
void zstate_dir_close(struct zstate_dir *sd);

int zstate_record_write(const struct zstate_dir *sd,
                        const struct zcontainer_record *r, struct zerr *e);
int zstate_record_read(int dirfd, const char *origin,
                       struct zcontainer_record *r, struct zerr *e);
void zstate_record_clear(struct zcontainer_record *r);

/* Reads field 22 (starttime) of /proc/<pid>/stat; 0 when gone. */
uint64_t zproc_start_time(pid_t pid);
/* True when pid is alive, is the same process as recorded, and not a zombie. */
bool zstate_pid_alive(pid_t pid, uint64_t start_time);

/* The real status: stopped when the init is gone, created while the exec FIFO
 * exists, paused when frozen, else running. */
enum zstate_status zstate_status_of(int dirfd, const struct zcontainer_record *r);

/* Current time in RFC 3339 with nanoseconds (Go's RFC3339Nano), UTC. */
void zstate_now_rfc3339(char *buf, size_t size);

#endif
