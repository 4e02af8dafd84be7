/* Work on the files of a rootless store inside the user's user namespace.
 *
 * Without root, layers hold files owned by the user's subordinate ids
 * (container uid 1000 is host uid SUBUID+999). The user can neither create
 * nor remove such files on the host, but can as root of a user namespace
 * with the mappings `zone spec --rootless` writes (own id -> 0, the
 * /etc/subuid and /etc/subgid ranges -> 1..; through newuidmap/newgidmap).
 * zuserns_run runs a function there, in a forked child, and brings its
 * error back. */
#ifndef ZONE_IMAGES_USERNS_H
#define ZONE_IMAGES_USERNS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "images/unpack.h"

/* True when store files must be handled in a user namespace: zone runs as
 * a user other than root. (Root of an engine's user namespace already has
 * one and works as root does.) */
bool zuserns_wanted(void);

/* The container -> host id ranges of the user's rootless mappings (the
 * same as zns_rootless_mappings), for the unpacker's bookkeeping and for
 * messages. *one_id is true when only the own id is mapped (no subordinate
 * ids or no newuidmap/newgidmap): every file then belongs to the user. */
struct zuserns_map {
    struct zid_range *uids, *gids;
    size_t n_uids, n_gids;
    bool one_id;
};
int zuserns_map_get(struct zuserns_map *m, struct zerr *e);
void zuserns_map_free(struct zuserns_map *m);

/* Runs fn(arg) in a forked child that is root of a new user namespace with
 * the user's rootless mappings; returns what fn returned, with fn's error
 * in e. The child shares nothing but inherited fds with the caller: fn's
 * side effects on memory are lost. */
int zuserns_run(int (*fn)(void *arg, struct zerr *e), void *arg, struct zerr *e);

/* Pure logic, exported for tests: the host id that container id `id` maps
 * to through ranges r[0..n), or -1 when it has none. */
long long zuserns_host_id(const struct zid_range *r, size_t n, uint32_t id);

#endif
