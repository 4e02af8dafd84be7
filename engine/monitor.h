/* The per-container monitor: creates and starts one developer container
 * through runtime/container.h, relays its output (and terminal), enforces
 * --timeout, runs pasta for --network pasta, waits for it, records the exit
 * in exit.json and deletes the runtime state (and with --rm the record).
 *
 * In the foreground (`zone run IMAGE`) the zone process itself is the
 * monitor. With -d a detached process (double fork + setsid, a child
 * subreaper) plays the same part, like conmon, and the command returns as
 * soon as the container has started. There is no daemon beyond it. */
#ifndef ZONE_ENGINE_MONITOR_H
#define ZONE_ENGINE_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "engine/bundle.h"
#include "runtime/container.h"

struct zmon_opts {
    struct zruntime rt;          /* runtime; rt.root = the record's root */
    const char *store_dir;
    const char *id;              /* record id = runtime id = bundle dir name */
    bool tty;                    /* the bundle's process.terminal */
    bool interactive;            /* -i: the container reads our stdin */
    bool detach;                 /* output only to the log */
    bool rm;                     /* remove the record after the exit */
    int64_t timeout;             /* seconds, 0 = none */
    enum znetwork_mode network;
    char **publish; size_t n_publish;   /* -p specs (pasta only) */
};

/* Runs the container in the calling process: create, start, wait, record.
 * *exit_status is the container's exit code, 128+signal when killed, 124
 * when --timeout fired. On failure before the container started nothing is
 * left of the runtime state (the record is the caller's). */
int zmon_run_foreground(const struct zmon_opts *o, int *exit_status, struct zerr *e);

/* Starts a detached monitor that runs the container; returns once the
 * container has started (0) or failed to (-1, with the monitor's error). */
int zmon_run_detached(const struct zmon_opts *o, struct zerr *e);

/* Checks a -p/--publish spec: [IP:]HOSTPORT:CTRPORT[/tcp|/udp] or
 * PORT[/proto]. */
int zmon_check_publish(const char *spec, struct zerr *e);

/* Waits up to timeout_ms for the container's exit record (exit.json) to
 * appear, as written by its monitor; true when it did. */
bool zmon_wait_exit_record(const char *store_dir, const char *id, int timeout_ms);

#endif
