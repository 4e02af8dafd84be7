/* Developer container records: what `zone run IMAGE` leaves behind so that
 * `zone ps`, `logs`, `stop`, `rm`, `inspect` and `exec` can find a
 * container by name or id without a daemon.
 *
 * <store>/containers/
 *   .lock                  flock: taken exclusive while a record is created
 *                          or removed, so two runs cannot take one name
 *   <id>/                  64 hex; also the bundle dir (engine/bundle.h)
 *     container.json       the record (below), written atomically
 *     exit.json            {"exit_code","finished","signal"} once it ended
 *     ctr.log              the container's stdout and stderr
 *     monitor.pid          pid of the detached monitor while it runs
 *
 * container.json: {"id", "name", "image" (as typed), "manifest" (manifest
 * digest; the store's gc keeps images referenced here), "created",
 * "command" [..], "root" (runtime state root), "rm", "timeout"}.
 * The runtime container id is the record's id. Mutations of one record take
 * a flock on its directory. */
#ifndef ZONE_ENGINE_CONTAINERS_H
#define ZONE_ENGINE_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"

#define ZCTR_ID_LEN 64
#define ZCTR_RECORD "container.json"
#define ZCTR_EXIT "exit.json"
#define ZCTR_LOG "ctr.log"
#define ZCTR_MONITOR_PID "monitor.pid"

struct zctr {
    char id[ZCTR_ID_LEN + 1];
    char *name;
    char *image;
    char *manifest;
    char *created;             /* RFC 3339, UTC */
    char **command; size_t n_command;
    char *root;
    bool rm;
    int64_t timeout;           /* seconds; 0 = none */
    /* from exit.json */
    bool exited;
    int exit_code, signal;
    char *finished;
};

void zctr_clear(struct zctr *c);

/* <store_dir>/containers (static-free: malloc'd). */
char *zctr_base_dir(const char *store_dir);
/* <store_dir>/containers/<id> (malloc'd). */
char *zctr_dir(const char *store_dir, const char *id);

/* Names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 bytes. */
int zctr_check_name(const char *name, struct zerr *e);

/* Creates a new record: a fresh random id, the name (c->name, or a generated
 * "zone_<12 hex>" when NULL) checked unique under the containers lock, the
 * directory and container.json. Fills c->id, c->name and c->created. */
int zctr_create(const char *store_dir, struct zctr *c, struct zerr *e);

/* Reads container.json and exit.json (if any) of id. */
int zctr_load(const char *store_dir, const char *id, struct zctr *c, struct zerr *e);

/* Every record, sorted newest first. */
int zctr_list(const char *store_dir, struct zctr **out, size_t *n, struct zerr *e);
void zctr_list_free(struct zctr *v, size_t n);

/* Resolves a full id, a name, or a unique id prefix to an id. ENOENT
 * ("no container with name or ID \"x\" found") or EINVAL (ambiguous). */
int zctr_resolve(const char *store_dir, const char *name_or_id, char id[ZCTR_ID_LEN + 1],
                 struct zerr *e);

/* Locks the record directory (flock, exclusive); returns the locked dir fd.
 * ENOENT when the record is gone. */
int zctr_lock(const char *store_dir, const char *id, struct zerr *e);

/* Writes exit.json into the record dir (dirfd from zctr_lock). */
int zctr_write_exit(int dirfd, int exit_code, int signal, struct zerr *e);

/* Removes the record dir and everything in it (the overlay upper may hold
 * files of other owners and directories without write permission), under
 * the containers lock. A missing record is not an error. */
int zctr_remove(const char *store_dir, const char *id, struct zerr *e);

/* Removes a directory tree robustly (used for records); 0 or -1. */
int zctr_remove_tree(const char *path, struct zerr *e);

/* Current time as RFC 3339 with nanoseconds, UTC. */
void zctr_now(char *buf, size_t size);
/* Parses an RFC 3339 UTC time (fraction ignored); 0 on error. */
time_t zctr_parse_time(const char *s);

#endif
