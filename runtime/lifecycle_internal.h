/* An opened container, shared by the lifecycle operations (not for cli/). */
#ifndef ZONE_RUNTIME_LIFECYCLE_INTERNAL_H
#define ZONE_RUNTIME_LIFECYCLE_INTERNAL_H

#include "runtime/state.h"

struct zcgroup;

struct zct {
    struct zstate_dir dir;
    struct zcontainer_record rec;
    struct zcgroup *cg;        /* NULL when the container has none */
    enum zstate_status status;
    /* Borrowed: the config the caller already parsed (zone run), so that
     * the hooks of start and delete need not parse config.json again. */
    const struct zspec *spec;
};

/* Opens and locks the container's state dir, reads its record and status. */
int zct_open(const struct zruntime *rt, const char *id, struct zct *c, struct zerr *e);
void zct_close(struct zct *c);
/* Parses the config.json saved at create. */
struct zspec *zct_config(const struct zct *c, struct zerr *e);
int zct_start(struct zct *c, struct zerr *e);
/* Kills what is left, removes the cgroup, runs poststop, removes the dir. */
int zct_destroy(struct zct *c, struct zerr *e);

#endif
