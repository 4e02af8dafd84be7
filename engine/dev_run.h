/* `zone run IMAGE`: image (pulled when missing) -> layers -> bundle ->
 * record -> container, in the foreground or under a detached monitor.
 * Nothing is left behind when it fails: the record dir and the runtime
 * state it created are removed again. */
#ifndef ZONE_ENGINE_RUN_H
#define ZONE_ENGINE_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "engine/bundle.h"
#include "engine/containers.h"
#include "runtime/container.h"

enum zpull_policy { ZPULL_MISSING, ZPULL_ALWAYS, ZPULL_NEVER };

struct zdev_run_opts {
    struct zrun_flags flags;     /* parsed by cli/ */
    const char *image;           /* as typed */
    const char *store_dir;       /* NULL = the default store */
    struct zruntime rt;
    bool detach, rm;
    int64_t timeout;             /* seconds, 0 = none */
    enum zpull_policy pull;
    char **publish; size_t n_publish;
    FILE *progress;              /* pull progress, NULL = quiet */
};

/* Exit codes of `zone run IMAGE` itself, as podman's: */
#define ZRUN_EXIT_ENGINE 125     /* zone failed (image, flags, create...) */
#define ZRUN_EXIT_NOEXEC 126     /* the command cannot be executed */
#define ZRUN_EXIT_NOTFOUND 127   /* the command was not found */
#define ZRUN_EXIT_TIMEOUT 124    /* --timeout expired */

/* Runs it. id gets the container id (printed by -d). Foreground:
 * *exit_status = the container's exit code (128+signal, 124 on timeout).
 * Detached: returns once the container started, *exit_status = 0. On
 * failure returns -1 with *exit_status one of ZRUN_EXIT_*. */
int zdev_run(const struct zdev_run_opts *o, char id[ZCTR_ID_LEN + 1], int *exit_status,
             struct zerr *e);

#endif
