/* A stand-in for systemd's manager on a private bus, for
 * t_cgroups_systemd.sh (this host runs no systemd). Built by the test with
 * gcc and -lsystemd (tests/helpers/ are linked statically; libsystemd has no
 * static archive on Debian).
 *
 *   fake_systemd LOG
 *
 * Connects to $DBUS_SYSTEM_BUS_ADDRESS, owns org.freedesktop.systemd1 and
 * serves on /org/freedesktop/systemd1 (org.freedesktop.systemd1.Manager):
 *   Subscribe()
 *   StartTransientUnit(ssa(sv)a(sa(sv))) -> o: makes the unit's cgroup under
 *       its Slice in every mounted hierarchy, moves PIDs in, emits
 *       JobRemoved(id, job, unit, "done"); UnitExists for a known unit.
 *   StopUnit(ss) -> o: kills what is left in the unit's cgroups, removes
 *       them, emits JobRemoved "done"; NoSuchUnit for an unknown unit.
 * Every call and property is appended to LOG ("Start <unit> <mode>",
 * "prop <name>=<value>", "Stop <unit> <mode>"); "ready" once the name is
 * owned. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#define MAX_UNITS 16
#define MAX_MOUNTS 32

static FILE *logf_;
static char units[MAX_UNITS][256];
static char unit_rel[MAX_UNITS][1024];
static char mounts[MAX_MOUNTS][512];
static size_t n_mounts;
static uint32_t job_seq;

static void load_mounts(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    if (!f)
        exit(1);
    while (fgets(line, sizeof line, f) && n_mounts < MAX_MOUNTS) {
        char mp[512];
        const char *sep = strstr(line, " - ");
        if (!sep || (strncmp(sep, " - cgroup ", 10) != 0 &&
                     strncmp(sep, " - cgroup2 ", 11) != 0))
            continue;
        if (sscanf(line, "%*s %*s %*s %*s %511s", mp) == 1)
            snprintf(mounts[n_mounts++], sizeof mounts[0], "%s", mp);
    }
    fclose(f);
}

/* "a-b.slice" -> "/a.slice/a-b.slice", as systemd nests slices. */
static void slice_path(const char *slice, char *out, size_t size)
{
    size_t stem = strlen(slice) - strlen(".slice"), o = 0;
    out[0] = '\0';
    if (strcmp(slice, "-.slice") == 0)
        return;
    for (size_t i = 0; i <= stem; i++)
        if (i == stem || slice[i] == '-')
            o += (size_t)snprintf(out + o, size - o, "/%.*s.slice", (int)i, slice);
}

static int find_unit(const char *name)
{
    for (int i = 0; i < MAX_UNITS; i++)
        if (units[i][0] && strcmp(units[i], name) == 0)
            return i;
    return -1;
}

static void mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

static int job_done(sd_bus_message *m, const char *unit)
{
    char job[64];
    uint32_t id = ++job_seq;
    int r;
    snprintf(job, sizeof job, "/org/freedesktop/systemd1/job/%u", id);
    r = sd_bus_reply_method_return(m, "o", job);
    if (r < 0)
        return r;
    return sd_bus_emit_signal(sd_bus_message_get_bus(m),
                              "/org/freedesktop/systemd1",
                              "org.freedesktop.systemd1.Manager", "JobRemoved",
                              "uoss", id, job, unit, "done");
}

static int read_prop(sd_bus_message *m, char *slice, size_t slice_size,
                     uint32_t *pids, size_t *n_pids)
{
    const char *name, *contents;
    char type;
    int r = sd_bus_message_read(m, "s", &name);
    if (r < 0 || (r = sd_bus_message_peek_type(m, &type, &contents)) < 0 ||
        (r = sd_bus_message_enter_container(m, 'v', contents)) < 0)
        return r;
    if (strcmp(contents, "s") == 0) {
        const char *s;
        if ((r = sd_bus_message_read(m, "s", &s)) < 0)
            return r;
        fprintf(logf_, "prop %s=%s\n", name, s);
        if (strcmp(name, "Slice") == 0)
            snprintf(slice, slice_size, "%s", s);
    } else if (strcmp(contents, "b") == 0) {
        int b;
        if ((r = sd_bus_message_read(m, "b", &b)) < 0)
            return r;
        fprintf(logf_, "prop %s=%s\n", name, b ? "true" : "false");
    } else if (strcmp(contents, "t") == 0) {
        uint64_t t;
        if ((r = sd_bus_message_read(m, "t", &t)) < 0)
            return r;
        fprintf(logf_, "prop %s=%llu\n", name, (unsigned long long)t);
    } else if (strcmp(contents, "au") == 0) {
        uint32_t pid;
        if ((r = sd_bus_message_enter_container(m, 'a', "u")) < 0)
            return r;
        fprintf(logf_, "prop %s=", name);
        while ((r = sd_bus_message_read(m, "u", &pid)) > 0) {
            fprintf(logf_, "%s%u", *n_pids ? "," : "", pid);
            if (*n_pids < 16)
                pids[(*n_pids)++] = pid;
        }
        fprintf(logf_, "\n");
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
            return r;
    } else {
        fprintf(logf_, "prop %s: type %s\n", name, contents);
        if ((r = sd_bus_message_skip(m, contents)) < 0)
            return r;
    }
    return sd_bus_message_exit_container(m);
}

static int start_unit(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
    const char *name, *mode;
    char slice[256] = "", rel[1024], spath[768] = "";
    uint32_t pids[16];
    size_t n_pids = 0;
    int r, slot = -1;

    if ((r = sd_bus_message_read(m, "ss", &name, &mode)) < 0)
        return r;
    fprintf(logf_, "Start %s %s\n", name, mode);
    if ((r = sd_bus_message_enter_container(m, 'a', "(sv)")) < 0)
        return r;
    while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
        if ((r = read_prop(m, slice, sizeof slice, pids, &n_pids)) < 0 ||
            (r = sd_bus_message_exit_container(m)) < 0)
            return r;
    }
    if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0 ||
        (r = sd_bus_message_skip(m, "a(sa(sv))")) < 0)
        return r;
    fflush(logf_);
    if (find_unit(name) >= 0)
        return sd_bus_error_setf(err, "org.freedesktop.systemd1.UnitExists",
                                 "Unit %s already exists.", name);
    for (int i = 0; i < MAX_UNITS && slot < 0; i++)
        if (!units[i][0])
            slot = i;
    if (slot < 0 || strchr(name, '/'))
        return sd_bus_error_setf(err, SD_BUS_ERROR_FAILED, "cannot take %s", name);
    slice_path(slice[0] ? slice : "system.slice", spath, sizeof spath);
    snprintf(rel, sizeof rel, "%s/%s", spath, name);
    for (size_t i = 0; i < n_mounts; i++) {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s%s", mounts[i], rel);
        mkdir_p(dir);
        for (size_t p = 0; p < n_pids; p++) {
            char procs[2100];
            FILE *f;
            snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
            if ((f = fopen(procs, "w"))) {
                fprintf(f, "%u\n", pids[p]);
                fclose(f);
            }
        }
    }
    snprintf(units[slot], sizeof units[0], "%s", name);
    snprintf(unit_rel[slot], sizeof unit_rel[0], "%s", rel);
    return job_done(m, name);
}

static void kill_and_remove(const char *dir)
{
    char procs[2100];
    for (int tries = 0; tries < 100; tries++) {
        FILE *f;
        int pid;
        if (rmdir(dir) == 0 || errno == ENOENT)
            return;
        snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
        if ((f = fopen(procs, "r"))) {
            while (fscanf(f, "%d", &pid) == 1)
                kill(pid, SIGKILL);
            fclose(f);
        }
        usleep(20000);
    }
}

static int stop_unit(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
    const char *name, *mode;
    int r, i;
    if ((r = sd_bus_message_read(m, "ss", &name, &mode)) < 0)
        return r;
    fprintf(logf_, "Stop %s %s\n", name, mode);
    fflush(logf_);
    if ((i = find_unit(name)) < 0)
        return sd_bus_error_setf(err, "org.freedesktop.systemd1.NoSuchUnit",
                                 "Unit %s not loaded.", name);
    for (size_t k = 0; k < n_mounts; k++) {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s%s", mounts[k], unit_rel[i]);
        kill_and_remove(dir);
    }
    units[i][0] = '\0';
    return job_done(m, name);
}

static int subscribe(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
    return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Subscribe", "", "", subscribe, 0),
    SD_BUS_METHOD("StartTransientUnit", "ssa(sv)a(sa(sv))", "o", start_unit, 0),
    SD_BUS_METHOD("StopUnit", "ss", "o", stop_unit, 0),
    SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
    SD_BUS_VTABLE_END,
};

int main(int argc, char **argv)
{
    sd_bus *bus = NULL;
    int r;

    if (argc != 2 || !(logf_ = fopen(argv[1], "a"))) {
        fprintf(stderr, "usage: fake_systemd LOG\n");
        return 2;
    }
    load_mounts();
    if ((r = sd_bus_open_system(&bus)) < 0 ||
        (r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager",
                                      manager_vtable, NULL)) < 0 ||
        (r = sd_bus_request_name(bus, "org.freedesktop.systemd1", 0)) < 0) {
        fprintf(stderr, "fake_systemd: %s\n", strerror(-r));
        return 1;
    }
    fprintf(logf_, "ready\n");
    fflush(logf_);
    for (;;) {
        if ((r = sd_bus_process(bus, NULL)) < 0) {
            fprintf(stderr, "fake_systemd: process: %s\n", strerror(-r));
            return 1;
        }
        if (r == 0 && (r = sd_bus_wait(bus, UINT64_MAX)) < 0 && r != -EINTR) {
            fprintf(stderr, "fake_systemd: wait: %s\n", strerror(-r));
            return 1;
        }
    }
}
