/* The systemd cgroup driver: a transient scope unit per container, started
 * and stopped over D-Bus with sd-bus (org.freedesktop.systemd1.Manager). See
 * the "systemd" section of cgroups/internal.h for how it fits zcg_create,
 * zcg_enter and zcg_destroy. */
#include "cgroups/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "cgroups/sd_bus_dl.h"

#include "core/cleanup.h"
#include "core/log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

const char *zcg_systemd_runtime_dir(void)
{
    const char *dir = getenv(ZCG_SYSTEMD_RUNTIME_DIR_ENV);
    return dir && *dir ? dir : "/run/systemd/system";
}

void zcg_systemd_free(struct zcg_systemd *sd)
{
    if (!sd)
        return;
    free(sd->unit);
    free(sd->slice);
    free(sd);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

struct zcg_systemd *zcg_systemd_new(const char *cgroups_path, const char *id,
                                    enum zcg_mode mode, struct zerr *e)
{
    _cleanup_free_ char *checked = NULL, *copy = NULL;
    struct zcg_systemd *sd;
    const char *slice, *prefix, *name;
    char *c1, *c2;
    int n;

    /* zcg_systemd_path validates the form and every part. */
    if (!(checked = zcg_systemd_path(cgroups_path, id, e)))
        return NULL;
    if (cgroups_path && *cgroups_path)
        copy = strdup(cgroups_path);
    else if (asprintf(&copy, "system.slice:zone:%s", id) < 0)
        copy = NULL;
    if (!copy || !(sd = calloc(1, sizeof *sd))) {
        zerr_sys(e, "systemd cgroup driver");
        return NULL;
    }
    c1 = strchr(copy, ':');
    c2 = strchr(c1 + 1, ':');
    *c1 = *c2 = '\0';
    slice = *copy ? copy : "system.slice";
    prefix = c1 + 1;
    name = c2 + 1;
    sd->v1 = mode != ZCG_V2;
    sd->slice = strdup(slice);
    if (ends_with(name, ".slice"))
        n = (sd->unit = strdup(name)) ? 0 : -1;
    else if (*prefix)
        n = asprintf(&sd->unit, "%s-%s.scope", prefix, name);
    else
        n = asprintf(&sd->unit, "%s.scope", name);
    if (n < 0)
        sd->unit = NULL;
    if (!sd->slice || !sd->unit) {
        zerr_sys(e, "systemd cgroup driver");
        zcg_systemd_free(sd);
        return NULL;
    }
    return sd;
}

struct zcg_systemd *zcg_systemd_parse(const char *value, enum zcg_mode mode,
                                      struct zerr *e)
{
    const char *sp = strchr(value, ' ');
    struct zcg_systemd *sd;

    if (!sp || sp == value || !sp[1] || strchr(sp + 1, ' ') ||
        strchr(value, '/')) {
        zerr_set(e, EINVAL, "cgroup: state \"%s %s\": expected \"<unit> "
                 "<slice>\"", ZCG_SYSTEMD_STATE_KEY, value);
        return NULL;
    }
    if (!(sd = calloc(1, sizeof *sd)) ||
        !(sd->unit = strndup(value, (size_t)(sp - value))) ||
        !(sd->slice = strdup(sp + 1))) {
        zcg_systemd_free(sd);
        zerr_sys(e, "cgroup");
        return NULL;
    }
    sd->v1 = mode != ZCG_V2;
    sd->started = true;
    return sd;
}

void zcg_systemd_note_resources(struct zcg_systemd *sd,
                                const struct zspec_resources *r)
{
    if (!r)
        return;
    if (r->memory && r->memory->has_limit) {
        sd->has_memory = true;
        sd->memory = r->memory->limit < 0 ? UINT64_MAX
                                          : (uint64_t)r->memory->limit;
    }
    if (r->cpu && r->cpu->has_shares && r->cpu->shares) {
        sd->has_cpu = true;
        sd->cpu = sd->v1 ? r->cpu->shares
                         : zcg_shares_to_weight(r->cpu->shares);
    }
    if (r->pids && r->pids->has_limit) {
        sd->has_tasks = true;
        sd->tasks = r->pids->limit <= 0 ? UINT64_MAX
                                        : (uint64_t)r->pids->limit;
    }
}

static void prop_s(struct zcg_sd_prop *p, const char *name, const char *v)
{
    *p = (struct zcg_sd_prop){.name = name, .type = 's', .s = v};
}
static void prop_b(struct zcg_sd_prop *p, const char *name, bool v)
{
    *p = (struct zcg_sd_prop){.name = name, .type = 'b', .b = v};
}
static void prop_t(struct zcg_sd_prop *p, const char *name, uint64_t v)
{
    *p = (struct zcg_sd_prop){.name = name, .type = 't', .t = v};
}

size_t zcg_systemd_properties(const struct zcg_systemd *sd, pid_t pid,
                              const char *description,
                              struct zcg_sd_prop *out)
{
    size_t n = 0;
    bool slice_unit = ends_with(sd->unit, ".slice");

    prop_s(&out[n++], "Description", description);
    if (slice_unit) {
        /* A slice's parent follows from its name; it holds no process. */
        prop_s(&out[n++], "Wants", sd->slice);
    } else {
        prop_s(&out[n++], "Slice", sd->slice);
        prop_b(&out[n++], "Delegate", true);
        out[n++] = (struct zcg_sd_prop){.name = "PIDs", .type = 'p',
                                        .pid = (uint32_t)pid};
    }
    /* Not ordered after basic.target etc.: a container may start early. */
    prop_b(&out[n++], "DefaultDependencies", false);
    if (sd->has_memory)
        prop_t(&out[n++], sd->v1 ? "MemoryLimit" : "MemoryMax", sd->memory);
    if (sd->has_cpu)
        prop_t(&out[n++], sd->v1 ? "CPUShares" : "CPUWeight", sd->cpu);
    if (sd->has_tasks)
        prop_t(&out[n++], "TasksMax", sd->tasks);
    return n;
}

/* ------------------------------------------------------------ D-Bus */

struct job_wait {
    const char *unit;
    bool done;
    char result[64];
};

/* JobRemoved(u id, o job, s unit, s result): ours is the one naming our
 * unit, which also holds when it arrives before the method's reply. */
static int on_job_removed(sd_bus_message *m, void *userdata,
                          sd_bus_error *ret_error)
{
    struct job_wait *w = userdata;
    const char *job, *unit, *result;
    uint32_t id;

    if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
        return 0;
    if (strcmp(unit, w->unit) == 0) {
        w->done = true;
        snprintf(w->result, sizeof w->result, "%s", result);
    }
    return 0;
}

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int bus_fail(struct zerr *e, int r, const sd_bus_error *err,
                    const char *what, const char *unit)
{
    return zerr_set(e, -r, "systemd cgroup driver: %s %s: %s", what, unit,
                    err && sd_bus_error_is_set(err) && err->message
                        ? err->message : strerror(-r));
}

/* Connects, subscribes to the manager's signals and watches JobRemoved. */
static int bus_open(sd_bus **bus, sd_bus_slot **slot, struct job_wait *w,
                    struct zerr *e)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    int r;

    if (zcg_sd_bus_load(e) < 0)
        return -1;
    r = sd_bus_open_system(bus);
    if (r < 0)
        return zerr_set(e, -r, "systemd cgroup driver: connect to the system "
                        "bus: %s", strerror(-r));
    r = sd_bus_match_signal(*bus, slot, NULL, SD_PATH, SD_MANAGER,
                            "JobRemoved", on_job_removed, w);
    if (r < 0)
        return bus_fail(e, r, NULL, "watch the jobs of", w->unit);
    /* systemd emits job signals only once a client subscribed. */
    r = sd_bus_call_method(*bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe",
                           &err, NULL, NULL);
    if (r < 0 && !sd_bus_error_has_name(&err, "org.freedesktop.systemd1.AlreadySubscribed"))
        zdebug("systemd cgroup driver: Subscribe: %s",
               err.message ? err.message : strerror(-r));
    sd_bus_error_free(&err);
    return 0;
}

static int wait_job(sd_bus *bus, struct job_wait *w, const char *what,
                    struct zerr *e)
{
    uint64_t deadline = now_usec() + ZCG_SYSTEMD_JOB_TIMEOUT_USEC;

    while (!w->done) {
        uint64_t now = now_usec();
        int r = sd_bus_process(bus, NULL);
        if (r < 0)
            return bus_fail(e, r, NULL, what, w->unit);
        if (r > 0)
            continue;
        if (now >= deadline)
            return zerr_set(e, ETIMEDOUT, "systemd cgroup driver: %s %s: no "
                            "JobRemoved signal within %llu s", what, w->unit,
                            ZCG_SYSTEMD_JOB_TIMEOUT_USEC / 1000000);
        r = sd_bus_wait(bus, deadline - now);
        if (r < 0)
            return bus_fail(e, r, NULL, what, w->unit);
    }
    return 0;
}

static int append_props(sd_bus_message *m, const struct zcg_sd_prop *p,
                        size_t n)
{
    int r = sd_bus_message_open_container(m, 'a', "(sv)");
    for (size_t i = 0; r >= 0 && i < n; i++) {
        switch (p[i].type) {
        case 's':
            r = sd_bus_message_append(m, "(sv)", p[i].name, "s", p[i].s);
            break;
        case 'b':
            r = sd_bus_message_append(m, "(sv)", p[i].name, "b", (int)p[i].b);
            break;
        case 't':
            r = sd_bus_message_append(m, "(sv)", p[i].name, "t", p[i].t);
            break;
        default:
            r = sd_bus_message_append(m, "(sv)", p[i].name, "au", 1, p[i].pid);
            break;
        }
    }
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    return r;
}

int zcg_systemd_start(struct zcg_systemd *sd, pid_t pid, struct zerr *e)
{
    sd_bus *bus = NULL;
    sd_bus_slot *slot = NULL;
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    struct job_wait w = {.unit = sd->unit};
    struct zcg_sd_prop props[ZCG_SD_MAX_PROPS];
    char description[256];
    int r, rc = -1;
    size_t n;

    snprintf(description, sizeof description, "zone container %s", sd->unit);
    n = zcg_systemd_properties(sd, pid, description, props);
    if (bus_open(&bus, &slot, &w, e) < 0)
        goto out;
    r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                       "StartTransientUnit");
    if (r >= 0)
        r = sd_bus_message_append(m, "ss", sd->unit, "replace");
    if (r >= 0)
        r = append_props(m, props, n);
    if (r >= 0)
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
    if (r < 0) {
        bus_fail(e, r, NULL, "build StartTransientUnit for", sd->unit);
        goto out;
    }
    r = sd_bus_call(bus, m, 0, &err, &reply);
    if (r < 0) {
        bus_fail(e, r, &err, "StartTransientUnit", sd->unit);
        goto out;
    }
    if (wait_job(bus, &w, "start job of", e) < 0)
        goto out;
    if (strcmp(w.result, "done") != 0) {
        zerr_set(e, EIO, "systemd cgroup driver: unit %s: start job "
                 "finished with result \"%s\"", sd->unit, w.result);
        goto out;
    }
    sd->started = true;
    zdebug("systemd cgroup driver: started %s in %s", sd->unit, sd->slice);
    rc = 0;
out:
    sd_bus_error_free(&err);
    sd_bus_message_unref(reply);
    sd_bus_message_unref(m);
    sd_bus_slot_unref(slot);
    sd_bus_flush_close_unref(bus);
    return rc;
}

int zcg_systemd_stop(const struct zcg_systemd *sd, struct zerr *e)
{
    sd_bus *bus = NULL;
    sd_bus_slot *slot = NULL;
    sd_bus_message *reply = NULL;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    struct job_wait w = {.unit = sd->unit};
    int r, rc = -1;

    if (bus_open(&bus, &slot, &w, e) < 0)
        goto out;
    r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit",
                           &err, &reply, "ss", sd->unit, "replace");
    if (r < 0) {
        if (sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit"))
            rc = 0;
        else
            bus_fail(e, r, &err, "StopUnit", sd->unit);
        goto out;
    }
    if (wait_job(bus, &w, "stop job of", e) < 0)
        goto out;
    if (strcmp(w.result, "done") != 0) {
        zerr_set(e, EIO, "systemd cgroup driver: unit %s: stop job "
                 "finished with result \"%s\"", sd->unit, w.result);
        goto out;
    }
    rc = 0;
out:
    sd_bus_error_free(&err);
    sd_bus_message_unref(reply);
    sd_bus_slot_unref(slot);
    sd_bus_flush_close_unref(bus);
    return rc;
}
